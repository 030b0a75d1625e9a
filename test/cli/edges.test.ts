// Black-box edge cases where an engine easily drifts from git: exact size and binary boundaries,
// line endings, empty matches, odd file names, gitlinks in a tree, the same repo reached twice,
// symlink loops, remote URLs with credentials, time zones.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { TestRepo, tempDir } from '../helpers/gitRepo';
import { ensureBuilt, runCli, runJson, revListBefore, gitGrepCount, hasStackTrace, describePoints, type GrepOptions } from './cliHarness';

const END = '2026-03-01T00:00:00Z';
const ONE = ['--points', '1', '--end', END, '--no-cache'];

before(() => ensureBuilt());

async function lastValue(dir: string, args: string[]): Promise<number> {
  const out = await runJson(['series', dir, ...args, ...ONE]);
  return out.series[0].points.at(-1)!.value;
}

async function assertLikeGit(dir: string, q: string, cli: string[] = [], grep: GrepOptions = {}, grepPattern = q): Promise<void> {
  const got = await lastValue(dir, ['-q', q, ...cli]);
  const want = gitGrepCount(dir, revListBefore(dir, END)!, grepPattern, grep);
  assert.equal(got, want, `${q} ${cli.join(' ')}: CLI ${got}, git grep ${want}`);
}

test('size limit is inclusive: a file of exactly the limit counts, one byte more does not (custom and default 1 MiB)', async () => {
  const r = TestRepo.init();
  const fill = (n: number) => Buffer.concat([Buffer.from('TODO\n'), Buffer.alloc(n - 5, 0x2e)]);
  r.commit('2026-02-01T10:00:00Z', { 'exact100.txt': fill(100), 'over100.txt': fill(101), 'exact1m.txt': fill(1 << 20), 'over1m.txt': fill((1 << 20) + 1) });
  await assertLikeGit(r.dir, 'TODO', ['--max-file-size', '100'], { maxFileSize: 100 });
  assert.equal(await lastValue(r.dir, ['-q', 'TODO', '--max-file-size', '100']), 1, 'only exact100.txt');
  await assertLikeGit(r.dir, 'TODO');
  assert.equal(await lastValue(r.dir, ['-q', 'TODO']), 3, 'default 1 MiB: all but over1m.txt');
  assert.equal(await lastValue(r.dir, ['-q', 'TODO', '--max-file-size', '0']), 4);
});

test('binary boundary: a NUL at byte 7999 makes a file binary, at byte 8000 it does not (as git decides)', async () => {
  const r = TestRepo.init();
  const withNulAt = (i: number) => { const b = Buffer.alloc(9000, 0x2e); b.write('TODO\n', 0); b[i] = 0; return b; };
  r.commit('2026-02-01T10:00:00Z', { 'nul7999.txt': withNulAt(7999), 'nul8000.txt': withNulAt(8000), 'empty.txt': '' });
  await assertLikeGit(r.dir, 'TODO');
  assert.equal(await lastValue(r.dir, ['-q', 'TODO']), 1, 'only nul8000.txt is text');
});

test('an empty-matching pattern: matches counts only non-empty ones (o* like o+); lines counts every line with a match, as git grep -c', async () => {
  const r = TestRepo.init();
  r.commit('2026-02-01T10:00:00Z', { 'a.txt': 'foo boo\nxyz\nooo o\n' });
  const got = await lastValue(r.dir, ['-q', 'o*']);
  assert.equal(got, gitGrepCount(r.dir, 'HEAD', 'o+'), 'non-empty, non-overlapping matches of o* are the runs of o');
  assert.equal(got, 4);
  // an empty match is still a match for "lines with at least one match" (git grep -c 'o*' counts xyz)
  await assertLikeGit(r.dir, 'o*', ['--count', 'lines'], { count: 'lines' });
});

test('lines end at \\n only: CRLF, a lone \\r and U+2028 inside a line anchor like git grep', async () => {
  const r = TestRepo.init();
  r.commit('2026-02-01T10:00:00Z', { 'crlf.txt': 'x TODO\r\nTODO\r\nTODO\n', 'cr.txt': 'a\rTODO here\nTODO\rTODO\n', 'ls.txt': 'a\u2028TODO\nTODO\u2028b\n' });
  for (const q of ['TODO$', '^TODO', '^TODO$']) {
    for (const mode of ['matches', 'lines'] as const) await assertLikeGit(r.dir, q, ['--count', mode], { count: mode });
  }
});

test('odd file names (spaces, unicode, quotes, tab, newline, leading dash) are counted', async () => {
  const r = TestRepo.init();
  r.commit('2026-02-01T10:00:00Z', {
    'dir with space/naïve ☃.txt': 'TODO 1\n',
    'quote"name.txt': 'TODO 2\n',
    'tab\tname.txt': 'TODO 3\n',
    'new\nline.txt': 'TODO 4\n',
    '-dash.txt': 'TODO 5\n',
    'plain.txt': 'TODO 6\n',
  });
  r.commit('2026-02-02T10:00:00Z', { 'new\nline.txt': 'TODO 4 TODO\n', 'dir with space/naïve ☃.txt': null, 'dir with space/renamed ☃.txt': 'TODO 1\n' });
  await assertLikeGit(r.dir, 'TODO');
  assert.equal(await lastValue(r.dir, ['-q', 'TODO']), 7);
  await assertLikeGit(r.dir, 'TODO', ['--include', '*.txt'], { pathFilter: (p) => p.endsWith('.txt') });
});

test('a gitlink (submodule entry) in the tree is skipped, not read, and is no error', async () => {
  const r = TestRepo.init();
  r.commit('2026-02-01T10:00:00Z', { 'a.txt': 'TODO\n' });
  // a submodule entry pointing at a commit this repository does not have
  r.git(['update-index', '--add', '--cacheinfo', `160000,${'1'.repeat(40)},vendored-sub`]);
  r.git(['commit', '-q', '-m', 'add gitlink'], { GIT_AUTHOR_DATE: '2026-02-02T10:00:00Z', GIT_COMMITTER_DATE: '2026-02-02T10:00:00Z' });
  const out = await runJson(['series', r.dir, '-q', 'TODO', ...ONE]);
  assert.equal(out.series[0].points[0].value, 1);
  assert.doesNotMatch(out.stderr, /error/i, out.stderr);
});

test('the same repository reached through two PATHs counts once', async () => {
  const top = tempDir('ci-twice-');
  const r = TestRepo.init(join(top, 'r'));
  r.commit('2026-02-01T10:00:00Z', { 'a.txt': 'TODO TODO\n' });
  const once = await runJson(['series', top, '-q', 'TODO', ...ONE]);
  const twice = await runJson(['series', top, r.dir, join(r.dir, '.'), '-q', 'TODO', ...ONE]);
  assert.equal(once.series[0].points[0].value, 2);
  assert.equal(twice.series[0].points[0].value, 2, `counted once: ${describePoints(twice.series[0].points)}`);
  assert.equal(twice.series[0].points[0].repos.length, 1);
});

test('a symlink loop in a searched folder does not hang discovery', async () => {
  const top = tempDir('ci-loop-');
  const r = TestRepo.init(join(top, 'r'));
  r.commit('2026-02-01T10:00:00Z', { 'a.txt': 'TODO\n' });
  symlinkSync(top, join(top, 'loop'));
  symlinkSync('loop2', join(top, 'loop2'));
  const res = await runCli(['series', top, '-q', 'TODO', ...ONE, '--format', 'json'], { timeoutMs: 20_000 });
  assert.equal(res.code, 0, res.stderr);
  const p = JSON.parse(res.stdout).series[0].points[0];
  assert.equal(p.value, 1, 'the repo is found once, not again through the loop');
});

test('a folder without any repository: a clear message and a non-zero exit', async () => {
  const top = tempDir('ci-norepo-');
  const res = await runCli(['series', top, '-q', 'TODO', ...ONE, '--format', 'json']);
  assert.notEqual(res.code, 0, res.stdout);
  assert.match(res.stderr, /no (git )?repositor/i, res.stderr);
  assert.ok(!hasStackTrace(res.stderr));
});

test('origin URLs are normalised to host/owner/name, and credentials in them never reach the output', async () => {
  const cases: [string, string][] = [
    ['https://x-access-token:s3cr3tT0ken@github.com/acme/widgets.git', 'github.com/acme/widgets'],
    ['https://github.com/acme/widgets', 'github.com/acme/widgets'],
    ['https://github.com/acme/widgets/', 'github.com/acme/widgets'],
    ['ssh://git@github.com:22/acme/widgets.git', 'github.com/acme/widgets'],
    ['git@github.com:acme/widgets.git', 'github.com/acme/widgets'],
    ['https://GitHub.com/acme/widgets.git', 'github.com/acme/widgets'],
  ];
  const r = TestRepo.init();
  r.commit('2026-02-01T10:00:00Z', { 'a.txt': 'TODO\n' });
  r.git(['remote', 'add', 'origin', cases[0][0]]);
  for (const [url, identity] of cases) {
    r.git(['remote', 'set-url', 'origin', url]);
    for (const format of url === cases[0][0] ? ['json', 'csv', 'table'] : ['json']) {
      const res = await runCli(['series', r.dir, '-q', 'TODO', ...ONE, '--format', format]);
      assert.equal(res.code, 0, res.stderr);
      assert.ok(!/s3cr3tT0ken/.test(res.stdout + res.stderr), `credentials leaked in ${format} for ${url}`);
      if (format === 'json') assert.equal(JSON.parse(res.stdout).series[0].points[0].repos[0].repo, identity, url);
    }
  }
});

test('--end with a time-zone offset means that instant; the end point is printed in UTC', async () => {
  const r = TestRepo.init();
  r.commit('2026-02-27T10:00:00Z', { 'a.txt': 'TODO\n' });
  const out = await runJson(['series', r.dir, '-q', 'TODO', '--step', 'month', '--points', '2', '--end', '2026-03-01T01:30:00+02:00', '--no-cache']);
  assert.deepEqual(out.series[0].points.map((p) => p.time), ['2026-02-01T00:00:00.000Z', '2026-02-28T23:30:00.000Z']);
});

test('commits with a local time-zone offset are bucketed by their UTC instant, as rev-list does', async () => {
  const r = TestRepo.init();
  r.commit('2026-01-15T10:00:00Z', { 'a.txt': 'TODO\n' });
  r.commit('2026-03-01T01:00:00+02:00', { 'b.txt': 'TODO\n' }); // Feb 28, 23:00 UTC: before the March boundary
  r.commit('2026-02-28T20:00:00-05:00', { 'c.txt': 'TODO\n' }); // Mar 1, 01:00 UTC: after it
  const out = await runJson(['series', r.dir, '-q', 'TODO', '--step', 'month', '--points', '3', '--end', '2026-03-15T00:00:00Z', '--no-cache']);
  for (const p of out.series[0].points) {
    const c = revListBefore(r.dir, p.time);
    assert.equal(p.repos[0]?.commit, c, `${p.time}: ${describePoints(out.series[0].points)}`);
    assert.equal(p.value, c ? gitGrepCount(r.dir, c, 'TODO') : 0);
  }
  assert.equal(out.series[0].points[1].value, 2, 'the +02:00 commit belongs before March 1st UTC');
});

test('--literal with --ignore-case: plain text, any case', async () => {
  const r = TestRepo.init();
  r.commit('2026-02-01T10:00:00Z', { 'a.txt': 'A.B a.b axb A.b\n(X) (x)\n' });
  await assertLikeGit(r.dir, 'a.b', ['--literal', '--ignore-case'], { literal: true, ignoreCase: true });
  assert.equal(await lastValue(r.dir, ['-q', 'a.b', '--literal', '-i']), 3);
  await assertLikeGit(r.dir, '(x)', ['--literal', '--ignore-case'], { literal: true, ignoreCase: true });
});

test('capture without a capture group: a clear error naming the query', async () => {
  const r = TestRepo.init();
  r.commit('2026-02-01T10:00:00Z', { 'a.txt': 'TODO\n' });
  const res = await runCli(['capture', r.dir, '-q', 'TODO', ...ONE, '--format', 'json']);
  assert.notEqual(res.code, 0, `stdout: ${res.stdout.slice(0, 300)}`);
  assert.match(res.stderr, /group/i);
  assert.match(res.stderr, /TODO/);
  assert.ok(!hasStackTrace(res.stderr));
});

test('a match never spans a line break, whatever the pattern (\\s, negated classes, \\n, [\\s\\S])', async () => {
  const r = TestRepo.init();
  r.commit('2026-02-01T10:00:00Z', { 'a.txt': 'TODO\nFIXME\nTODO x\r\nFIXME\nA\n\nB\n' });
  const patterns = ['TODO\\s+FIXME', 'TODO[^!]*FIXME', 'TODO\\nFIXME', 'A\\W+B', '[\\s\\S]+', 'TODO.*', 'x\\s*$'];
  await Promise.all(patterns.flatMap((q) => (['matches', 'lines'] as const).map((mode) => assertLikeGit(r.dir, q, ['--count', mode], { count: mode }))));
  assert.equal(await lastValue(r.dir, ['-q', '[\\s\\S]+']), 6, 'one match per non-empty line');
});

test('.gitattributes (binary, -diff, -text, a diff driver) do not change what counts: binary means a NUL byte', async () => {
  const r = TestRepo.init();
  r.commit('2026-02-01T10:00:00Z', {
    '.gitattributes': '*.dat binary\n*.txt -diff\n*.log diff=foo\n*.bin -text\n',
    'a.dat': 'TODO in dat\n', 'b.txt': 'TODO in txt\n', 'c.log': 'TODO in log\n', 'd.bin': 'TODO in bin\n', 'e.md': 'TODO\n',
  });
  r.git(['config', 'diff.foo.binary', 'true']);
  for (const q of ['TODO', 'T[O]DO', 'TO+DO']) assert.equal(await lastValue(r.dir, ['-q', q]), 5, `${q}: every file is text by its bytes`);
  assert.equal(await lastValue(r.dir, ['-q', 'TODO', '--literal', '--count', 'files']), 5);
});

test('--ignore-case folds non-ASCII letters as JavaScript does (literal and regex)', async () => {
  const r = TestRepo.init();
  const text = 'CAFÉ au lait\nÜBER alles\nstraße\nnaïve NAÏVE\n';
  r.commit('2026-02-01T10:00:00Z', { 'a.txt': text });
  const js = (q: string, literal: boolean) => text.split('\n').reduce((n, line) => n + (line.match(new RegExp(literal ? q.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : q, 'gi')) ?? []).length, 0);
  for (const [q, literal] of [['café', true], ['café', false], ['über', true], ['ü', true], ['NAÏVE', true], ['na.ve', false], ['STRASSE', true]] as [string, boolean][]) {
    const got = await lastValue(r.dir, ['-q', q, '-i', ...(literal ? ['--literal'] : [])]);
    assert.equal(got, js(q, literal), `-i ${literal ? '--literal ' : ''}${q}`);
  }
  assert.equal(await lastValue(r.dir, ['-q', 'naïve', '-i', '--literal']), 2);
});

test('a repo with a commit but no match contributes an entry of 0 (unlike a point before its history)', async () => {
  const r = TestRepo.init();
  r.commit('2026-02-01T10:00:00Z', { 'a.txt': 'nothing here\n' });
  const out = await runJson(['series', r.dir, '-q', 'TODO', '--step', 'month', '--points', '2', '--end', END, '--no-cache']);
  const [jan, end] = out.series[0].points;
  assert.deepEqual(jan.repos, [], 'Feb 1st 00:00 lies before the first commit');
  assert.equal(end.repos.length, 1);
  assert.equal(end.repos[0].value, 0);
  assert.equal(end.repos[0].commit, r.head());
});
