// Black-box: `code-insights capture` makes one series per distinct captured value (value =
// occurrences with that capture), sorted by the latest value, cut by --limit; each point agrees
// with the matched texts git grep -o finds at the point's commit.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { TestRepo, tempDir } from '../helpers/gitRepo';
import { ensureBuilt, runJson, revListBefore, gitGrepMatches, describePoints, type SeriesOutput } from './cliHarness';

const END = '2026-01-22T00:00:00Z';
const WINDOW = ['--step', 'week', '--points', '4', '--end', END, '--no-cache'];
const QUERY = 'lib@(\\d+)';

let repo: TestRepo;

before(() => {
  ensureBuilt();
  repo = TestRepo.init();
  repo.commit('2026-01-05T10:00:00Z', { 'deps.txt': 'lib@1\nlib@2\nlib@1 lib@1\nlib@9\n', 'src/other.js': 'import "lib@3";\n' });
  repo.commit('2026-01-12T10:00:00Z', { 'deps.txt': 'lib@2\nlib@2 lib@2\nlib@1\n', 'src/other.js': 'import "lib@3"; import "lib@4";\n' });
  // latest: lib@2 x5, lib@1 x3, lib@3 x2, lib@4 x1, lib@9 x0 (gone) — no ties
  repo.commit('2026-01-19T10:00:00Z', { 'deps.txt': 'lib@2\nlib@2 lib@2\nlib@1 lib@1\nlib@2 lib@2\n', 'src/more.js': 'lib@3 lib@4 lib@1\n' });
});

/** Occurrences per captured value at a commit, from git grep -o's matched texts. */
function capturedAt(commit: string | undefined): Map<string, number> {
  const m = new Map<string, number>();
  if (!commit) return m;
  for (const text of gitGrepMatches(repo.dir, commit, 'lib@\\d+')) {
    const v = /lib@(\d+)/.exec(text)![1];
    m.set(v, (m.get(v) ?? 0) + 1);
  }
  return m;
}

function captureOf(s: SeriesOutput['series'][number]): string {
  assert.ok(s.capture !== undefined, `a capture series says its captured value (field "capture"): ${JSON.stringify({ ...s, points: undefined })}`);
  return s.capture;
}

test('one series per distinct captured value, each point equal to git grep -o at its commit', async () => {
  const out = await runJson(['capture', repo.dir, '-q', QUERY, ...WINDOW]);
  const perPoint = out.series[0].points.map((p) => capturedAt(revListBefore(repo.dir, p.time)));
  const everSeen = new Set(perPoint.flatMap((m) => [...m.keys()]));
  assert.deepEqual(new Set(out.series.map(captureOf)), everSeen);
  for (const s of out.series) {
    s.points.forEach((p, i) => {
      assert.equal(p.value, perPoint[i].get(captureOf(s)) ?? 0, `lib@${captureOf(s)} at ${p.time}: ${describePoints(s.points)}`);
      if (p.repos[0]) assert.equal(p.repos[0].commit, revListBefore(repo.dir, p.time));
    });
  }
});

test('capture series are sorted by their latest value, largest first', async () => {
  const out = await runJson(['capture', repo.dir, '-q', QUERY, ...WINDOW]);
  const latest = capturedAt(revListBefore(repo.dir, END));
  const want = [...new Set(out.series.map(captureOf))].sort((a, b) => (latest.get(b) ?? 0) - (latest.get(a) ?? 0));
  assert.deepEqual(out.series.map(captureOf), want);
  assert.deepEqual(want.slice(0, 4), ['2', '1', '3', '4']);
  const lastValues = out.series.map((s) => s.points.at(-1)!.value);
  assert.deepEqual(lastValues, [...lastValues].sort((a, b) => b - a));
});

test('--limit N keeps the top N values by latest value', async () => {
  const out = await runJson(['capture', repo.dir, '-q', QUERY, '--limit', '2', ...WINDOW]);
  assert.deepEqual(out.series.map(captureOf), ['2', '1']);
});

test('capture series have distinct ids that are stable across runs', async () => {
  const a = await runJson(['capture', repo.dir, '-q', QUERY, ...WINDOW]);
  const b = await runJson(['capture', repo.dir, '-q', QUERY, ...WINDOW]);
  assert.equal(new Set(a.series.map((s) => s.id)).size, a.series.length);
  assert.deepEqual(a.series.map((s) => [captureOf(s), s.id]), b.series.map((s) => [captureOf(s), s.id]));
});

test('capture over a folder of two repos: per value, the sum over repos, with per-repo values', async () => {
  const top = tempDir('ci-capture2-');
  const a = TestRepo.init(join(top, 'a'));
  a.commit('2026-01-06T10:00:00Z', { 'x.txt': 'lib@7 lib@8\nlib@7\n' });
  a.git(['remote', 'add', 'origin', 'https://example.com/acme/a.git']);
  const b = TestRepo.init(join(top, 'b'));
  b.commit('2026-01-07T10:00:00Z', { 'y.txt': 'lib@8 lib@8 lib@8 lib@6\n' });
  b.git(['remote', 'add', 'origin', 'https://example.com/acme/b.git']);
  const out = await runJson(['capture', top, '-q', QUERY, ...WINDOW]);
  const counts = (r: TestRepo) => {
    const m = new Map<string, number>();
    for (const t of gitGrepMatches(r.dir, 'HEAD', 'lib@\\d+')) m.set(t.slice(4), (m.get(t.slice(4)) ?? 0) + 1);
    return m;
  };
  const ca = counts(a), cb = counts(b);
  assert.deepEqual(out.series.map(captureOf), ['8', '7', '6'], 'sorted by the summed latest value: 8 (1+3), 7 (2), 6 (1)');
  for (const s of out.series) {
    const last = s.points.at(-1)!;
    const v = captureOf(s);
    assert.equal(last.value, (ca.get(v) ?? 0) + (cb.get(v) ?? 0), `lib@${v}`);
    const per = Object.fromEntries(last.repos.map((r) => [r.repo, r.value]));
    assert.equal(per['example.com/acme/a'] ?? 0, ca.get(v) ?? 0, `lib@${v} in a`);
    assert.equal(per['example.com/acme/b'] ?? 0, cb.get(v) ?? 0, `lib@${v} in b`);
  }
});

test('capture keeps the top 20 values unless told otherwise', async () => {
  const r = TestRepo.init();
  // lib@1 once, lib@2 twice, ... lib@25 25 times: the top 20 are 25 down to 6
  r.commit('2026-01-06T10:00:00Z', { 'x.txt': Array.from({ length: 25 }, (_, i) => `lib@${i + 1} `.repeat(i + 1)).join('\n') + '\n' });
  const out = await runJson(['capture', r.dir, '-q', QUERY, ...WINDOW]);
  assert.deepEqual(out.series.map(captureOf), Array.from({ length: 20 }, (_, i) => String(25 - i)));
  assert.deepEqual(out.series.map((s) => s.points.at(-1)!.value), Array.from({ length: 20 }, (_, i) => 25 - i));
});
