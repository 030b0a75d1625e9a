// Server results become dashboard cards that the strict validators accept, with the states a
// user must be able to trust: partial while repositories compute, failed with the code, and
// repositories that could not contribute named with the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toCard, staleCard } from '../../extension/dashboard/cards';
import { validateCard } from '../../protocol/webview';
import type { InsightResult, InsightSummary } from '../../protocol/lsp';

const summary = (over: Partial<InsightSummary> = {}): InsightSummary => ({
  key: 'w/todo', id: 'todo', title: 'TODOs', kind: 'series', step: 'week', source: { uri: 'file:///w/.vscode/insights.json' }, state: 'done', ...over,
});
const result = (over: Partial<InsightResult> = {}): InsightResult => ({
  key: 'w/todo', id: 'todo', title: 'TODOs', kind: 'series',
  series: [{ id: 's1', label: 'TODO', query: 'TODO', points: [{ time: '2026-11-02T00:00:00.000Z', value: 3, repos: [{ repo: 'r', commit: 'a'.repeat(40), commitTime: '2026-11-01T10:00:00.000Z', value: 3 }] }] }],
  repos: [{ repo: 'r', path: '/w/r' }],
  ...over,
});

test('a done result becomes a valid card with the same numbers; unknown server fields are dropped', () => {
  const r = result();
  (r.series[0].points[0].repos[0] as unknown as Record<string, unknown>).extra = 'added by a newer server';
  const card = toCard(summary(), r);
  assert.equal(card.state, 'done');
  assert.deepEqual(validateCard(card, 'card'), card);
  assert.equal(card.series[0].points[0].repos[0].value, 3);
  assert.equal('extra' in card.series[0].points[0].repos[0], false);
  assert.deepEqual(card.repoPaths, [{ repo: 'r', path: '/w/r' }]);
});

test('partial results: computing with progress while repos remain, then partial; failing repos are named', () => {
  const r = result({ partial: true, repos: [{ repo: 'r', path: '/w/r' }, { repo: 'bad', path: '/w/bad', error: 'git log failed: bad object' }] });
  const computing = toCard(summary({ state: 'computing' }), r, { reposDone: 2, reposTotal: 3 });
  assert.equal(computing.state, 'computing');
  assert.deepEqual(computing.progress, { reposDone: 2, reposTotal: 3 });
  assert.deepEqual(computing.missing, [{ repo: 'bad', path: '/w/bad', status: 'error', reason: 'git log failed: bad object' }]);
  const done = toCard(summary(), { ...r, partial: false });
  assert.equal(done.state, 'partial', 'a finished result missing a repo is partial, not done');
  validateCard(done, 'card');
});

test('failures carry their code; cached cards are marked stale', () => {
  const failed = toCard(summary({ state: 'failed' }), result({ series: [], error: { code: 'BAD_REGEX', message: 'invalid regular expression' } }));
  assert.equal(failed.state, 'failed');
  assert.deepEqual(failed.error, { code: 'BAD_REGEX', message: 'invalid regular expression' });
  const never = toCard(summary({ state: 'idle' }), null);
  assert.equal(never.state, 'idle');
  assert.deepEqual(never.series, []);
  assert.equal(staleCard(failed).stale, true);
  validateCard(staleCard(never), 'card');
});

test('goals reach the card for its series only, and the validators check them', () => {
  const goals = [
    { seriesId: 's1', goal: { max: 2 }, verdict: 'broken' as const, reasons: ['3 is above the maximum 2'] },
    { seriesId: 'gone', goal: { ratchet: true }, verdict: 'ok' as const, reasons: [] },
  ];
  const card = toCard(summary(), result({ goals }));
  assert.deepEqual(card.goals, [goals[0]]);
  assert.deepEqual(validateCard(card, 'card'), card);
  assert.throws(() => validateCard({ ...card, goals: [{ ...goals[0], verdict: 'failing' }] }, 'card'), /goals\[0\]\.verdict/);
  assert.equal('goals' in toCard(summary(), result()), false);
});
