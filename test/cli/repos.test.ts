// Black-box: which repositories a PATH means (working trees, bare, folders of repos, nested
// ones), how they are summed and named, and the awkward ones: no commits, detached HEAD, shallow
// clones, a local branch other than origin/HEAD — plus stable series ids and no git on PATH.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { TestRepo, tempDir, git, GIT_ENV, shallowClone } from '../helpers/gitRepo';
import { ensureBuilt, runCli, runJson, revListBefore, gitGrepCount, describePoints, hasStackTrace, type SeriesOutput } from './cliHarness';

const END = '2026-03-04T12:00:00Z';
const WINDOW = ['--step', 'week', '--points', '6', '--end', END, '--no-cache'];

function makeRepo(dir: string, tag: string): TestRepo {
  const r = TestRepo.init(dir);
  r.commit('2026-02-02T10:00:00Z', { 'a.txt': `TODO ${tag}\n` });
  r.commit('2026-02-10T10:00:00Z', { 'b.txt': `TODO ${tag} TODO\n` });
  r.commit('2026-02-17T10:00:00Z', { 'a.txt': `TODO ${tag}\nTODO again\n` });
  r.commit('2026-02-24T10:00:00Z', { 'c.txt': `TODO ${tag} c\n` });
  return r;
}

let widgets: TestRepo;
let gadgets: TestRepo;
let folder: string;

before(() => {
  ensureBuilt();
  folder = tempDir('ci-folder-');
  widgets = makeRepo(join(folder, 'widgets'), 'w');
  widgets.commit('2026-03-02T10:00:00Z', { 'd.txt': 'TODO TODO TODO\n' }); // the two repos differ
  widgets.git(['remote', 'add', 'origin', 'https://github.com/acme/widgets.git']);
  gadgets = makeRepo(join(folder, 'gadgets'), 'g');
  gadgets.git(['remote', 'add', 'origin', 'git@github.com:acme/gadgets.git']);
});

/** Per repo (by working tree), every point: commit = rev-list, value = git grep -o. */
function assertRepoPoints(out: SeriesOutput, dirs: Record<string, string>, rev = 'HEAD'): void {
  const s = out.series[0];
  for (const p of s.points) {
    let sum = 0;
    for (const [identity, dir] of Object.entries(dirs)) {
      const commit = revListBefore(dir, p.time, rev);
      const entry = p.repos.find((r) => r.repo === identity);
      if (!commit) {
        assert.equal(entry, undefined, `${identity} has no commit at ${p.time}: no entry; ${describePoints(s.points)}`);
        continue;
      }
      assert.ok(entry, `${identity} at ${p.time} missing; repos: ${p.repos.map((r) => r.repo).join(', ')}`);
      assert.equal(entry.commit, commit, `${identity} commit at ${p.time}`);
      const want = gitGrepCount(dir, commit, 'TODO');
      assert.equal(entry.value, want, `${identity} value at ${p.time}`);
      sum += want;
    }
    assert.equal(p.repos.length, Object.values(dirs).filter((d) => revListBefore(d, p.time, rev)).length, `repos at ${p.time}`);
    assert.equal(p.value, sum, `value at ${p.time} is the sum over repos; ${describePoints(s.points)}`);
  }
}

test('a folder of two repos: values summed, per-repo values kept, identity = origin host/owner/name', async () => {
  const out = await runJson(['series', folder, '-q', 'TODO', ...WINDOW]);
  assertRepoPoints(out, { 'github.com/acme/widgets': widgets.dir, 'github.com/acme/gadgets': gadgets.dir });
  const last = out.series[0].points.at(-1)!;
  assert.equal(last.repos.length, 2);
});

test('two PATH arguments are the same as their folder', async () => {
  const a = await runJson(['series', widgets.dir, gadgets.dir, '-q', 'TODO', ...WINDOW]);
  const b = await runJson(['series', folder, '-q', 'TODO', ...WINDOW]);
  assert.deepEqual(a.series[0].points.map((p) => p.value), b.series[0].points.map((p) => p.value));
});

test('without origin, a repo\'s identity is the same for every clone of it (root-commit based) and differs between repos', async () => {
  const c1 = join(tempDir('ci-clone-'), 'one');
  const c2 = join(tempDir('ci-clone-'), 'elsewhere');
  for (const c of [c1, c2]) {
    git(folder, ['clone', '-q', widgets.dir, c]);
    git(c, ['remote', 'remove', 'origin']);
  }
  const [o1, o2, og] = await Promise.all([c1, c2].map((c) => runJson(['series', c, '-q', 'TODO', ...WINDOW])).concat([
    (async () => { const d = join(tempDir('ci-clone-'), 'g'); git(folder, ['clone', '-q', gadgets.dir, d]); git(d, ['remote', 'remove', 'origin']); return runJson(['series', d, '-q', 'TODO', ...WINDOW]); })(),
  ]));
  const id1 = o1.series[0].points.at(-1)!.repos[0].repo;
  const id2 = o2.series[0].points.at(-1)!.repos[0].repo;
  const idg = og.series[0].points.at(-1)!.repos[0].repo;
  assert.equal(id1, id2, 'the same history in two folders is the same repo');
  assert.notEqual(id1, idg, 'different histories are different repos');
  assert.ok(!id1.includes(c1) && !id1.includes('/tmp/'), `identity must not be the local path: ${id1}`);
});

test('a bare repository gives the same series as its working tree', async () => {
  const bare = join(tempDir('ci-bare-'), 'widgets.git');
  git(folder, ['clone', '-q', '--bare', widgets.dir, bare]);
  const fromBare = await runJson(['series', bare, '-q', 'TODO', ...WINDOW]);
  const fromTree = await runJson(['series', widgets.dir, '-q', 'TODO', ...WINDOW]);
  const strip = (o: SeriesOutput) => o.series[0].points.map((p) => ({ time: p.time, value: p.value, commits: p.repos.map((r) => r.commit) }));
  assert.deepEqual(strip(fromBare), strip(fromTree));
  assert.ok(fromBare.series[0].points.at(-1)!.value > 0);
});

test('nested repositories in a folder are both found and counted separately', async () => {
  const top = tempDir('ci-nested-');
  const outer = makeRepo(join(top, 'outer'), 'outer');
  outer.commit('2026-02-25T10:00:00Z', { '.gitignore': 'inner/\n' });
  const inner = makeRepo(join(outer.dir, 'inner'), 'inner');
  inner.commit('2026-02-26T10:00:00Z', { 'x.txt': 'TODO x TODO x TODO x\n' });
  outer.git(['remote', 'add', 'origin', 'https://example.com/acme/outer.git']);
  inner.git(['remote', 'add', 'origin', 'https://example.com/acme/inner.git']);
  const out = await runJson(['series', top, '-q', 'TODO', ...WINDOW]);
  assertRepoPoints(out, { 'example.com/acme/outer': outer.dir, 'example.com/acme/inner': inner.dir });
});

test('a repo with no commits alone: an actionable message on stderr, no stack trace', async () => {
  const empty = TestRepo.init(join(tempDir('ci-empty-'), 'empty'));
  const r = await runCli(['series', empty.dir, '-q', 'TODO', ...WINDOW, '--format', 'json']);
  assert.match(r.stderr, /no commits|empty|unborn/i, `stderr: ${r.stderr}`);
  assert.ok(r.stderr.includes(empty.dir) || r.stderr.includes('empty'), `the message names the repo: ${r.stderr}`);
  assert.ok(!hasStackTrace(r.stderr), r.stderr);
  if (r.code === 0) {
    // allowed: a warning and a series of zeros
    const out = JSON.parse(r.stdout) as SeriesOutput;
    assert.ok(out.series[0].points.every((p) => p.value === 0 && p.repos.length === 0));
  }
});

test('a folder with an empty repo and a real one still gives the real one\'s series', async () => {
  const top = tempDir('ci-mixed-');
  TestRepo.init(join(top, 'empty'));
  const real = makeRepo(join(top, 'real'), 'r');
  real.git(['remote', 'add', 'origin', 'https://github.com/acme/real.git']);
  const r = await runCli(['series', top, '-q', 'TODO', ...WINDOW, '--format', 'json']);
  assert.equal(r.code, 0, `one repo could be computed, so the run succeeds; stderr: ${r.stderr}`);
  assert.match(r.stderr, /no commits|empty|unborn/i, `the empty repo is mentioned: ${r.stderr}`);
  assert.ok(!hasStackTrace(r.stderr));
  assertRepoPoints({ ...JSON.parse(r.stdout) }, { 'github.com/acme/real': real.dir });
});

test('detached HEAD: history is sampled from the detached commit, without error', async () => {
  const d = join(tempDir('ci-detached-'), 'w');
  git(folder, ['clone', '-q', widgets.dir, d]);
  git(d, ['remote', 'remove', 'origin']);
  const target = git(d, ['rev-parse', 'HEAD~2']).trim();
  git(d, ['checkout', '-q', '--detach', target]);
  const r = await runCli(['series', d, '-q', 'TODO', ...WINDOW, '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!hasStackTrace(r.stderr));
  const out = JSON.parse(r.stdout) as SeriesOutput;
  const id = out.series[0].points.at(-1)!.repos[0].repo;
  assertRepoPoints(out, { [id]: d });
  assert.equal(out.series[0].points.at(-1)!.repos[0].commit, target);
});

test('the default branch is origin/HEAD where it exists, not a local branch that is checked out', async () => {
  const c = join(tempDir('ci-originhead-'), 'w');
  git(folder, ['clone', '-q', widgets.dir, c]);
  const clone = new TestRepo(c);
  clone.git(['checkout', '-q', '-b', 'work']);
  clone.commit('2026-03-03T10:00:00Z', { 'work.txt': 'TODO work TODO work\n' });
  assert.equal(clone.git(['symbolic-ref', 'refs/remotes/origin/HEAD']).trim(), 'refs/remotes/origin/main');
  const out = await runJson(['series', c, '-q', 'TODO', ...WINDOW]);
  const id = out.series[0].points.at(-1)!.repos[0].repo;
  assertRepoPoints(out, { [id]: c }, 'origin/HEAD');
  assert.notEqual(out.series[0].points.at(-1)!.repos[0].commit, clone.head(), 'the local work branch is not sampled');
});

test('a shallow clone: points inside the history are exact, and stderr says where history is cut', async () => {
  const c = shallowClone(widgets.dir);
  const cut = git(c, ['rev-parse', 'HEAD~1']).trim(); // the oldest commit the clone has
  const r = await runCli(['series', c, '-q', 'TODO', ...WINDOW, '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!hasStackTrace(r.stderr));
  assert.match(r.stderr, /shallow/i, `stderr must say the clone is shallow: ${r.stderr}`);
  const cutDate = git(c, ['log', '-1', '--format=%cI', cut]).trim().slice(0, 10);
  assert.ok(r.stderr.includes(cut.slice(0, 7)) || r.stderr.includes(cutDate), `stderr must say where history is cut (${cut.slice(0, 7)} / ${cutDate}): ${r.stderr}`);
  const out = JSON.parse(r.stdout) as SeriesOutput;
  const id = out.series[0].points.at(-1)!.repos[0].repo;
  assertRepoPoints(out, { [id]: c });
});

test('the same definition has the same id across runs and repos; the label is not part of it; query, count, flags, filters and size limit are', async () => {
  const ONE = ['--points', '1', '--end', END, '--no-cache'];
  const id = async (path: string, extra: string[] = []) => (await runJson(['series', path, '-q', 'TODO', ...ONE, ...extra])).series[0].id;
  const base = await id(widgets.dir);
  assert.match(base, /\S{8,}/);
  assert.equal(await id(widgets.dir), base, 'same run twice');
  assert.equal(await id(gadgets.dir), base, 'another repository');
  assert.equal(await id(folder, ['--label', 'my todos']), base, 'a label names a series, it does not define it');
  const variants = [['-q', 'FIXME'], ['--count', 'lines'], ['--ignore-case'], ['--literal'], ['--include', '*.ts'], ['--exclude', '*.md'], ['--max-file-size', '1000']];
  const ids = new Set([base]);
  const outs = await Promise.all(variants.map((v) => runJson(['series', widgets.dir, ...(v[0] === '-q' ? v : ['-q', 'TODO', ...v]), ...ONE])));
  for (const out of outs) ids.add(out.series[0].id);
  assert.equal(ids.size, variants.length + 1, 'every change of definition changes the id');
});

test('no git on PATH: a clear message naming git, non-zero exit, no stack trace', async () => {
  const bin = tempDir('ci-nogit-');
  writeFileSync(join(bin, 'README'), 'a PATH without git\n');
  mkdirSync(join(bin, 'sub'));
  symlinkSync('/bin/sh', join(bin, 'sh'));
  const r = await runCli(['series', widgets.dir, '-q', 'TODO', ...WINDOW, '--format', 'json'], { env: { ...GIT_ENV, PATH: bin } });
  assert.notEqual(r.code, 0, `stdout: ${r.stdout}`);
  assert.match(r.stderr, /\bgit\b/i);
  assert.match(r.stderr, /PATH|install|not found/i, `actionable: ${r.stderr}`);
  assert.ok(!hasStackTrace(r.stderr), r.stderr);
});

test('two checkouts of the same repository (same identity) give one entry per point: the newer commit wins, not a double count', async () => {
  const top = tempDir('ci-samerepo-');
  const ahead = join(top, 'widgets');
  const behind = join(top, 'widgets-old-copy');
  for (const d of [ahead, behind]) {
    git(top, ['clone', '-q', widgets.dir, d]);
    git(d, ['remote', 'set-url', 'origin', 'https://github.com/acme/widgets.git']);
  }
  git(behind, ['reset', '-q', '--hard', 'HEAD~2']);
  git(behind, ['update-ref', 'refs/remotes/origin/main', 'HEAD']); // its origin/HEAD is behind too
  const out = await runJson(['series', top, '-q', 'TODO', ...WINDOW]);
  for (const p of out.series[0].points) {
    const entries = p.repos.filter((r) => r.repo === 'github.com/acme/widgets');
    assert.ok(entries.length <= 1, `one entry per repo identity at ${p.time}, got ${entries.length}: ${describePoints(out.series[0].points)}`);
    const want = revListBefore(ahead, p.time, 'origin/HEAD');
    if (!want) continue;
    assert.equal(entries[0]?.commit, want, `the newer commit wins at ${p.time}`);
    assert.equal(p.value, gitGrepCount(ahead, want, 'TODO'), `not summed twice at ${p.time}`);
  }
});

test('forks sharing blobs, run concurrently (cold cache, warm cache, no cache): every repo\'s values are its own', async () => {
  const top = tempDir('ci-forks-');
  const base = makeRepo(join(tempDir('ci-base-'), 'base'), 'base');
  const dirs: Record<string, string> = {};
  for (let i = 0; i < 5; i++) {
    const d = join(top, `fork${i}`);
    git(top, ['clone', '-q', base.dir, d]);
    git(d, ['remote', 'set-url', 'origin', `https://example.com/forks/fork${i}.git`]);
    const f = new TestRepo(d);
    // forks 0-2 add the same blob (shared across repos), the others their own
    f.commit(`2026-02-2${5 + (i % 3)}T10:00:00Z`, { 'shared.txt': i < 3 ? 'TODO shared TODO\n' : `TODO own ${i}\n`.repeat(i) });
    if (i % 2) f.commit('2026-03-01T10:00:00Z', { 'a.txt': null });
    f.git(['update-ref', 'refs/remotes/origin/main', 'HEAD']); // as if pushed: origin/HEAD is the fork's tip
    dirs[`example.com/forks/fork${i}`] = d;
  }
  const cache = join(tempDir('ci-forks-cache-'), 'cache.sqlite');
  for (const c of [['--cache', cache], ['--cache', cache], ['--no-cache']]) {
    const out = await runJson(['series', top, '-q', 'TODO', '--step', 'week', '--points', '6', '--end', END, ...c]);
    assertRepoPoints(out, dirs, 'origin/HEAD');
  }
});

test('a SHA-256 repository: exact values, with git grep counting and ruling out blobs there as in a SHA-1 one', async () => {
  const r = TestRepo.init(join(tempDir('ci-sha256-'), 's'), 'main', 'sha256');
  r.commit('2026-02-02T10:00:00Z', { 'a.txt': 'TODO a\n', 'none.txt': 'nothing\n' });
  r.commit('2026-02-17T10:00:00Z', { 'a.txt': 'TODO a\nTODO again TODO\n', 'b.txt': 'x TODO\n' });
  assert.equal(r.head().length, 64);
  // Small repositories still take the git grep paths.
  const env = { ...GIT_ENV, NO_COLOR: '1', CODE_INSIGHTS_GREP_MIN_BLOBS: '1' };
  const literal = await runJson(['series', r.dir, '-q', 'TODO', ...WINDOW], { env });
  assertRepoPoints(literal, { [literal.series[0].points.at(-1)!.repos[0].repo]: r.dir });
  assert.ok(literal.stats!.blobsCountedByGit > 0, `git grep counted the literal: ${JSON.stringify(literal.stats)}`);
  const regex = await runJson(['series', r.dir, '-q', 'TO+DO', ...WINDOW], { env });
  assertRepoPoints(regex, { [regex.series[0].points.at(-1)!.repos[0].repo]: r.dir });
  assert.ok(regex.stats!.blobsRuledOut > 0, `git grep ruled blobs out: ${JSON.stringify(regex.stats)}`);
});
