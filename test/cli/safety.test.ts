// Black-box: running the CLI over a repository must not let that repository's config execute
// programs; Ctrl-C stops promptly and leaves a cache that the next run can use; a run whose
// stderr is piped prints no progress noise.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { TestRepo, tempDir, GIT_ENV } from '../helpers/gitRepo';
import { ensureBuilt, runCli, runJson, BIN, revListBefore, gitGrepCount, hasStackTrace } from './cliHarness';

before(() => ensureBuilt());

test('a repository\'s own config cannot make the CLI run programs (fsmonitor, textconv, filters, external diff, hooks)', async () => {
  const r = TestRepo.init();
  r.commit('2026-02-01T10:00:00Z', { 'a.txt': 'TODO a\n', 'b.txt': 'TODO b\n' });
  r.commit('2026-02-05T10:00:00Z', { 'a.txt': 'TODO a\nTODO a2\n', '.gitattributes': '* diff=evil filter=evil\n' });
  const marker = join(tempDir('ci-pwned-'), 'pwned');
  const evil = join(tempDir('ci-evil-'), 'evil.sh');
  writeFileSync(evil, `#!/bin/sh\necho "$0 $*" >> ${marker}\ncat\n`);
  chmodSync(evil, 0o755);
  for (const [k, v] of [
    ['core.fsmonitor', evil], ['diff.evil.textconv', evil], ['diff.evil.command', evil], ['diff.external', evil],
    ['filter.evil.clean', evil], ['filter.evil.smudge', evil], ['filter.evil.process', evil], ['core.hooksPath', join(evil, '..')],
    ['core.pager', evil], ['uploadpack.packObjectsHook', evil], ['core.sshCommand', evil], ['core.editor', evil],
  ]) r.git(['config', k, v]);
  writeFileSync(join(evil, '..', 'post-index-change'), `#!/bin/sh\necho hook >> ${marker}\n`);
  chmodSync(join(evil, '..', 'post-index-change'), 0o755);
  const series = await runCli(['series', r.dir, '-q', 'TODO', '--step', 'day', '--points', '10', '--end', '2026-02-08T00:00:00Z', '--no-cache', '--format', 'json']);
  assert.equal(series.code, 0, series.stderr);
  const langs = await runCli(['languages', r.dir, '--at', '2026-02-08T00:00:00Z', '--no-cache', '--format', 'json']);
  assert.equal(langs.code, 0, langs.stderr);
  assert.ok(!existsSync(marker), `the repository's config ran a program: ${existsSync(marker) ? execFileSync('cat', [marker]).toString() : ''}`);
  const last = JSON.parse(series.stdout).series[0].points.at(-1);
  assert.equal(last.value, 3, 'counts the stored blobs, not a filter\'s or textconv\'s output');
});

/** A history big enough that a cold run takes a couple of seconds: 400 commits of ~200 KB blobs, via fast-import. */
function bigRepo(): string {
  const dir = join(tempDir('ci-big-'), 'r');
  execFileSync('git', ['init', '-q', '-b', 'main', dir], { env: GIT_ENV });
  const t0 = Date.parse('2025-01-01T00:00:00Z') / 1000;
  const parts: string[] = [];
  for (let i = 0; i < 400; i++) {
    const body = `TODO line ${i} ${'x'.repeat(60)}\n`.repeat(3000);
    parts.push(`commit refs/heads/main\ncommitter T <t@example.com> ${t0 + i * 72000} +0000\ndata 3\nc${i % 10}\nM 644 inline f${i % 50}.txt\ndata ${Buffer.byteLength(body)}\n${body}\n`);
  }
  execFileSync('git', ['-c', 'core.compression=1', 'fast-import', '--quiet', '--depth=0'], { cwd: dir, env: GIT_ENV, input: parts.join('') });
  return dir;
}

test('Ctrl-C stops promptly, says so without a stack trace, and the next run with the same cache is exact', async () => {
  const dir = bigRepo();
  const cache = join(tempDir('ci-sigint-'), 'cache.sqlite');
  const args = ['series', dir, '-q', 'TODO', '--count', 'lines', '--step', 'day', '--points', '400', '--end', '2026-01-01T00:00:00Z', '--cache', cache, '--format', 'json'];
  const child = spawn(process.execPath, [BIN, ...args], { env: GIT_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.resume();
  const exited = new Promise<{ code: number | null; at: number }>((res) => child.on('exit', (code) => res({ code, at: Date.now() })));
  // Ctrl-C once the CLI is at work (it has started git), not while Node is still starting up:
  // on a busy machine start-up alone can take longer than a fixed delay.
  const children = `/proc/${child.pid}/task/${child.pid}/children`;
  let finished = false;
  void exited.then(() => (finished = true));
  for (let waited = 0; waited < 15_000 && !finished; waited += 20) {
    if (existsSync(children) && readFileSync(children, 'utf8').trim()) break;
    await new Promise((res) => setTimeout(res, 20));
  }
  await new Promise((res) => setTimeout(res, 150));
  const sentAt = Date.now();
  child.kill('SIGINT');
  const { code, at } = await exited;
  process.stderr.write(`# Ctrl-C once git runs: exit ${code}, ${at - sentAt} ms later\n`);
  if (code === 0) {
    process.stderr.write('# the run finished before Ctrl-C arrived; only the cache check below is meaningful\n');
  } else {
    // How long stopping took is printed above, not judged: tests never assert wall-clock time.
    // Exit 130 shows the run stopped on the signal instead of finishing its work.
    assert.equal(code, 130, `exit code after Ctrl-C; stderr: ${stderr}`);
    assert.ok(!hasStackTrace(stderr), stderr);
  }
  const out = await runJson(args.slice(0, -2));
  const s = out.series[0];
  for (const p of s.points.filter((_, i) => i % 97 === 0 || i === s.points.length - 1)) {
    const c = revListBefore(dir, p.time);
    assert.equal(p.value, c ? gitGrepCount(dir, c, 'TODO', { count: 'lines' }) : 0, `after Ctrl-C, ${p.time}`);
  }
  assert.doesNotMatch(out.stderr, /corrupt|invalid|rebuil/i, 'the interrupted cache is valid');
});

test('with stderr piped (not a terminal), a successful run prints nothing to stderr', async () => {
  const r = TestRepo.init();
  r.commit('2026-02-01T10:00:00Z', { 'a.txt': 'TODO\n' });
  const res = await runCli(['series', r.dir, '-q', 'TODO', '--points', '3', '--end', '2026-03-01T00:00:00Z', '--no-cache', '--format', 'json']);
  assert.equal(res.code, 0);
  assert.equal(res.stderr, '', 'no progress output when piped');
});
