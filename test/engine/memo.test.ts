// What the cache remembers about a repository besides blob and commit values: the commits its
// last walk sampled, and the root commit behind an origin-less identity. A rerun at the same
// revision must skip both walks and still give exactly what git says; anything that can change
// the answer (a new revision, a shallow clone deepened, another repository at the same path)
// must not be answered from the memo. Which git commands ran is read from a logging wrapper
// that runs the real git.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { TestRepo, tempDir, git, shallowClone } from '../helpers/gitRepo';
import { gitCallLog } from '../helpers/gitCallLog';
import { runInsights } from '../../server/runs/runInsights';
import type { ComputeRequest, SeriesSpec } from '../../server/engine/api';

const spec: SeriesSpec = { label: 'TODO', query: 'TODO', literal: false, ignoreCase: false, count: 'matches', include: [], exclude: [], maxFileSize: 1 << 20 };

const gitLog = gitCallLog();

/** Runs the engine with the logging git; returns the result and the git subcommands it ran. */
async function run(req: ComputeRequest, cacheFile: string) {
  // The run memo beside the cache would answer reruns before these memos are asked; it has its
  // own tests (runMemo.test.ts), these are of the layer beneath it.
  rmSync(`${cacheFile}.runs.json`, { force: true });
  const { value: r, calls } = await gitLog.record(() => runInsights(req, { cacheFile }));
  return { r, calls, walks: calls.filter((c) => / rev-list /.test(` ${c} `)) };
}

function weekly(path: string, end: string): ComputeRequest {
  return { paths: [path], series: [spec], step: 'week', points: 6, end: new Date(end) };
}

function history(r: TestRepo): void {
  for (let w = 0; w < 6; w++) r.commit(new Date(Date.parse('2026-01-05T10:00:00Z') + w * 7 * 86400_000), { 'a.txt': 'TODO\n'.repeat(w + 1) });
}

/** Each point's commit is what git rev-list -1 --first-parent --before says. */
function assertCommits(r: TestRepo, result: Awaited<ReturnType<typeof runInsights>>): void {
  for (const p of result.series[0].points) {
    assert.equal(p.repos[0]?.commit, r.revListBefore(new Date(p.time)), p.time);
  }
}

test('a rerun at the same revision walks no history, also with a later end in the same week', async () => {
  const r = TestRepo.init();
  history(r);
  const cache = join(tempDir(), 'cache.sqlite');
  const first = await run(weekly(r.dir, '2026-02-12T00:00:00Z'), cache);
  assert.ok(first.walks.length >= 2, `the first run walks for its commits and its root: ${first.calls.join(' | ')}`);
  assertCommits(r, first.r);
  for (const end of ['2026-02-12T00:00:00Z', '2026-02-12T18:00:00Z']) {
    const again = await run(weekly(r.dir, end), cache);
    assert.deepEqual(again.walks, [], `end ${end}: ${again.calls.join(' | ')}`);
    assertCommits(r, again.r);
    assert.equal(again.r.repos[0].repo, first.r.repos[0].repo);
  }
  // A new commit: the revision changed, so the commits are walked again and come out right.
  r.commit('2026-02-11T10:00:00Z', { 'a.txt': 'none\n' });
  const moved = await run(weekly(r.dir, '2026-02-12T00:00:00Z'), cache);
  assert.ok(moved.walks.some((c) => c.includes('--timestamp')), moved.calls.join(' | '));
  assertCommits(r, moved.r);
  assert.equal(moved.r.series[0].points.at(-1)!.value, 0);
  assert.equal(moved.r.repos[0].repo, first.r.repos[0].repo, 'same root, same identity');
  // Two more on top, one dated before its parent (clock skew): walked back to the remembered
  // revision only, the older times keep the commits they had.
  r.commit('2026-02-11T12:00:00Z', { 'a.txt': 'TODO\n' });
  r.commit('2026-02-04T12:00:00Z', { 'a.txt': 'TODO\nTODO\n' });
  const ahead = await run(weekly(r.dir, '2026-02-12T00:00:00Z'), cache);
  assertCommits(r, ahead.r);
  assert.ok(!ahead.calls.some((c) => / cat-file -e |--max-parents=0/.test(` ${c} `)), `the root needs no git once the walk reached the remembered revision: ${ahead.calls.join(' | ')}`);
  assert.equal(ahead.r.repos[0].repo, first.r.repos[0].repo);
  // History rewritten (reset and new commits): the remembered revision is not on the new chain.
  r.git(['reset', '-q', '--hard', 'HEAD~4']);
  r.commit('2026-02-10T09:00:00Z', { 'b.txt': 'TODO TODO\n' });
  const rewritten = await run(weekly(r.dir, '2026-02-12T00:00:00Z'), cache);
  assertCommits(r, rewritten.r);
  const fresh = await runInsights(weekly(r.dir, '2026-02-12T00:00:00Z'), { cacheFile: null });
  assert.deepEqual(rewritten.r.series, fresh.series);
});

test('a shallow clone deepened later: the rerun sees the whole history, not the memo of the cut one', async () => {
  const src = TestRepo.init();
  history(src);
  const c = shallowClone(src.dir);
  const cache = join(tempDir(), 'cache.sqlite');
  const cut = await run(weekly(c, '2026-02-12T00:00:00Z'), cache);
  assert.match(cut.r.repos[0].warning ?? '', /shallow/);
  assert.equal(cut.r.series[0].points.filter((p) => p.repos.length > 0).length, 2, 'two commits in the clone');
  git(c, ['fetch', '-q', '--unshallow']);
  const deep = await run(weekly(c, '2026-02-12T00:00:00Z'), cache);
  assert.equal(deep.r.repos[0].warning, undefined);
  assertCommits(new TestRepo(c), deep.r);
  const whole = await runInsights(weekly(src.dir, '2026-02-12T00:00:00Z'), { cacheFile: null });
  assert.deepEqual(deep.r.series[0].points.map((p) => p.value), whole.series[0].points.map((p) => p.value));
  assert.ok(deep.r.series[0].points.filter((p) => p.repos.length > 0).length > 2, 'points before the old cut');
});

test('another repository at the same path gets its own root identity, not the remembered one', async () => {
  const dir = tempDir();
  const path = join(dir, 'repo');
  const a = TestRepo.init(path);
  history(a);
  const rootA = a.git(['rev-list', '--max-parents=0', 'HEAD']).trim();
  const cache = join(dir, 'cache.sqlite');
  assert.equal((await run(weekly(path, '2026-02-12T00:00:00Z'), cache)).r.repos[0].repo, `root:${rootA}`);
  const same = await run(weekly(path, '2026-02-12T00:00:00Z'), cache);
  assert.equal(same.r.repos[0].repo, `root:${rootA}`);
  assert.ok(!same.calls.some((c) => c.includes('--max-parents=0')), `the root is not walked again: ${same.calls.join(' | ')}`);

  rmSync(path, { recursive: true, force: true });
  const b = TestRepo.init(path);
  b.commit('2026-01-03T10:00:00Z', { 'b.txt': 'TODO b\n' });
  history(b);
  const rootB = b.git(['rev-list', '--max-parents=0', 'HEAD']).trim();
  assert.notEqual(rootA, rootB);
  const other = await run(weekly(path, '2026-02-12T00:00:00Z'), cache);
  assert.equal(other.r.repos[0].repo, `root:${rootB}`);
  assertCommits(b, other.r);
});
