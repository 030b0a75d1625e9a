// The dashboard message validators: both ends rely on them to refuse anything that is not
// exactly a declared message, so a compromised or buggy side cannot drive the other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateHostMessage, validateViewMessage, openPageEnvelope, PAGE_CHANNEL, ProtocolError, type HostMessage } from '../../protocol/webview';
import { sampleCard } from './fixtures/messages';

test('a well-formed dashboard message passes and is returned unchanged', () => {
  const msg: HostMessage = {
    type: 'dashboard',
    layout: { dashboards: [{ id: 'all', title: 'All insights' }], active: 'all', order: ['w/todo'] },
    cards: [sampleCard()],
    theme: 'dark',
    capabilities: { drillDown: true, openFile: true, reorder: true, saveExport: true },
  };
  assert.deepEqual(validateHostMessage(JSON.parse(JSON.stringify(msg))), msg);
});

test('unknown message types and unknown fields are rejected with the path of the problem', () => {
  assert.throws(() => validateHostMessage({ type: 'eval', code: 'x' }), /unknown host message type "eval"/);
  assert.throws(() => validateHostMessage({ type: 'theme', theme: 'dark', extra: 1 }), /unknown field "extra"/);
  const card = sampleCard() as unknown as { series: { points: { value: unknown }[] }[] };
  card.series[0].points[1].value = '3';
  assert.throws(() => validateHostMessage({ type: 'card', card }), (e: unknown) => e instanceof ProtocolError && e.path === 'card.series[0].points[1].value');
});

test('no coercion: strings for numbers, NaN, negative counts and bad commit ids fail', () => {
  const base = { type: 'drillDown', requestId: 1, key: 'k', seriesId: 's', repo: 'r', commit: 'abcdef12', time: '2026-01-01T00:00:00.000Z' };
  assert.deepEqual(validateViewMessage(base), base);
  assert.throws(() => validateViewMessage({ ...base, requestId: '1' }), /requestId: expected a finite number/);
  assert.throws(() => validateViewMessage({ ...base, requestId: -1 }), /non-negative integer/);
  assert.throws(() => validateViewMessage({ ...base, commit: 'HEAD; rm -rf' }), /commit id/);
  assert.throws(() => validateViewMessage({ ...base, time: 'yesterday' }), /ISO date-time/);
  assert.throws(() => validateViewMessage(null), /expected a view message object/);
});

test('export file names cannot name a folder', () => {
  const ok = { type: 'export', key: 'k', format: 'csv', filename: 'todo-series.csv', content: 'a,b\n' };
  assert.deepEqual(validateViewMessage(ok), ok);
  for (const filename of ['../x.csv', '/etc/passwd', '.bashrc', 'a/b.csv', 'a\\b.csv']) {
    assert.throws(() => validateViewMessage({ ...ok, filename }), /plain file name/, filename);
  }
});

test('page envelopes: only this channel and direction are opened', () => {
  const m = { type: 'ready', protocolVersion: 1 };
  assert.deepEqual(openPageEnvelope({ channel: PAGE_CHANNEL, direction: 'toHost', message: m }, 'toHost'), m);
  assert.equal(openPageEnvelope({ channel: PAGE_CHANNEL, direction: 'toView', message: m }, 'toHost'), undefined);
  assert.equal(openPageEnvelope({ channel: 'other', direction: 'toHost', message: m }, 'toHost'), undefined);
  assert.equal(openPageEnvelope('hello', 'toHost'), undefined);
});
