// Black-box: `git replace`. In a repository with refs/replace/, an object id reads as its
// replacement everywhere git reads it (git grep too), while the same id elsewhere is the
// original. The cache is keyed by ids and shared by every repository, so a repository that
// replaces objects must neither feed it nor be fed by it; and a replace ref made after a run,
// at the same HEAD, must be seen by the next run. Every value is compared with git grep in the
// repository it belongs to.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GIT_ENV, TestRepo, tempDir } from '../helpers/gitRepo';
import { ensureBuilt, runCli, revListBefore, gitGrepCount, type SeriesOutput } from './cliHarness';

const END = '2026-01-20T00:00:00Z';
const WINDOW = ['--step', 'day', '--points', '12', '--end', END];
// Small repositories still take the git grep paths (literal counts by git, the prefilter).
const ENV = { ...GIT_ENV, NO_COLOR: '1', CODE_INSIGHTS_GREP_MIN_BLOBS: '1' };
// A plain literal alone is counted by git grep; a regex with a required literal is prefiltered by it.
const QUERIES = ['TODO', 'TO+DO'];

before(() => ensureBuilt());

/** Two repositories whose histories hold the same blob (shared.txt's first version). */
function twoRepos(): [TestRepo, TestRepo, string] {
  const mk = (name: string, day: number) => {
    const r = TestRepo.init(join(tempDir('ci-replace-'), name));
    r.commit(`2026-01-${String(day).padStart(2, '0')}T10:00:00Z`, { 'shared.txt': 'TODO one\nTODO two\n', [`${name}.txt`]: `TODO ${name}\n` });
    r.commit(`2026-01-${String(day + 4).padStart(2, '0')}T10:00:00Z`, { [`${name}.txt`]: `TODO ${name}\nTODO again\n` });
    return r;
  };
  const a = mk('a', 9);
  const b = mk('b', 10);
  const blob = a.git(['rev-parse', 'HEAD:shared.txt']).trim();
  assert.equal(b.git(['rev-parse', 'HEAD:shared.txt']).trim(), blob, 'the same blob in both');
  return [a, b, blob];
}

/** Writes a blob of `text` into `r`'s objects; its id. */
function blobOf(r: TestRepo, text: string): string {
  const file = join(tempDir('ci-replace-blob-'), 'blob');
  writeFileSync(file, text);
  return r.git(['hash-object', '-w', file]).trim();
}

async function runAndCheck(r: TestRepo, cache: string, what: string): Promise<{ stderr: string }> {
  let stderr = '';
  for (const q of QUERIES) {
    const res = await runCli(['series', r.dir, '-q', q, ...WINDOW, '--count', 'lines', '--cache', cache, '--format', 'json'], { env: ENV });
    assert.equal(res.code, 0, res.stderr);
    stderr += res.stderr;
    const out = JSON.parse(res.stdout) as SeriesOutput;
    for (const p of out.series[0].points) {
      const c = revListBefore(r.dir, p.time);
      assert.equal(p.value, c ? gitGrepCount(r.dir, c, q, { count: 'lines' }) : 0, `${what}: ${q} at ${p.time}`);
    }
  }
  return { stderr };
}

test('git replace: a repository that replaces a blob shares no cached count with one that has the original, in either order; each equals git grep', async () => {
  const [a, b, blob] = twoRepos();
  const five = blobOf(a, 'TODO 1\nTODO 2\nTODO 3\nTODO 4\nTODO 5\n');
  a.git(['replace', blob, five]);
  assert.equal(gitGrepCount(a.dir, 'HEAD', 'TODO', { count: 'lines', literal: true }), 7, 'git grep in a sees the replacement');
  assert.equal(gitGrepCount(b.dir, 'HEAD', 'TODO', { count: 'lines', literal: true }), 4, 'and in b the original');
  for (const order of [[b, a], [a, b]]) {
    const cache = join(tempDir('ci-replace-cache-'), 'cache.sqlite');
    for (const round of [1, 2]) {
      for (const r of order) {
        const out = await runAndCheck(r, cache, `${r === a ? 'a (replaced)' : 'b'}, round ${round}, ${order[0] === a ? 'a first' : 'b first'}`);
        if (r === a) assert.match(out.stderr, /replace refs/, 'the user is told why a is not cached');
        else assert.equal(out.stderr, '');
      }
    }
  }
});

test('git replace: a replace ref made after a run, at the same HEAD, is seen by the next run; removed again, the cache serves again', async () => {
  const [a, , blob] = twoRepos();
  const cache = join(tempDir('ci-replace-cache-'), 'cache.sqlite');
  await runAndCheck(a, cache, 'before');
  await runAndCheck(a, cache, 'before, rerun');
  const three = blobOf(a, 'TODO x\nnothing\nTODO y\nTODO z\n');
  a.git(['replace', blob, three]);
  await runAndCheck(a, cache, 'after git replace');
  a.git(['replace', '-d', blob]);
  await runAndCheck(a, cache, 'after git replace -d');
  // Packed replace refs count as well.
  a.git(['replace', blob, three]);
  a.git(['pack-refs', '--all']);
  await runAndCheck(a, cache, 'packed replace ref');
});

test('info/grafts (deprecated, still honoured by git): a graft made after a run, at the same HEAD, changes the commits of the next run as it changes rev-list', async () => {
  const r = TestRepo.init(join(tempDir('ci-grafts-'), 'g'));
  for (const day of ['05', '09', '13']) r.commit(`2026-01-${day}T10:00:00Z`, { 'f.txt': `TODO ${day}\n`.repeat(Number(day)) });
  const cache = join(tempDir('ci-grafts-cache-'), 'cache.sqlite');
  const args = ['series', r.dir, '-q', 'TODO', '--step', 'day', '--points', '10', '--end', '2026-01-14T00:00:00Z', '--cache', cache, '--format', 'json'];
  const check = async (what: string) => {
    const res = await runCli(args, { env: ENV });
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout) as SeriesOutput;
    for (const p of out.series[0].points) {
      const c = revListBefore(r.dir, p.time);
      assert.equal(p.repos[0]?.commit, c, `${what}: commit at ${p.time}`);
      assert.equal(p.value, c ? gitGrepCount(r.dir, c, 'TODO') : 0, `${what}: value at ${p.time}`);
    }
    return res.stderr;
  };
  await check('before');
  await check('before, rerun');
  // HEAD's parent becomes the first commit: the second leaves the first-parent chain.
  writeFileSync(join(r.dir, '.git', 'info', 'grafts'), `${r.git(['rev-parse', 'HEAD']).trim()} ${r.git(['rev-parse', 'HEAD~2']).trim()}\n`);
  assert.match(await check('grafted'), /grafts/);
});
