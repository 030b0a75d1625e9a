// The engine against a brute-force reference on real repositories: for every point, list the
// commit's whole tree with git and count each file from scratch. Running totals over tree
// diffs must give exactly the same numbers.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRepo, tempDir, GIT_ENV } from '../helpers/gitRepo';
import { runInsights } from '../../server/runs/runInsights';
import type { SeriesSpec } from '../../server/engine/api';
import { isBinary } from '../../server/engine/countLines';
import { Matcher, type BlobCounts } from '../../server/engine/countMatches';

const END = new Date('2026-03-02T12:00:00Z');

function spec(query: string, extra: Partial<SeriesSpec> = {}): SeriesSpec {
  return { label: query, query, literal: false, ignoreCase: false, count: 'matches', include: [], exclude: [], maxFileSize: 1 << 20, ...extra };
}

function gitOut(dir: string, args: string[]): Buffer {
  return execFileSync('git', args, { cwd: dir, env: GIT_ENV, maxBuffer: 64 << 20 });
}

/** Counts from scratch at one commit: every regular file, size limit, binary skip, then the matcher. */
function bruteForce(dir: string, commit: string, s: SeriesSpec): number {
  const m = new Matcher({ query: s.query, literal: s.literal, ignoreCase: s.ignoreCase });
  let total = 0;
  const listing = gitOut(dir, ['ls-tree', '-r', '-z', '-l', commit]).toString('utf8').split('\0').filter(Boolean);
  for (const rec of listing) {
    const [meta, path] = rec.split('\t');
    const [mode, , oid, size] = meta.split(/ +/);
    if (mode !== '100644' && mode !== '100755') continue;
    if (s.maxFileSize && Number(size) > s.maxFileSize) continue;
    if (s.include.length && !s.include.some((g) => path.endsWith(g.replace('*', '')))) continue;
    const buf = gitOut(dir, ['cat-file', 'blob', oid]);
    if (isBinary(buf)) continue;
    total += (m.count(buf.toString('utf8')) as BlobCounts)[s.count];
  }
  return total;
}

let repo: TestRepo;
before(() => {
  repo = TestRepo.init();
  repo.commit('2026-01-05T10:00:00Z', { 'a.ts': 'TODO one\n// TODO two TODO\n', 'b.py': 'x = 1  # FIXME\n', 'docs/readme.md': 'TODO docs\n' });
  repo.commit('2026-01-12T10:00:00Z', { 'a.ts': 'TODO one\n', 'c.ts': 'TODO c\nTODO c2\n' });
  // rename with an edit, a deletion, a binary file holding the text, a symlink to a counted file
  repo.commit('2026-01-19T10:00:00Z', { 'c.ts': null, 'src/c2.ts': 'TODO c\nTODO c2\nTODO c3\n', 'b.py': null, 'img.bin': Buffer.concat([Buffer.from('TODO '), Buffer.from([0, 1, 2]), Buffer.from(' TODO')]), 'link.ts': { symlink: 'a.ts' } });
  // a side branch merged with --no-ff: its commits are not sampled but the merge's tree counts
  repo.git(['checkout', '-q', '-b', 'side']);
  repo.commit('2026-01-21T10:00:00Z', { 'side.ts': 'TODO side\n' });
  repo.git(['checkout', '-q', 'main']);
  repo.commit('2026-01-22T10:00:00Z', { 'main.ts': 'FIXME main\n' });
  repo.git(['merge', '-q', '--no-ff', '-m', 'merge side', 'side'], { GIT_AUTHOR_DATE: '2026-01-28T10:00:00Z', GIT_COMMITTER_DATE: '2026-01-28T10:00:00Z' });
  // an oversize file (over a 64 KiB limit used below) and a re-added file
  repo.commit('2026-02-03T10:00:00Z', { 'big.txt': 'TODO\n'.repeat(20000), 'b.py': 'TODO back\n' });
  // a commit whose committer date is older than its parent's (clock skew)
  repo.commit('2026-01-30T10:00:00Z', { 'skew.ts': 'TODO skew\n' });
  repo.commit('2026-02-20T10:00:00Z', { 'a.ts': 'nothing left\n' });
  // CRLF lines, latin-1 bytes, adjacent needles, an empty file
  repo.commit('2026-02-25T10:00:00Z', { 'crlf.txt': 'TODO a\r\nTODO b TODO\r\nFIXME', 'latin.txt': Buffer.from([0x54, 0x4f, 0x44, 0x4f, 0x20, 0xe9, 0x0a, 0xff, 0x48, 0x41, 0x43, 0x4b]), 'twice.txt': 'TODOTODO HACKHACK\n', 'empty.txt': '' });
});

test('every point equals rev-list --before and a from-scratch count, for each count mode', async () => {
  const specs = [spec('TODO'), spec('TODO', { count: 'lines' }), spec('TODO', { count: 'files' }), spec('FIXME|TODO', { maxFileSize: 65536 })];
  const r = await runInsights({ paths: [repo.dir], series: specs, step: 'week', points: 10, end: END }, { cacheFile: null });
  assert.equal(r.series.length, 4);
  assert.deepEqual(r.repos.map((x) => x.error), [undefined]);
  for (const [si, s] of r.series.entries()) {
    for (const p of s.points) {
      const expected = repo.revListBefore(new Date(p.time));
      assert.equal(p.repos[0]?.commit, expected, `commit at ${p.time}`);
      const want = expected ? bruteForce(repo.dir, expected, specs[si]) : 0;
      assert.equal(p.value, want, `${specs[si].query}/${specs[si].count} at ${p.time}`);
    }
  }
  // Sanity: the series moves, so the comparison above compared something.
  assert.ok(new Set(r.series[0].points.map((p) => p.value)).size > 3);
});

test('the git grep prefilter for literal queries gives the same numbers as reading every blob', async () => {
  const specs = [spec('TODO'), spec('FIXME|TODO', { count: 'lines' }), spec('todo', { literal: true, ignoreCase: true, count: 'files' }), spec('TODO', { maxFileSize: 65536 }), spec('\\bTO+DO\\b\\s\\w')];
  const req = { paths: [repo.dir], series: specs, step: 'week' as const, points: 10, end: END };
  process.env.CODE_INSIGHTS_GREP_MIN_BLOBS = '1';
  let filtered;
  try {
    filtered = await runInsights(req, { cacheFile: null });
  } finally {
    delete process.env.CODE_INSIGHTS_GREP_MIN_BLOBS;
  }
  assert.ok(filtered.stats.blobsRuledOut > 0, 'the prefilter ruled blobs out');
  // The same queries as regexes git grep cannot take: every blob is read and counted.
  const plain = await runInsights({ ...req, series: [spec('(?:TODO)'), spec('(?:FIXME|TODO)', { count: 'lines' }), spec('(?:todo)', { ignoreCase: true, count: 'files' }), spec('(?:TODO)', { maxFileSize: 65536 }), spec('(?:\\bTO+DO\\b\\s\\w)')] }, { cacheFile: null });
  assert.equal(plain.stats.blobsRuledOut, 0);
  assert.deepEqual(
    filtered.series.map((s) => s.points.map((p) => [p.value, p.repos.map((r) => r.commit)])),
    plain.series.map((s) => s.points.map((p) => [p.value, p.repos.map((r) => r.commit)])),
  );
});

test('plain literal queries counted by git grep give the same numbers as the engine reading every blob', async () => {
  const literal = [spec('TODO'), spec('FIXME', { count: 'lines' }), spec('HACK', { count: 'files' }), spec('TODO', { maxFileSize: 65536, count: 'lines' })];
  const regex = [spec('(?:TODO)'), spec('(?:FIXME)', { count: 'lines' }), spec('(?:HACK)', { count: 'files' }), spec('(?:TODO)', { maxFileSize: 65536, count: 'lines' })];
  const req = { paths: [repo.dir], step: 'week' as const, points: 10, end: END };
  process.env.CODE_INSIGHTS_GREP_MIN_BLOBS = '1';
  let byGit;
  const seen: { done: number; total: number }[] = [];
  try {
    byGit = await runInsights({ ...req, series: literal }, { cacheFile: null, onProgress: (p) => seen.push({ done: p.blobsDone, total: p.blobsTotal }) });
  } finally {
    delete process.env.CODE_INSIGHTS_GREP_MIN_BLOBS;
  }
  assert.ok(byGit.stats.blobsCountedByGit > 0, 'git counted blobs');
  // Progress covers git's search: it ends with every blob searched, never going back.
  const last = seen.at(-1)!;
  assert.ok(last.total > 0 && last.done === last.total, JSON.stringify(last));
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i].done >= seen[i - 1].done && seen[i].done <= seen[i].total);
  assert.equal(byGit.stats.blobsRead, 0, 'no blob was read into Node');
  const plain = await runInsights({ ...req, series: regex }, { cacheFile: null });
  assert.equal(plain.stats.blobsCountedByGit, 0);
  assert.deepEqual(
    byGit.series.map((s) => s.points.map((p) => [p.value, p.repos.map((r) => [r.commit, r.value])])),
    plain.series.map((s) => s.points.map((p) => [p.value, p.repos.map((r) => [r.commit, r.value])])),
  );
});

test('lines per language counted by git grep -c equal the engine reading every blob', async () => {
  // Binary files with a language's extension (NUL early, and NUL only after 8000 bytes), empty,
  // CRLF, no final newline, oversized, vendored, changed and deleted files.
  const r = TestRepo.init(join(tempDir(), 'langs'));
  r.commit('2026-01-05T10:00:00Z', {
    'bin.c': Buffer.concat([Buffer.from('int x;\n'), Buffer.from([0, 1, 2]), Buffer.from('\n')]),
    'late.c': Buffer.concat([Buffer.from('a\n'.repeat(4500)), Buffer.from([0]), Buffer.from('\nb\n')]),
    'empty.py': '',
    'crlf.ts': 'a\r\nb\r\nc',
    'nonl.py': 'print(1)',
    'big.txt': 'line\n'.repeat(20000),
    'vendor/lib.js': 'x\n'.repeat(10),
    'src/a.ts': 'one\ntwo\n',
  });
  r.commit('2026-01-12T10:00:00Z', { 'src/a.ts': 'one\n', 'nonl.py': null, 'src/b.go': 'package b\n\nfunc B() {}\n', 'bin.c': 'int y;\n' });
  r.commit('2026-01-19T10:00:00Z', { 'empty.py': 'x = 1\n', 'late.c': null });
  for (const languagesMaxFileSize of [undefined, 65536]) {
    const req = { paths: [r.dir], series: [], languages: true, languagesMaxFileSize, step: 'day' as const, points: 20, end: new Date('2026-01-21T00:00:00Z') };
    process.env.CODE_INSIGHTS_GREP_MIN_BLOBS = '1';
    let byGit;
    try {
      byGit = await runInsights(req, { cacheFile: null });
    } finally {
      delete process.env.CODE_INSIGHTS_GREP_MIN_BLOBS;
    }
    assert.ok(byGit.stats.blobsCountedByGit > 0, 'git counted the lines');
    assert.equal(byGit.stats.blobsRead, 0, 'no blob was read into Node');
    process.env.CODE_INSIGHTS_GIT_COUNTS = '0';
    let read;
    try {
      read = await runInsights(req, { cacheFile: null });
    } finally {
      delete process.env.CODE_INSIGHTS_GIT_COUNTS;
    }
    assert.ok(read.stats.blobsRead > 0);
    assert.deepEqual(byGit.languages, read.languages);
    // Spot check against the definition: at the first commit, C is late.c only (bin.c is binary).
    const first = byGit.languages!.find((p) => p.languages.length > 0)!;
    assert.ok(Date.parse(first.time) < Date.parse('2026-01-12T10:00:00Z'));
    assert.deepEqual(first.languages.find((l) => l.language === 'C'), { language: 'C', lines: 4502, files: 1 });
    assert.deepEqual(first.languages.find((l) => l.language === 'Python'), { language: 'Python', lines: 1, files: 2 });
  }
});

test('a point before the first commit has no repo entry and value 0', async () => {
  const r = await runInsights({ paths: [repo.dir], series: [spec('TODO')], step: 'week', points: 12, end: END }, { cacheFile: null });
  const first = r.series[0].points[0];
  assert.ok(new Date(first.time) < new Date('2026-01-05T10:00:00Z'));
  assert.equal(first.value, 0);
  assert.deepEqual(first.repos, []);
});

test('include and exclude globs narrow the files', async () => {
  const r = await runInsights(
    { paths: [repo.dir], series: [spec('TODO', { include: ['*.ts'] }), spec('TODO', { exclude: ['*.ts', 'docs/**'] })], step: 'week', points: 1, end: new Date('2026-01-13T00:00:00Z') },
    { cacheFile: null },
  );
  // at 2026-01-12: a.ts 1, c.ts 2 (ts) ; docs/readme.md 1 (excluded by docs/**), b.py 0
  assert.equal(r.series[0].points[0].value, 3);
  assert.equal(r.series[1].points[0].value, 0);
});

test('capture groups give one series per captured value, sorted by the latest value', async () => {
  const r = await runInsights({ paths: [repo.dir], series: [spec('(TODO|FIXME) (\\w+)', { capture: { limit: 2 } })], step: 'week', points: 1, end: END }, { cacheFile: null });
  // capture is the first group: TODO or FIXME
  assert.deepEqual(r.series.map((s) => s.capture), ['TODO', 'FIXME']);
  const head = repo.head();
  assert.equal(r.series[0].points[0].value, bruteForce(repo.dir, head, spec('TODO \\w+')));
  assert.equal(r.series[1].points[0].value, bruteForce(repo.dir, head, spec('FIXME \\w+')));
});

test('the cache: a rerun reads no blob; one new commit reads only its new blobs; same numbers', async () => {
  const dir = tempDir();
  const clone = join(dir, 'clone');
  // a copy, not a clone: a clone would sample origin/HEAD, which the new commit does not move
  execFileSync('cp', ['-a', repo.dir, clone]);
  const r2 = new TestRepo(clone);
  const cacheFile = join(dir, 'cache.sqlite');
  const req = { paths: [clone], series: [spec('TODO'), spec('FIXME', { count: 'files' as const })], languages: true, step: 'week' as const, points: 10, end: END };
  const cold = await runInsights(req, { cacheFile });
  assert.ok(cold.stats.blobsRead > 5);
  assert.ok(existsSync(cacheFile));
  const warm = await runInsights(req, { cacheFile });
  assert.equal(warm.stats.blobsRead, 0);
  assert.deepEqual(warm.series, cold.series);
  assert.deepEqual(warm.languages, cold.languages);

  r2.commit('2026-03-01T10:00:00Z', { 'new1.ts': 'TODO new\n', 'new2.ts': 'FIXME\n', 'a.ts': 'nothing left\nTODO again\n' });
  const after = await runInsights(req, { cacheFile });
  assert.equal(after.stats.blobsRead, 3, 'only the three new blobs are read');
  const nocache = await runInsights(req, { cacheFile: null });
  assert.deepEqual(after.series, nocache.series);
  assert.deepEqual(after.languages, nocache.languages);
});

test('a corrupt cache is reported, moved aside and rebuilt with correct numbers', async () => {
  const dir = tempDir();
  const cacheFile = join(dir, 'cache.sqlite');
  writeFileSync(cacheFile, 'this is not a database');
  const req = { paths: [repo.dir], series: [spec('TODO')], step: 'week' as const, points: 6, end: END };
  const r = await runInsights(req, { cacheFile });
  assert.match(r.repos.map((x) => x.warning ?? '').join(' '), /unreadable.*rebuilding/);
  const ref = await runInsights(req, { cacheFile: null });
  assert.deepEqual(r.series, ref.series);
  // the rebuilt cache is valid: a rerun reads nothing
  const again = await runInsights(req, { cacheFile });
  assert.equal(again.stats.blobsRead, 0);
  assert.ok(!readFileSync(cacheFile).toString('latin1').includes('this is not a database'));
});

test('cancelling stops the run with AbortedError and leaves a valid cache', async () => {
  const dir = tempDir();
  const cacheFile = join(dir, 'cache.sqlite');
  const ac = new AbortController();
  const req = { paths: [repo.dir], series: [spec('TODO')], step: 'week' as const, points: 10, end: END };
  const p = runInsights(req, { cacheFile, signal: ac.signal, onProgress: (x) => { if (x.phase === 'history') ac.abort(); } });
  await assert.rejects(p, { name: 'AbortedError' });
  const r = await runInsights(req, { cacheFile });
  const ref = await runInsights(req, { cacheFile: null });
  assert.deepEqual(r.series, ref.series);
});

test('the catastrophic regex (a+)+$ finishes with the exact count', async () => {
  const r3 = TestRepo.init();
  r3.commit('2026-01-05T10:00:00Z', { 'a.txt': ('a'.repeat(30000) + 'b\n').repeat(20) + 'aaa\n' });
  const r = await runInsights({ paths: [r3.dir], series: [spec('(a+)+$')], step: 'week', points: 1, end: END }, { cacheFile: null });
  assert.equal(r.series[0].points[0].value, 1);
});

test('a repository without commits is reported and does not stop the others', async () => {
  const dir = tempDir();
  TestRepo.init(join(dir, 'empty'));
  const full = TestRepo.init(join(dir, 'full'));
  full.commit('2026-01-05T10:00:00Z', { 'x.ts': 'TODO\n' });
  const r = await runInsights({ paths: [dir], series: [spec('TODO')], step: 'week', points: 1, end: END }, { cacheFile: null });
  assert.equal(r.series[0].points[0].value, 1);
  const empty = r.repos.find((x) => x.path.endsWith('empty'));
  assert.match(empty?.error ?? '', /no commits yet/);
});

test('a pattern V8 cannot run in linear time counts exactly in the guarded worker', async () => {
  const r3 = TestRepo.init();
  r3.commit('2026-01-05T10:00:00Z', { 'a.txt': 'abab x abab\ncdcd\nab ab\n' });
  const r = await runInsights({ paths: [r3.dir], series: [spec('(\\w\\w)\\1'), spec('(?<=a)b', { count: 'lines' })], step: 'week', points: 1, end: END }, { cacheFile: null });
  assert.deepEqual(r.series.map((s) => [s.error, s.points[0].value]), [[undefined, 3], [undefined, 2]]);
});

test('a catastrophic pattern with a backreference stops at the time budget with a per-series error', async () => {
  const r3 = TestRepo.init();
  r3.commit('2026-01-05T10:00:00Z', { 'a.txt': 'a'.repeat(40) + '\nTODO\n' });
  process.env.CODE_INSIGHTS_REGEX_BUDGET_MS = '300';
  try {
    const r = await runInsights({ paths: [r3.dir], series: [spec('(a*)*\\1b'), spec('TODO')], step: 'week', points: 1, end: END }, { cacheFile: null });
    assert.match(r.series[0].error ?? '', /ran longer than 0.3 s on one file and was stopped/);
    assert.deepEqual(r.series[0].points, []);
    assert.equal(r.series[1].points[0].value, 1, 'the other series of the run still counts');
  } finally {
    delete process.env.CODE_INSIGHTS_REGEX_BUDGET_MS;
  }
});

test('two checkouts of one repository: at each point the one at the newer commit counts', async () => {
  const dir = tempDir();
  execFileSync('cp', ['-a', repo.dir, join(dir, 'one')]);
  // a second checkout one commit ahead: same identity, newer commit at the last points
  execFileSync('cp', ['-a', repo.dir, join(dir, 'two')]);
  new TestRepo(join(dir, 'two')).commit('2026-03-01T10:00:00Z', { 'z.ts': 'TODO\n' });
  const req = { series: [spec('TODO')], step: 'week' as const, points: 8, end: END };
  const single = await runInsights({ ...req, paths: [repo.dir] }, { cacheFile: null });
  let partials = 0;
  const both = await runInsights({ ...req, paths: [dir] }, { cacheFile: null, concurrency: 2, onPartial: () => partials++ });
  both.series[0].points.forEach((p, i) => {
    assert.equal(p.repos.length, 1, `one entry per identity at ${p.time}`);
    const ahead = p.time >= '2026-03-01T10:00:00Z';
    assert.equal(p.value, single.series[0].points[i].value + (ahead ? 1 : 0), p.time);
  });
  assert.match(both.repos.find((r) => r.path.endsWith('one'))?.warning ?? '', /same repository as .*two; at each point the checkout at the newer commit counts/);
  // Once, however often the results were assembled (each partial, then the whole).
  assert.equal(partials, 1);
  for (const r of both.repos) assert.equal(r.warning?.match(/same repository as/g)?.length, 1, `${r.path}: ${r.warning}`);
});
