// Black-box: the cache file. A rerun with no new commits reads no blob; after one new commit only
// that commit's new blobs are read; a corrupt cache file is reported and rebuilt, and the numbers
// stay exact throughout (compared with a --no-cache run and with git grep).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { GIT_ENV, TestRepo, tempDir } from '../helpers/gitRepo';
import { ensureBuilt, runCli, runJson, revListBefore, gitGrepCount, lsTree, hasStackTrace, type SeriesOutput } from './cliHarness';

const END = '2026-01-20T00:00:00Z';
const WINDOW = ['--step', 'day', '--points', '20', '--end', END]; // every commit of the history is a point's commit
const QUERIES = ['-q', 'TODO', '-q', 'FIXME'];

let repo: TestRepo;

before(() => {
  ensureBuilt();
  repo = TestRepo.init();
  repo.commit('2026-01-03T10:00:00Z', { 'a.txt': 'TODO a\n', 'b.txt': 'FIXME b\n', 'src/c.ts': 'TODO c TODO\n' });
  repo.commit('2026-01-06T10:00:00Z', { 'a.txt': 'TODO a\nTODO a2\n', 'd.txt': 'nothing\n' });
  repo.commit('2026-01-09T10:00:00Z', { 'b.txt': null, 'src/e.ts': 'FIXME e\nTODO e\n' });
  repo.commit('2026-01-12T10:00:00Z', { 'src/c.ts': 'TODO c\n' });
});

function values(o: SeriesOutput): unknown {
  return o.series.map((s) => ({ id: s.id, points: s.points.map((p) => [p.time, p.value, p.repos.map((r) => [r.repo, r.commit, r.value])]) }));
}

function blobsRead(o: SeriesOutput): number {
  assert.ok(o.stats && typeof o.stats.blobsRead === 'number', `the json says how many blobs were read (stats.blobsRead): ${JSON.stringify(o.stats)}`);
  return o.stats.blobsRead;
}

function assertExact(o: SeriesOutput): void {
  const patterns = ['TODO', 'FIXME'];
  o.series.forEach((s, i) => {
    for (const p of s.points) {
      const c = revListBefore(repo.dir, p.time);
      assert.equal(p.value, c ? gitGrepCount(repo.dir, c, patterns[i]) : 0, `${patterns[i]} at ${p.time}`);
    }
  });
}

/** Regular-file blobs of a commit's tree that no earlier commit's tree holds. */
function newBlobsOf(commit: string): number {
  const older = new Set(repo.git(['rev-list', `${commit}^`]).trim().split('\n').filter(Boolean).flatMap((c) => lsTree(repo.dir, c).map((f) => f.oid)));
  return new Set(lsTree(repo.dir, commit).filter((f) => f.mode.startsWith('100') && !older.has(f.oid)).map((f) => f.oid)).size;
}

test('cache: a rerun with no new commits reads no blob; one new commit reads only its new blobs; numbers exact', async () => {
  const cache = join(tempDir('ci-cache-'), 'cache.sqlite');
  const cold = await runJson(['series', repo.dir, ...QUERIES, ...WINDOW, '--cache', cache]);
  assert.ok(existsSync(cache), 'the cache file is written');
  assertExact(cold);
  const distinctBlobs = new Set(repo.git(['rev-list', 'HEAD']).trim().split('\n').flatMap((c) => lsTree(repo.dir, c).map((f) => f.oid))).size;
  assert.equal(blobsRead(cold), distinctBlobs, 'a cold run reads every distinct blob of the sampled commits once');

  const warm = await runJson(['series', repo.dir, ...QUERIES, ...WINDOW, '--cache', cache]);
  assert.equal(blobsRead(warm), 0, 'nothing new: no blob read');
  assert.deepEqual(values(warm), values(cold));

  // one new commit: a changed file, a new file, and a copy of a blob the history already has
  const c = repo.commit('2026-01-15T10:00:00Z', { 'a.txt': 'TODO a\nTODO a2\nTODO a3\n', 'f.txt': 'FIXME f\n', 'copy.txt': 'nothing\n' });
  const fresh = newBlobsOf(c);
  assert.equal(fresh, 2, 'the test\'s own arithmetic: a.txt and f.txt are new blobs, copy.txt is not');
  const after = await runJson(['series', repo.dir, ...QUERIES, ...WINDOW, '--cache', cache]);
  assert.equal(blobsRead(after), fresh, `only the new commit's ${fresh} new blobs are read`);
  assertExact(after);
  const noCache = await runJson(['series', repo.dir, ...QUERIES, ...WINDOW, '--no-cache']);
  assert.deepEqual(values(after), values(noCache));
  assert.equal(after.series[0].points.at(-1)!.repos[0].commit, c);
});

test('cache: a different query over the same history reuses nothing it should not, and stays exact', async () => {
  const cache = join(tempDir('ci-cache-'), 'cache.sqlite');
  await runJson(['series', repo.dir, '-q', 'TODO', ...WINDOW, '--cache', cache]);
  const other = await runJson(['series', repo.dir, '-q', 'FIXME', '-q', 'TODO', ...WINDOW, '--cache', cache]);
  const patterns = ['FIXME', 'TODO'];
  other.series.forEach((s, i) => {
    for (const p of s.points) {
      const c = revListBefore(repo.dir, p.time);
      assert.equal(p.value, c ? gitGrepCount(repo.dir, c, patterns[i]) : 0, `${patterns[i]} at ${p.time}`);
    }
  });
});

test('--stats prints the blobs read to stderr', async () => {
  const r = await runCli(['series', repo.dir, '-q', 'TODO', ...WINDOW, '--no-cache', '--stats', '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /\d+ blobs? read/i, r.stderr);
});

for (const [what, content] of [
  ['garbage', Buffer.from('this is not a cache file at all\n'.repeat(100))],
  ['a truncated SQLite header', Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(200, 0xff)])],
] as [string, Buffer][]) {
  test(`cache: a corrupt cache file (${what}) is reported and rebuilt, with exact results`, async () => {
    const cache = join(tempDir('ci-cache-'), 'cache.sqlite');
    writeFileSync(cache, content);
    const r = await runCli(['series', repo.dir, ...QUERIES, ...WINDOW, '--cache', cache, '--format', 'json']);
    assert.equal(r.code, 0, `a bad cache is not fatal: ${r.stderr}`);
    assert.match(r.stderr, /cache/i, `the corrupt cache is reported: ${r.stderr}`);
    assert.ok(r.stderr.includes(cache) || /corrupt|unreadable|invalid|not a|rebuil/i.test(r.stderr), `the report says what is wrong: ${r.stderr}`);
    assert.ok(!hasStackTrace(r.stderr), r.stderr);
    const out = JSON.parse(r.stdout) as SeriesOutput;
    assertExact(out);
    assert.notDeepEqual(readFileSync(cache), content, 'the file was rebuilt');
    const again = await runCli(['series', repo.dir, ...QUERIES, ...WINDOW, '--cache', cache, '--format', 'json']);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /corrupt|unreadable|invalid|rebuil/i, 'the rebuilt cache is healthy');
    assert.equal(blobsRead(JSON.parse(again.stdout) as SeriesOutput), 0, 'and used: no blob read on the rerun');
  });
}

test('cache: a foreign SQLite file (another program\'s database) is reported, not silently used, and its data is not lost', async () => {
  // sql.js, the same SQLite the engine uses, writes a valid database that is not a Code Insights cache
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const initSqlJs = require('sql.js') as (o?: object) => Promise<{ Database: new () => { run(sql: string): void; export(): Uint8Array; close(): void } }>;
  const SQL = await initSqlJs();
  const db = new SQL.Database();
  db.run("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('precious');");
  const foreign = Buffer.from(db.export());
  db.close();
  const dir = tempDir('ci-cache-');
  const cache = join(dir, 'cache.sqlite');
  writeFileSync(cache, foreign);
  const r = await runCli(['series', repo.dir, ...QUERIES, ...WINDOW, '--cache', cache, '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /cache/i, `the foreign file is reported: ${r.stderr}`);
  assert.ok(!hasStackTrace(r.stderr));
  assertExact(JSON.parse(r.stdout) as SeriesOutput);
  const kept = readdirSync(dir).some((f) => readFileSync(join(dir, f)).equals(foreign));
  assert.ok(kept, `the foreign database is kept (moved aside), not overwritten: ${readdirSync(dir).join(', ')}`);
});

test('cache keys: runs that differ only in flags, count mode, globs or size limit never reuse each other\'s numbers', async () => {
  const cache = join(tempDir('ci-cache-'), 'cache.sqlite');
  const big = TestRepo.init();
  big.commit('2026-01-04T10:00:00Z', { 'a.ts': 'TODO a todo\nT.DO TxDO\n', 'b.md': 'todo b TODO TODO\n', 'big.txt': 'TODO\n'.repeat(230_000) });
  big.commit('2026-01-08T10:00:00Z', { 'a.ts': 'TODO a\nT.DO\n', 'c.ts': 'Todo c\n' });
  const variants = [[], ['-i'], ['--count', 'lines'], ['--count', 'files'], ['--max-file-size', '0'], ['--max-file-size', '20'], ['--include', '*.ts'], ['--exclude', '*.ts'], ['--literal']];
  const run = (q: string, v: string[], c: string[]) => runJson(['series', big.dir, '-q', q, ...v, '--step', 'day', '--points', '8', '--end', END, ...c]);
  for (const pass of ['cold', 'warm']) {
    for (const q of pass === 'cold' ? ['TODO', 'T.DO'] : ['T.DO']) {
      for (const v of pass === 'cold' ? variants : [...variants].reverse()) {
        const [cached, fresh] = await Promise.all([run(q, v, ['--cache', cache]), run(q, v, ['--no-cache'])]);
        assert.deepEqual(values(cached), values(fresh), `${pass} cache, -q ${q} ${v.join(' ')}`);
      }
    }
  }
});

test('cache: after history is rewritten (amend, reset), a rerun with the same cache gives the new history\'s numbers', async () => {
  const cache = join(tempDir('ci-cache-'), 'cache.sqlite');
  const r = TestRepo.init();
  r.commit('2026-01-04T10:00:00Z', { 'a.txt': 'TODO 1\n' });
  r.commit('2026-01-08T10:00:00Z', { 'a.txt': 'TODO 1\nTODO 2\n' });
  const args = ['series', r.dir, '-q', 'TODO', '--step', 'day', '--points', '10', '--end', END, '--cache', cache];
  await runJson(args);
  r.git(['reset', '-q', '--hard', 'HEAD~1']);
  r.commit('2026-01-09T10:00:00Z', { 'a.txt': 'TODO 1\nTODO 2\nTODO 3\nTODO 4\n' }, 'rewritten');
  const after = await runJson(args);
  for (const p of after.series[0].points) {
    const c = revListBefore(r.dir, p.time);
    assert.equal(p.repos[0]?.commit, c, p.time);
    assert.equal(p.value, c ? gitGrepCount(r.dir, c, 'TODO') : 0, `after the rewrite, ${p.time}`);
  }
  assert.equal(after.series[0].points.at(-1)!.value, 4);
});

test('compile cache: written after a first successful run, used by the next; a damaged one is replaced; numbers unchanged', async () => {
  const home = tempDir('ci-xdg-');
  const env = { ...GIT_ENV, NO_COLOR: '1', XDG_CACHE_HOME: home, CODE_INSIGHTS_TRACE: '1' };
  const args = ['series', repo.dir, ...QUERIES, ...WINDOW, '--format', 'json', '--no-cache'];
  const state = (stderr: string) => /\[trace\] compile cache .*: (none|used|rejected)$/m.exec(stderr)?.[1];
  const dir = join(home, 'code-insights', 'compile-cache');

  // A failed run (a bad regex) writes no cache: it compiled little of what a run needs.
  const bad = await runCli(['series', repo.dir, '-q', 'foo(', '--no-cache'], { env });
  assert.notEqual(bad.code, 0);
  assert.equal(existsSync(dir) ? readdirSync(dir).length : 0, 0);

  const first = await runCli(args, { env });
  assert.equal(first.code, 0, first.stderr);
  assert.equal(state(first.stderr), 'none');
  const files = readdirSync(dir);
  assert.equal(files.length, 1);
  assert.match(files[0], /^series-[0-9a-f]+\.bin$/);

  const second = await runCli(args, { env });
  assert.equal(state(second.stderr), 'used', 'V8 accepts the cache: the flags the bundle sets are set before it loads');
  assert.deepEqual(values(JSON.parse(second.stdout)), values(JSON.parse(first.stdout)));

  writeFileSync(join(dir, files[0]), Buffer.alloc(4096, 7));
  const damaged = await runCli(args, { env });
  assert.equal(damaged.code, 0, damaged.stderr);
  assert.equal(state(damaged.stderr), 'rejected');
  assert.deepEqual(values(JSON.parse(damaged.stdout)), values(JSON.parse(first.stdout)));
  assert.equal(state((await runCli(args, { env })).stderr), 'used', 'the damaged cache was written again');

  // Turned off: nothing read or written.
  const off = await runCli(args, { env: { ...env, CODE_INSIGHTS_COMPILE_CACHE: '0' } });
  assert.equal(state(off.stderr), undefined);
  assert.deepEqual(values(JSON.parse(off.stdout)), values(JSON.parse(first.stdout)));
});
