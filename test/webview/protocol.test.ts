// The dashboard message validators: both ends rely on them to refuse anything that is not
// exactly a declared message, so a compromised or buggy side cannot drive the other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResponseError } from 'vscode-languageserver-protocol';
import { insightsErrorData, InsightsErrorCodes } from '../../protocol/lsp';
import { validateHostMessage, validateViewMessage, openPageEnvelope, PAGE_CHANNEL, ProtocolError, type HostMessage, type RequestMessage } from '../../protocol/webview';
import { HostRequestError, HostRequests } from '../../webview/hostRequests';
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
  const params = { key: 'k', seriesId: 's', repo: 'r', commit: 'abcdef12', time: '2026-01-01T00:00:00.000Z' };
  const base = { type: 'request', id: 1, method: 'drillDown', params };
  assert.deepEqual(validateViewMessage(base), base);
  assert.throws(() => validateViewMessage({ ...base, id: '1' }), /at id: expected a finite number/);
  assert.throws(() => validateViewMessage({ ...base, id: -1 }), /non-negative integer/);
  assert.throws(() => validateViewMessage({ ...base, params: { ...params, commit: 'HEAD; rm -rf' } }), /params\.commit: expected a commit id/);
  assert.throws(() => validateViewMessage({ ...base, params: { ...params, time: 'yesterday' } }), /ISO date-time/);
  assert.throws(() => validateViewMessage(null), /expected a view message object/);
});

test('requests and responses: the method decides the params and the result, a response holds a result or an error', () => {
  const params = { key: 'k', seriesId: 's', repo: 'r', commit: 'abcdef12', time: '2026-01-01T00:00:00.000Z' };
  assert.throws(() => validateViewMessage({ type: 'request', id: 1, method: 'eval', params }), /invalid dashboard message at method: expected one of drillDown, got "eval"/);
  assert.throws(() => validateViewMessage({ type: 'request', id: 1, method: 'drillDown', params: { ...params, extra: 1 } }), /params: unknown field "extra"/);
  const result = { seriesId: 's', repo: 'r', commit: 'abcdef12', total: 1, files: [{ path: 'a.ts', count: 1 }], changes: [], commits: [] };
  const ok = { type: 'response', id: 3, method: 'drillDown', result };
  assert.deepEqual(validateHostMessage(ok), ok);
  const failed = { type: 'response', id: 3, method: 'drillDown', error: { code: 'BAD_COMMIT', message: 'gone' } };
  assert.deepEqual(validateHostMessage(failed), failed);
  assert.throws(() => validateHostMessage({ ...ok, error: failed.error }), /unknown field "result"/, 'not both');
  assert.throws(() => validateHostMessage({ type: 'response', id: 3, method: 'drillDown' }), /at result: missing/, 'not neither');
  assert.throws(() => validateHostMessage({ ...ok, result: { ...result, total: -1 } }), /result\.total: expected a non-negative integer/);
});

test('HostRequests pairs each response with its request by id and method', async () => {
  const sent: RequestMessage[] = [];
  const requests = new HostRequests((m) => sent.push(validateViewMessage(m) as RequestMessage));
  const params = { key: 'k', seriesId: 's', repo: 'r', commit: 'abcdef12', time: '2026-01-01T00:00:00.000Z' };
  const first = requests.send('drillDown', params);
  const second = requests.send('drillDown', { ...params, key: 'k2' });
  assert.deepEqual(sent.map((m) => [m.id, m.method, m.params.key]), [[1, 'drillDown', 'k'], [2, 'drillDown', 'k2']]);
  const result = (total: number) => ({ seriesId: 's', repo: 'r', commit: 'abcdef12', total, files: [], changes: [], commits: [] });
  // Answered out of order; an unknown id is not taken for any request.
  assert.equal(requests.settle({ type: 'response', id: 9, method: 'drillDown', result: result(9) }), false);
  assert.equal(requests.settle({ type: 'response', id: 2, method: 'drillDown', error: { code: 'BAD_COMMIT', message: 'gone' } }), true);
  assert.equal(requests.settle({ type: 'response', id: 1, method: 'drillDown', result: result(1) }), true);
  assert.equal(requests.settle({ type: 'response', id: 1, method: 'drillDown', result: result(5) }), false, 'answered once');
  assert.equal((await first).total, 1);
  await assert.rejects(second, (e: unknown) => e instanceof HostRequestError && e.code === 'BAD_COMMIT' && e.message === 'gone');
});

test('LSP error data: typed when the server sent it, undefined otherwise', () => {
  assert.deepEqual(insightsErrorData(new ResponseError(InsightsErrorCodes.user, 'no', { code: 'NOT_COMPUTED' })), { code: 'NOT_COMPUTED' });
  assert.equal(insightsErrorData(new ResponseError(-32800, 'cancelled')), undefined);
  assert.equal(insightsErrorData(new ResponseError(InsightsErrorCodes.user, 'no', { code: 7 })), undefined);
  assert.equal(insightsErrorData(new ResponseError(InsightsErrorCodes.user, 'no', { code: 'X', stack: 'at …' })), undefined);
  assert.equal(insightsErrorData(new Error('plain')), undefined);
  assert.equal(insightsErrorData(null), undefined);
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
