// Black-box: the points of `code-insights series` sit on calendar-aligned UTC boundaries, and the
// commit of each point is exactly what `git rev-list -1 --first-parent --before=T` prints —
// including commits at a boundary's exact second, clock skew, and merged side branches.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { TestRepo } from '../helpers/gitRepo';
import { ensureBuilt, runJson, revListBefore, gitGrepCount, describePoints, type SeriesOutput } from './cliHarness';

const END = '2026-05-14T15:30:00Z'; // a Thursday afternoon
type Step = 'day' | 'week' | 'month' | 'quarter' | 'year';

/** The spec's buckets, written independently of the engine: N-1 boundaries strictly before end, then end. */
function expectedTimes(step: Step, points: number, endIso: string): string[] {
  const end = new Date(endIso);
  const floor = (d: Date): Date => {
    const y = d.getUTCFullYear(), m = d.getUTCMonth(), day = d.getUTCDate();
    switch (step) {
      case 'day': return new Date(Date.UTC(y, m, day));
      case 'week': return new Date(Date.UTC(y, m, day - ((d.getUTCDay() + 6) % 7)));
      case 'month': return new Date(Date.UTC(y, m, 1));
      case 'quarter': return new Date(Date.UTC(y, m - (m % 3), 1));
      case 'year': return new Date(Date.UTC(y, 0, 1));
    }
  };
  const back = (d: Date): Date => {
    const y = d.getUTCFullYear(), m = d.getUTCMonth(), day = d.getUTCDate();
    switch (step) {
      case 'day': return new Date(Date.UTC(y, m, day - 1));
      case 'week': return new Date(Date.UTC(y, m, day - 7));
      case 'month': return new Date(Date.UTC(y, m - 1, 1));
      case 'quarter': return new Date(Date.UTC(y, m - 3, 1));
      case 'year': return new Date(Date.UTC(y - 1, 0, 1));
    }
  };
  let b = floor(end);
  if (b.getTime() >= end.getTime()) b = back(b); // strictly before end
  const out: string[] = [];
  for (let i = 0; i < points - 1; i++, b = back(b)) out.unshift(b.toISOString());
  out.push(end.toISOString());
  return out;
}

let repo: TestRepo;
let sideCommits: string[] = [];

before(() => {
  ensureBuilt();
  repo = TestRepo.init();
  repo.commit('2024-03-10T12:00:00Z', { 'a.txt': 'TODO 1\n' });
  repo.commit('2025-01-01T00:00:00Z', { 'a.txt': 'TODO 1\nTODO 2\n' }); // exactly a year boundary
  repo.commit('2025-06-15T08:00:00Z', { 'b.txt': 'TODO b\n' });
  repo.commit('2026-01-01T00:00:01Z', { 'c.txt': 'TODO c TODO c\n' }); // one second after a boundary
  repo.commit('2026-03-31T23:59:59Z', { 'b.txt': null });
  repo.commit('2026-04-01T00:00:00Z', { 'd.txt': 'TODO d\n' }); // exactly a month and quarter boundary
  repo.commit('2026-04-27T00:00:00Z', { 'e.txt': 'TODO e\nTODO e\n' }); // exactly a Monday 00:00
  repo.git(['checkout', '-q', '-b', 'side']);
  sideCommits.push(repo.commit('2026-05-03T09:00:00Z', { 'side.txt': 'TODO side\n' }));
  sideCommits.push(repo.commit('2026-05-06T09:00:00Z', { 'side.txt': 'TODO side\nTODO side\n' }));
  repo.git(['checkout', '-q', 'main']);
  repo.commit('2026-05-05T10:00:00Z', { 'main.txt': 'TODO main\n' });
  repo.git(['merge', '-q', '--no-ff', '-m', 'merge side', 'side'], { GIT_AUTHOR_DATE: '2026-05-09T10:00:00Z', GIT_COMMITTER_DATE: '2026-05-09T10:00:00Z' });
  // clock skew: committed "before" its parent, the merge
  repo.commit('2026-05-08T00:00:00Z', { 'skew.txt': 'TODO skew\n' });
  repo.commit('2026-05-12T12:00:00Z', { 'a.txt': 'TODO 1\n' });
  repo.commit('2026-05-13T00:00:00Z', { 'f.txt': 'TODO f\n' }); // exactly a day boundary
});

async function seriesAt(step: Step, points: number, end = END, extra: string[] = []): Promise<SeriesOutput> {
  return runJson(['series', repo.dir, '-q', 'TODO', '--step', step, '--points', String(points), '--end', end, '--no-cache', ...extra]);
}

/** Every point: commit = rev-list, value = git grep -o at that commit (0 and no repo entry before history). */
function assertPointsMatchGit(out: SeriesOutput, rev = 'HEAD'): void {
  assert.equal(out.series.length, 1);
  const points = out.series[0].points;
  for (const p of points) {
    const want = revListBefore(repo.dir, p.time, rev);
    const msg = `point ${p.time}: ${describePoints(points)}`;
    if (!want) {
      assert.equal(p.repos.length, 0, `no commit before ${p.time}, so no repo entry; ${msg}`);
      assert.equal(p.value, 0, msg);
      continue;
    }
    assert.equal(p.repos.length, 1, msg);
    assert.equal(p.repos[0].commit, want, `commit of ${p.time} must be rev-list's; ${msg}`);
    // a point carries its commit's committer time
    const ct = Number(repo.git(['log', '-1', '--format=%ct', want]).trim()) * 1000;
    assert.equal(Date.parse(p.repos[0].commitTime ?? ''), ct, `commitTime of ${want.slice(0, 8)} at ${p.time}`);
    const count = gitGrepCount(repo.dir, want, 'TODO');
    assert.equal(p.repos[0].value, count, `per-repo value at ${p.time}; ${msg}`);
    assert.equal(p.value, count, `value at ${p.time}; ${msg}`);
  }
}

for (const [step, points, latestBoundary] of [
  ['day', 14, '2026-05-14T00:00:00.000Z'],
  ['week', 8, '2026-05-11T00:00:00.000Z'],
  ['month', 8, '2026-05-01T00:00:00.000Z'],
  ['quarter', 6, '2026-04-01T00:00:00.000Z'],
  ['year', 4, '2026-01-01T00:00:00.000Z'],
] as [Step, number, string][]) {
  test(`--step ${step}: ${points - 1} aligned boundaries before --end plus --end, oldest first, commits = rev-list`, async () => {
    const out = await seriesAt(step, points);
    const times = out.series[0].points.map((p) => p.time);
    const want = expectedTimes(step, points, END);
    assert.equal(want[want.length - 2], latestBoundary); // anchors the independent generator
    assert.deepEqual(times, want);
    assertPointsMatchGit(out);
  });
}

test('--end exactly on a boundary: that boundary is the end point, the others strictly before it', async () => {
  const end = '2026-04-27T00:00:00.000Z'; // a Monday, and the second of a commit
  const out = await seriesAt('week', 3, end);
  assert.deepEqual(out.series[0].points.map((p) => p.time), ['2026-04-13T00:00:00.000Z', '2026-04-20T00:00:00.000Z', end]);
  assertPointsMatchGit(out);
  // the commit made at exactly that second belongs to the point at that second
  assert.equal(out.series[0].points[2].repos[0]?.commit, revListBefore(repo.dir, end));
  assert.equal(Number(repo.git(['log', '-1', '--format=%ct', out.series[0].points[2].repos[0].commit]).trim()), Date.parse(end) / 1000);
});

test('--points 1 gives only the point at --end', async () => {
  const out = await seriesAt('month', 1);
  assert.deepEqual(out.series[0].points.map((p) => p.time), [new Date(END).toISOString()]);
  assertPointsMatchGit(out);
});

test('merges: only first-parent commits are chosen, yet the merge commit\'s tree (with the side branch\'s files) counts', async () => {
  const out = await seriesAt('day', 14);
  assertPointsMatchGit(out);
  const chosen = out.series[0].points.flatMap((p) => p.repos.map((r) => r.commit));
  for (const s of sideCommits) assert.ok(!chosen.includes(s), `side-branch commit ${s} must never be a point's commit`);
  // After the merge the side branch's two TODOs are in the count.
  const last = out.series[0].points[out.series[0].points.length - 1];
  assert.equal(gitGrepCount(repo.dir, last.repos[0].commit, 'TODO', { pathFilter: (p) => p === 'side.txt' }), 2);
  const beforeMerge = out.series[0].points.find((p) => p.time === '2026-05-07T00:00:00.000Z')!;
  assert.equal(gitGrepCount(repo.dir, beforeMerge.repos[0].commit, 'TODO', { pathFilter: (p) => p === 'side.txt' }), 0);
});

test('clock skew: a commit dated before its parent is chosen exactly as rev-list chooses it', async () => {
  const out = await seriesAt('day', 14);
  assertPointsMatchGit(out);
  const skew = repo.git(['log', '-1', '--format=%H', '--', 'skew.txt']).trim();
  // rev-list walks past the newer merge and picks the skewed commit for 05-08 .. 05-12
  const at = (t: string) => out.series[0].points.find((p) => p.time === t)!;
  assert.equal(at('2026-05-08T00:00:00.000Z').repos[0].commit, skew);
  assert.equal(at('2026-05-12T00:00:00.000Z').repos[0].commit, skew);
});

test('--rev samples the named branch instead of HEAD', async () => {
  const out = await seriesAt('day', 14, END, ['--rev', 'side']);
  assertPointsMatchGit(out, 'side');
  const last = out.series[0].points[out.series[0].points.length - 1];
  assert.equal(last.repos[0].commit, sideCommits[1]);
});

test('a point before the first commit: value 0 and no repo entry', async () => {
  const out = await seriesAt('year', 6); // 2022, 2023, 2024-01-01 lie before the first commit (2024-03-10)
  const [p2022, p2023, p2024] = out.series[0].points;
  assert.equal(p2022.time, '2022-01-01T00:00:00.000Z');
  for (const p of [p2022, p2023, p2024]) {
    assert.equal(p.value, 0, `${p.time}: ${describePoints(out.series[0].points)}`);
    assert.deepEqual(p.repos, [], `${p.time} lies before the first commit: no repo entry`);
  }
  assertPointsMatchGit(out);
});

test('without --end the last point is now, and the others are boundaries before it', async () => {
  const before = Date.now();
  const out = await runJson(['series', repo.dir, '-q', 'TODO', '--step', 'month', '--points', '3', '--no-cache']);
  const after = Date.now();
  const times = out.series[0].points.map((p) => Date.parse(p.time));
  assert.ok(times[2] >= before - 1000 && times[2] <= after, `the end point is the time of the run: ${out.series[0].points[2].time}`);
  assert.deepEqual(out.series[0].points.map((p) => p.time), expectedTimes('month', 3, out.series[0].points[2].time));
  assertPointsMatchGit(out);
});
