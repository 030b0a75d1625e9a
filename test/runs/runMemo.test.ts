// The run memo (server/engine/runMemo.ts): a rerun that would only read the cache is answered
// from a JSON file beside it, without opening the cache or walking anything. Whatever can change
// the answer must make it miss: a new revision, an `end` whose point is not the revision, another
// origin, the cache changed by another run, a shallow clone. Every answer is compared with a run
// without any cache; which git commands ran is read from a logging wrapper around the real git.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRepo, tempDir, git, shallowClone } from '../helpers/gitRepo';
import { gitCallLog } from '../helpers/gitCallLog';
import { runInsights } from '../../server/runs/runInsights';
import type { ComputeRequest, ComputeResult, SeriesSpec } from '../../server/engine/api';
import { InsightsCache } from '../../server/store/cache';
import { markSent } from '../../server/sync/outbox';
import { saveAtomically } from '../../server/sync/cli';

const base = { literal: false, ignoreCase: false, count: 'matches' as const, include: [], exclude: [], maxFileSize: 1 << 20 };
const todo: SeriesSpec = { ...base, label: 'TODO', query: 'TODO' };
const version: SeriesSpec = { ...base, label: 'lib', query: 'lib@(\\d+)', capture: { limit: 5 } };

const gitLog = gitCallLog();

/** What only a run that walks asks git: history, trees, blob contents, searches. */
const WALKING = /(?:^| )(?:rev-list|ls-tree|diff-tree|grep|mktree|cat-file --batch(?!-check=%\(objectname\)))(?: |$)/;

async function run(req: ComputeRequest, cacheFile: string | null) {
  const { value: r, calls } = await gitLog.record(() => runInsights(req, { cacheFile }));
  const memo = r.stats.fromRunMemo === true;
  // Answered by the memo: git was asked only which repositories, their revision and origin.
  if (memo) assert.ok(!calls.some((c) => WALKING.test(c)), calls.join(' | '));
  return { r, calls, memo };
}

/** The answer without stats (they say how it was found, not what). */
const answerOf = (r: ComputeResult) => ({ series: r.series, languages: r.languages, repos: r.repos });

function request(paths: string[], end: string): ComputeRequest {
  return { paths, series: [todo, version], languages: true, step: 'week', points: 5, end: new Date(end) };
}

function history(r: TestRepo): void {
  for (let w = 0; w < 4; w++) r.commit(new Date(Date.parse('2026-01-05T10:00:00Z') + w * 7 * 86400_000), { 'a.ts': 'TODO\n'.repeat(w + 1), 'package.json': `"lib@${w < 2 ? 1 : 2}"\n` });
}

async function assertExact(req: ComputeRequest, got: ComputeResult, what: string): Promise<void> {
  assert.deepEqual(answerOf(got), answerOf(await runInsights(req, { cacheFile: null })), what);
}

test('run memo: a rerun is answered without the cache or any walk, also at a later end; exact each time', async () => {
  const r = TestRepo.init();
  r.git(['remote', 'add', 'origin', 'https://example.com/acme/one.git']);
  history(r);
  const cache = join(tempDir(), 'cache.sqlite');
  const first = await run(request([r.dir], '2026-02-03T00:00:00Z'), cache);
  assert.ok(!first.memo, 'the first run walks');
  assert.ok(existsSync(`${cache}.runs.json`));
  // The same week: the same boundaries, and the last point at the revision (2026-01-26T10:00Z).
  for (const end of ['2026-02-03T00:00:00Z', '2026-02-04T12:00:00Z']) {
    const again = await run(request([r.dir], end), cache);
    assert.ok(again.memo, `end ${end}: only the revision and origin are asked: ${again.calls.join(' | ')}`);
    await assertExact(request([r.dir], end), again.r, `end ${end}`);
  }
  // The same boundaries, but an end before the revision's commit time (2026-01-26T10:00Z): the
  // last point is another commit, so the memo misses.
  const early = await run(request([r.dir], '2026-01-28T00:00:00Z'), cache);
  await assertExact(request([r.dir], '2026-01-28T00:00:00Z'), early.r, 'end after the revision');
  assert.ok((await run(request([r.dir], '2026-01-30T00:00:00Z'), cache)).memo);
  const before = await run(request([r.dir], '2026-01-26T08:00:00Z'), cache);
  assert.ok(!before.memo, 'end before the revision');
  await assertExact(request([r.dir], '2026-01-26T08:00:00Z'), before.r, 'end before the revision');
  // A new commit: a new revision, walked.
  r.commit('2026-02-03T10:00:00Z', { 'a.ts': 'none\n' });
  const moved = await run(request([r.dir], '2026-02-04T12:00:00Z'), cache);
  assert.ok(!moved.memo);
  await assertExact(request([r.dir], '2026-02-04T12:00:00Z'), moved.r, 'after a new commit');
  // Another origin: the identity changes, so does the answer.
  r.git(['remote', 'set-url', 'origin', 'https://example.com/acme/renamed.git']);
  const renamed = await run(request([r.dir], '2026-02-04T12:00:00Z'), cache);
  assert.ok(!renamed.memo);
  assert.equal(renamed.r.repos[0].repo, 'example.com/acme/renamed');
  await assertExact(request([r.dir], '2026-02-04T12:00:00Z'), renamed.r, 'after set-url');
});

test('run memo: another run that changes the cache, or a damaged memo file, makes it miss; the sync queue stays right', async () => {
  const a = TestRepo.init();
  a.git(['remote', 'add', 'origin', 'https://example.com/acme/a.git']);
  history(a);
  const b = TestRepo.init();
  b.git(['remote', 'add', 'origin', 'https://example.com/acme/b.git']);
  history(b);
  const cache = join(tempDir(), 'cache.sqlite');
  const req = request([a.dir, b.dir], '2026-02-02T00:00:00Z');
  await run(req, cache);
  assert.ok((await run(req, cache)).memo);

  // The points are sent (the cache changes): the memo misses once, nothing is queued again.
  const { cache: c } = await InsightsCache.open(cache);
  const rows = c.db.exec('SELECT series, repo, time, commit_sha, commit_time, value FROM sync_outbox')[0]!.values;
  assert.ok(rows.length > 0);
  markSent(c.db, rows.map((v) => ({ series: String(v[0]), repo: String(v[1]), time: String(v[2]), commit: String(v[3]), commitTime: String(v[4]), value: Number(v[5]) })));
  saveAtomically(c.db, cache); // as push and Sync Now save it
  c.close();
  const afterSync = await run(req, cache);
  assert.ok(!afterSync.memo, 'the cache changed since the memo was written');
  await assertExact(req, afterSync.r, 'after the sync');
  const { cache: c2 } = await InsightsCache.open(cache);
  assert.equal(c2.db.exec('SELECT count(*) FROM sync_outbox')[0]!.values[0]![0], 0, 'sent points are not queued again');
  c2.close();
  assert.ok((await run(req, cache)).memo, 'then it answers again');

  // Another query's run changes the cache: this one misses, exact.
  await runInsights({ ...req, series: [{ ...todo, label: 'x', query: 'lib' }], languages: false }, { cacheFile: cache });
  const other = await run(req, cache);
  assert.ok(!other.memo);
  await assertExact(req, other.r, 'after another run');

  // A damaged memo file is only a miss.
  writeFileSync(`${cache}.runs.json`, '{"v":1,"cache":');
  const damaged = await run(req, cache);
  assert.ok(!damaged.memo);
  await assertExact(req, damaged.r, 'damaged memo');

  // One of the repositories is gone from the scope: a different set, not answered from the memo.
  const one = await run(request([a.dir], '2026-02-02T00:00:00Z'), cache);
  assert.ok(!one.memo);
  await assertExact(request([a.dir], '2026-02-02T00:00:00Z'), one.r, 'one repository');
});

test('run memo: a shallow clone is never answered from it (deepening keeps the revision)', async () => {
  const src = TestRepo.init();
  history(src);
  const c = shallowClone(src.dir);
  const cache = join(tempDir(), 'cache.sqlite');
  const req = request([c], '2026-02-02T00:00:00Z');
  const cut = await run(req, cache);
  assert.match(cut.r.repos[0].warning ?? '', /shallow/);
  assert.ok(!(await run(req, cache)).memo, 'a run with a warning writes no memo');
  git(c, ['fetch', '-q', '--unshallow']);
  const whole = await run(req, cache);
  assert.equal(whole.r.repos[0].warning, undefined);
  await assertExact(req, whole.r, 'deepened');
});
