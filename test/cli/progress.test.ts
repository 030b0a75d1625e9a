// Progress on stderr when it is a terminal: what the line says (repos, commits, blobs, ETA), how
// often it is redrawn, and that it is gone when the run ends. The terminal test runs the real CLI
// under a real pseudo-terminal (util-linux `script`); the line's arithmetic is tested on its own
// with a fake clock, since a real run's ETA depends on the machine's speed.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProgressLine } from '../../server/cli/progress';
import type { Progress } from '../../protocol/insights';
import { TestRepo, tempDir, GIT_ENV } from '../helpers/gitRepo';
import { ensureBuilt, runJson, BIN } from './cliHarness';

const at = (phase: Progress['phase'], blobsDone: number, blobsTotal: number): Progress =>
  ({ phase, reposDone: 0, reposTotal: 1, commitsDone: 3, commitsTotal: 12, blobsDone, blobsTotal });

function fakeLine(columns?: number) {
  let t = 1_000_000;
  const out: string[] = [];
  const line = new ProgressLine({ enabled: true, intervalMs: 100, now: () => t, write: (s) => void out.push(s), columns: () => columns });
  return { line, out, advance: (ms: number) => void (t += ms) };
}

test('progress line: repos, commits and blobs; an ETA from the blob rate once a second has passed', () => {
  const { line, out, advance } = fakeLine();
  line.update(at('discover', 0, 0));
  assert.deepEqual(out, ['\r\x1b[2Kfinding repositories']);
  advance(500);
  line.update(at('blobs', 10, 40));
  assert.equal(out.at(-1), '\r\x1b[2Krepos 0/1 · commits 3/12 · blobs 10/40', 'no ETA within the first second');
  advance(1500); // 2 s in: 50 of 200 blobs is 25 per second, 150 to go
  line.update(at('blobs', 50, 200));
  assert.equal(out.at(-1), '\r\x1b[2Krepos 0/1 · commits 3/12 · blobs 50/200 · ETA 6s');
  advance(2000); // 4 s in: 20 of 10,000 is 5 per second, 9,980 to go: 1,996 s
  line.update(at('blobs', 20, 10_000));
  assert.equal(out.at(-1), '\r\x1b[2Krepos 0/1 · commits 3/12 · blobs 20/10000 · ETA 34m');
});

test('progress line: redrawn at most every interval; the end erases it even within one', () => {
  const { line, out, advance } = fakeLine();
  line.update(at('blobs', 1, 10));
  advance(50);
  line.update(at('blobs', 2, 10));
  assert.equal(out.length, 1, 'a redraw 50 ms after the last is skipped');
  advance(60);
  line.update(at('blobs', 3, 10));
  assert.equal(out.length, 2);
  assert.match(out[1], /blobs 3\/10$/);
  advance(1);
  line.update(at('done', 10, 10));
  assert.deepEqual(out.slice(2), ['\r\x1b[2K'], 'the line is erased, nothing is left on the terminal');
  line.clear();
  assert.equal(out.length, 3, 'erased once');
});

test('progress line: never wider than the terminal (a wrapped line could not be erased)', () => {
  const { line, out } = fakeLine(24);
  line.update(at('blobs', 123456, 654321));
  const text = out[0].replace('\r\x1b[2K', '');
  assert.ok(text.length < 24, `"${text}" fits in 24 columns`);
  assert.ok(text.startsWith('repos 0/1 · commits') && text.endsWith('…'));
});

test('progress line: nothing at all when stderr is not a terminal', () => {
  const out: string[] = [];
  const line = new ProgressLine({ enabled: false, write: (s) => void out.push(s) });
  line.update(at('blobs', 1, 2));
  line.clear();
  assert.deepEqual(out, []);
});

before(() => ensureBuilt());

test('on a real terminal, the CLI shows repos, commits and blobs on stderr, ends with the line erased, and stdout is the same answer as piped', async () => {
  const r = TestRepo.init();
  for (let i = 0; i < 8; i++) {
    r.commit(`2026-0${1 + Math.floor(i / 2)}-${10 + (i % 2) * 10}T10:00:00Z`, { [`f${i}.txt`]: `TODO ${i}\n`, 'shared.txt': `TODO\n`.repeat(i + 1) });
  }
  const args = ['series', r.dir, '-q', 'TO+DO', '--step', 'week', '--points', '20', '--end', '2026-05-01T00:00:00Z', '--no-cache', '--format', 'json'];
  const dir = tempDir('ci-tty-');
  const outFile = join(dir, 'stdout.json');
  const wrapper = join(dir, 'run.sh');
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  writeFileSync(wrapper, `exec ${[process.execPath, BIN, ...args].map(q).join(' ')} > ${q(outFile)}\n`);
  // `script` gives the command a pseudo-terminal and copies what it writes there (stderr only:
  // stdout goes to the file) to its own stdout; -e passes on the command's exit code.
  const tty = execFileSync('script', ['-q', '-e', '-c', `sh ${q(wrapper)}`, '/dev/null'], {
    env: { ...GIT_ENV, NO_COLOR: '1', CODE_INSIGHTS_PROGRESS_MS: '0', TERM: 'dumb' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  const piped = await runJson(args);
  const fromTty = JSON.parse(readFileSync(outFile, 'utf8')) as typeof piped;
  assert.deepEqual(fromTty.series, piped.series, 'the terminal changes nothing on stdout');

  const frames = tty.split('\r\x1b[2K');
  assert.equal(frames[0], '', 'every redraw starts by erasing the line');
  assert.equal(frames.at(-1), '', 'the last thing written erases the line');
  const lines = frames.slice(1, -1);
  assert.equal(lines[0], 'finding repositories');
  for (const l of lines.slice(1)) assert.match(l, /^repos \d+\/1 · commits \d+\/\d+ · blobs \d+\/\d+( · ETA \d+[sm])?$/);
  const commits = piped.stats!.commitsSampled;
  const last = lines.at(-1)!;
  assert.match(last, new RegExp(`^repos 1/1 · commits ${commits}/${commits} · blobs (\\d+)/\\1`), `the last line shows everything done: ${last}`);
  assert.ok(Number(/blobs (\d+)/.exec(last)![1]) >= piped.stats!.blobsRead && piped.stats!.blobsRead > 0);
  assert.ok(lines.some((l) => /commits 0\//.test(l)), 'a line before any commit was done');
});
