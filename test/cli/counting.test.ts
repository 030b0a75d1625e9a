// Black-box: what `code-insights series` counts at each point equals what git grep counts at
// that point's commit (-o for matches, -c for lines, -l for files), over the files the spec
// counts: regular files, text (git's own binary test), at most the size limit, narrowed by globs.
// The history renames, deletes and re-adds files, so running totals are exercised.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { TestRepo } from '../helpers/gitRepo';
import { ensureBuilt, runJson, revListBefore, gitGrepCount, describePoints, type GrepOptions, type SeriesOutput } from './cliHarness';

const END = '2026-02-12T00:00:00Z';
const WINDOW = ['--step', 'week', '--points', '8', '--end', END, '--no-cache'];
const BIG_LINES = 300_000; // 'TODO\n' x 300000 = 1.5 MB, above the 1 MiB default limit

let repo: TestRepo;

before(() => {
  ensureBuilt();
  repo = TestRepo.init();
  const lateNul = Buffer.concat([Buffer.from('TODO late\n'), Buffer.alloc(8100, 0x2e), Buffer.from([0]), Buffer.from('\nTODO after nul\n')]);
  repo.commit('2026-01-05T10:00:00Z', {
    'src/a.ts': 'TODO one\n// TODO two TODO\nconst x = 1; // FIXME\n',
    'src/b.py': '# todo lower\n# Todo mixed\nTODO: x\n',
    'docs/readme.md': 'TODO docs\nTODOTODO\n',
    'vendor/lib.js': 'TODO vendor\n',
    'bin.dat': Buffer.concat([Buffer.from('TODO '), Buffer.from([0, 1, 2]), Buffer.from(' TODO\n')]),
    'late-nul.txt': lateNul, // NUL only after the first 8000 bytes: text to git
    'link.ts': { symlink: 'TODO-target.ts' }, // a symlink whose target text matches
    'big.txt': 'TODO\n'.repeat(BIG_LINES),
    'meta.txt': 'a.b a+b (x) [y] $z ^w axb aab\na.b\n',
    'latin1.txt': Buffer.from('caf\xe9 TODO na\xefve\nTODO \xff\xfe\xe0 FIXME\n', 'latin1'),
  });
  repo.commit('2026-01-12T10:00:00Z', { 'src/a.ts': null, 'src/renamed.ts': 'TODO one\n// TODO two TODO\nconst x = 1; // FIXME\n', 'src/b.py': '# todo lower\nTODO: x\nTODO: y\n' });
  repo.commit('2026-01-19T10:00:00Z', { 'docs/readme.md': null, 'docs/guide.md': 'TODO docs\nTODOTODO\nTODO more\n', 'vendor/lib.js': null });
  repo.commit('2026-01-26T10:00:00Z', { 'src/renamed.ts': null });
  repo.commit('2026-02-02T10:00:00Z', { 'src/a.ts': 'TODO back\n', 'script.sh': 'echo TODO\n' });
  repo.git(['update-index', '--chmod=+x', 'script.sh']);
  repo.git(['commit', '-q', '--amend', '--no-edit'], { GIT_AUTHOR_DATE: '2026-02-02T10:00:00Z', GIT_COMMITTER_DATE: '2026-02-02T10:00:00Z' });
  // the renamed file comes back with its original content (an old blob reappears)
  repo.commit('2026-02-09T10:00:00Z', { 'src/renamed.ts': 'TODO one\n// TODO two TODO\nconst x = 1; // FIXME\n' });
});

/** Runs the CLI and checks every point of every series against git grep at rev-list's commit. */
async function assertMatchesGit(cliArgs: string[], queries: { q: string; grep?: string; opts?: GrepOptions }[]): Promise<SeriesOutput> {
  const out = await runJson(['series', repo.dir, ...queries.flatMap((x) => ['-q', x.q]), ...WINDOW, ...cliArgs]);
  assert.equal(out.series.length, queries.length, 'one series per -q');
  for (const [i, s] of out.series.entries()) {
    const { q, grep, opts } = queries[i];
    assert.equal(s.query, q);
    for (const p of s.points) {
      const commit = revListBefore(repo.dir, p.time);
      const want = commit ? gitGrepCount(repo.dir, commit, grep ?? q, opts) : 0;
      assert.equal(p.value, want, `${q} ${cliArgs.join(' ')} at ${p.time} (commit ${commit}): CLI ${p.value}, git grep ${want}; all: ${describePoints(s.points)}`);
      if (commit) assert.equal(p.repos[0]?.commit, commit);
    }
  }
  return out;
}

for (const mode of ['matches', 'lines', 'files'] as const) {
  const grep = mode === 'matches' ? 'git grep -o' : mode === 'lines' ? 'git grep -c' : 'git grep -l';
  test(`--count ${mode} equals ${grep} at every point (renames, deletions, re-adds in history)`, async () => {
    const queries = ['TODO', 'FIXME|TODO', '\\bTODO\\b', 'T[A-Z]+O'].map((q) => ({ q, opts: { count: mode } }));
    const out = await assertMatchesGit(mode === 'matches' ? [] : ['--count', mode], queries);
    // the history moves, so equal series compared something
    assert.ok(new Set(out.series[0].points.map((p) => p.value)).size >= 4, describePoints(out.series[0].points));
  });
}

test('the default count is matches: non-overlapping matches, several per line', async () => {
  const out = await assertMatchesGit([], [{ q: 'TODO' }]);
  const lines = await assertMatchesGit(['--count', 'lines'], [{ q: 'TODO', opts: { count: 'lines' } }]);
  const last = (o: SeriesOutput) => o.series[0].points[o.series[0].points.length - 1].value;
  assert.ok(last(out) > last(lines), 'TODOTODO and "TODO two TODO" count twice as matches, once as lines');
});

test('--ignore-case equals git grep -i', async () => {
  await Promise.all((['matches', 'lines'] as const).map((mode) =>
    assertMatchesGit(['--ignore-case', '--count', mode], [{ q: 'todo', opts: { ignoreCase: true, count: mode } }, { q: 'T[a-z]DO', opts: { ignoreCase: true, count: mode } }])));
  const cs = await assertMatchesGit([], [{ q: 'todo' }]);
  assert.ok(cs.series[0].points.some((p) => p.value > 0), 'case-sensitive "todo" still finds the lower-case one');
});

test('--literal: regex metacharacters are plain text (equals git grep -F)', async () => {
  const qs = ['a.b', 'a+b', '(x)', '[y]', '$z', '^w', '.'];
  const out = await assertMatchesGit(['--literal'], qs.map((q) => ({ q, opts: { literal: true } })));
  const last = (i: number) => out.series[i].points[out.series[i].points.length - 1].value;
  assert.equal(last(0), gitGrepCount(repo.dir, 'HEAD', 'a.b', { literal: true }));
  assert.ok(last(0) < gitGrepCount(repo.dir, 'HEAD', 'a.b'), 'as a regex a.b would also match axb and aab');
});

test('multiple -q with --label: one series per query, in order, with its label', async () => {
  const out = await assertMatchesGit(['--label', 'To do', '--label', 'Fix me'], [{ q: 'TODO' }, { q: 'FIXME' }]);
  assert.deepEqual(out.series.map((s) => s.label), ['To do', 'Fix me']);
  assert.deepEqual(out.series.map((s) => s.query), ['TODO', 'FIXME']);
  assert.notEqual(out.series[0].id, out.series[1].id);
});

test('binary files are skipped (NUL in the first 8000 bytes), a NUL after byte 8000 is still text', async () => {
  const only = (path: string) => ['--include', path];
  const [bin, late] = await Promise.all([
    assertMatchesGit(only('bin.dat'), [{ q: 'TODO', opts: { pathFilter: (p) => p === 'bin.dat' } }]),
    assertMatchesGit(only('late-nul.txt'), [{ q: 'TODO', opts: { pathFilter: (p) => p === 'late-nul.txt' } }]),
  ]);
  assert.ok(bin.series[0].points.every((p) => p.value === 0), `bin.dat is binary: ${describePoints(bin.series[0].points)}`);
  assert.equal(late.series[0].points.at(-1)!.value, 2, 'git treats late-nul.txt as text: both TODOs count');
});

test('symlinks are not counted, even when their target text matches', async () => {
  const out = await assertMatchesGit([], [{ q: 'TODO-target' }]);
  assert.ok(out.series[0].points.every((p) => p.value === 0), describePoints(out.series[0].points));
});

test('files over 1 MiB are skipped by default; --max-file-size 0 counts them; a small limit skips more', async () => {
  const [def, all] = await Promise.all([
    assertMatchesGit(['--count', 'lines'], [{ q: '^TODO$', opts: { count: 'lines' } }]),
    assertMatchesGit(['--count', 'lines', '--max-file-size', '0'], [{ q: '^TODO$', opts: { count: 'lines', maxFileSize: 0 } }]),
  ]);
  const last = (o: SeriesOutput) => o.series[0].points.at(-1)!.value;
  assert.equal(last(all) - last(def), BIG_LINES, 'big.txt adds its 300000 lines only without a limit');
  await assertMatchesGit(['--max-file-size', '40'], [{ q: 'TODO', opts: { maxFileSize: 40 } }]);
});

test('--include / --exclude globs narrow the files (a glob without "/" matches the file name at any depth)', async () => {
  await Promise.all([
    assertMatchesGit(['--include', '*.ts'], [{ q: 'TODO', opts: { pathFilter: (p) => p.endsWith('.ts') } }]),
    assertMatchesGit(['--include', 'src/**'], [{ q: 'TODO', opts: { pathFilter: (p) => p.startsWith('src/') } }]),
    assertMatchesGit(['--exclude', 'vendor/**', '--exclude', '*.md'], [{ q: 'TODO', opts: { pathFilter: (p) => !p.startsWith('vendor/') && !p.endsWith('.md') } }]),
    assertMatchesGit(['--include', '*.ts', '--include', '*.py', '--exclude', 'src/renamed.ts'], [{ q: 'TODO', opts: { pathFilter: (p) => (p.endsWith('.ts') || p.endsWith('.py')) && p !== 'src/renamed.ts' } }]),
  ]);
});

test('non-UTF-8 (latin-1) content still counts its ASCII matches', async () => {
  const out = await assertMatchesGit(['--include', 'latin1.txt'], [{ q: 'TODO', opts: { pathFilter: (p) => p === 'latin1.txt' } }, { q: 'FIXME', opts: { pathFilter: (p) => p === 'latin1.txt' } }]);
  assert.equal(out.series[0].points.at(-1)!.value, 2);
  assert.equal(out.series[1].points.at(-1)!.value, 1);
});

test('renames, deletions and re-adds: each point equals a from-scratch git grep of its own commit', async () => {
  const out = await assertMatchesGit(['--include', 'src/**'], [{ q: 'TODO', opts: { pathFilter: (p) => p.startsWith('src/') } }]);
  const v = out.series[0].points.map((p) => p.value);
  // points: before history, before history, added, renamed, same, deleted, re-added, old blob back
  assert.ok(v[5] < v[4] && v[7] > v[6], `deletion lowers and re-add raises the count: ${v.join(',')}`);
});

test('a query without its own --label is labelled by its text', async () => {
  const out = await assertMatchesGit(['--label', 'To do'], [{ q: 'TODO' }, { q: 'FIXME' }]);
  assert.deepEqual(out.series.map((s) => s.label), ['To do', 'FIXME']);
});
