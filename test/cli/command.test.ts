// Black-box: `code-insights series --command` from the built command line, every point against
// the command run in a checkout of the point's commit; bad options stop with exit 2 before
// anything runs; `run` and `check` run the command insights of a definitions file found by
// default only with --allow-commands, and a named --config runs them; goals judge command series.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRepo, tempDir } from '../helpers/gitRepo';
import { ensureBuilt, hasStackTrace, revListBefore, runCli, runJson } from './cliHarness';

const END = '2026-02-09T00:00:00Z';
const WINDOW = ['--step', 'week', '--points', '6', '--end', END];
const DEPS = `node -e 'console.log(Object.keys(require("./package-lock.json").packages).length - 1)'`;
const lock = (n: number) => JSON.stringify({ packages: Object.fromEntries([['', {}], ...Array.from({ length: n }, (_, i) => [`node_modules/p${i}`, {}])]) });

let repo: TestRepo;
before(() => {
  ensureBuilt();
  repo = TestRepo.init();
  repo.commit('2026-01-05T10:00:00Z', { 'package-lock.json': lock(3), 'a.txt': 'a\n' });
  repo.commit('2026-01-19T10:00:00Z', { 'package-lock.json': lock(8) });
  repo.commit('2026-02-02T10:00:00Z', { 'a.txt': 'b\n' });
  repo.commit('2026-02-08T10:00:00Z', { 'package-lock.json': lock(12) }); // the head: over the goal below
  repo.git(['branch', 'base', 'HEAD~1']);
});

function oracle(commit: string, cmd: string): number {
  const dir = tempDir('ci-cmd-cli-oracle-');
  execFileSync('sh', ['-c', `git -C "$1" archive "$2" | tar -x -C "$3"`, 'sh', repo.dir, commit, dir]);
  return Number(execFileSync('sh', ['-c', cmd], { cwd: dir, encoding: 'utf8' }));
}

test('series --command: every point equals the command in a checkout of its commit; a rerun runs nothing', async () => {
  const dir = tempDir('ci-cmd-cli-');
  const cache = join(dir, 'cache.sqlite');
  const log = join(dir, 'log');
  const cmd = `echo x >> ${log}; ${DEPS}`;
  const out = await runJson(['series', repo.dir, '--command', cmd, '--label', 'deps', '--inputs', 'package-lock.json', ...WINDOW, '--cache', cache, '--stats']);
  assert.equal(out.series.length, 1);
  assert.equal(out.series[0].label, 'deps');
  assert.equal(out.series[0].points.length, 5);
  for (const p of out.series[0].points) {
    const commit = revListBefore(repo.dir, p.time)!;
    assert.equal(p.repos[0].commit, commit);
    assert.equal(p.value, oracle(commit, DEPS), p.time);
  }
  const runs = readFileSync(log, 'utf8').trim().split('\n').length;
  assert.equal(runs, 3, 'one run per distinct package-lock.json');
  const again = await runJson(['series', repo.dir, '--command', cmd, '--label', 'deps', '--inputs', 'package-lock.json', ...WINDOW, '--cache', cache]);
  assert.deepEqual(again.series, out.series);
  assert.equal(readFileSync(log, 'utf8').trim().split('\n').length, runs);
});

test('bad --command options stop with exit 2 and a message, before anything runs', async () => {
  const cases: [string[], RegExp][] = [
    [['--command', ''], /--command is empty/],
    [['--command', 'echo 1', '--timeout', '0'], /--timeout takes seconds above 0 and at most 3600/],
    [['--command', 'echo 1', '--timeout', '5000'], /--timeout takes seconds/],
    [['--command', 'echo 1', '-q', 'TODO'], /--query \(-q\) does not go with --command/],
    [['--command', 'echo 1', '--checkout'], /--checkout goes with --inputs/],
    [['-q', 'TODO', '--inputs', 'x'], /--inputs goes with --command/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(['series', repo.dir, ...args, '--no-cache']);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, message);
    assert.equal(hasStackTrace(r.stderr), false);
  }
  const timedOut = await runCli(['series', repo.dir, '--command', 'sleep 100', '--timeout', '0.3', '--points', '1', '--no-cache']);
  assert.equal(timedOut.code, 1);
  assert.match(timedOut.stderr, /sleep 100: the command gave no value at any sampled commit: timed out after 0\.3 s/);
});

test('run: a definitions file found by default runs its commands only with --allow-commands; a named one runs them', async () => {
  const work = tempDir('ci-cmd-run-');
  const marker = join(work, 'ran');
  mkdirSync(join(work, '.vscode'));
  writeFileSync(join(work, '.vscode', 'insights.json'), JSON.stringify({ insights: [
    { id: 'deps', title: 'Deps', kind: 'command', command: `touch ${marker}; ${DEPS}`, inputs: ['package-lock.json'], step: 'week', points: 2, end: END },
    { id: 'a', title: 'A', queries: ['a'], step: 'week', points: 2, end: END },
  ] }));
  const found = await runCli(['run', repo.dir, '--format', 'json', '--no-cache'], { cwd: work });
  assert.equal(found.code, 1);
  assert.match(found.stderr, /not run: .*insights\.json was found, not named: its command insight "deps" runs a shell command, so only with --allow-commands/);
  assert.equal(existsSync(marker), false, 'the command did not run');
  assert.deepEqual(JSON.parse(found.stdout).insights.map((i: { id: string }) => i.id), ['a']);
  for (const extra of [['--allow-commands'], ['--config', join(work, '.vscode', 'insights.json')]]) {
    const r = await runCli(['run', repo.dir, '--format', 'json', '--no-cache', ...extra], { cwd: work });
    assert.equal(r.code, 0, r.stderr);
    const deps = JSON.parse(r.stdout).insights.find((i: { id: string }) => i.id === 'deps');
    assert.deepEqual(deps.series[0].points.map((p: { value: number }) => p.value), [8, 12]);
  }
  assert.equal(existsSync(marker), true);
});

test('check: a max goal on a command series is judged at HEAD and the base; found by default it needs --allow-commands', async () => {
  const def = { insights: [{ id: 'deps', title: 'Deps', kind: 'command', command: DEPS, inputs: ['package-lock.json'], goal: { max: 10 } }] };
  mkdirSync(join(repo.dir, '.vscode'), { recursive: true });
  writeFileSync(join(repo.dir, '.vscode', 'insights.json'), JSON.stringify(def));
  const cache = join(tempDir('ci-cmd-check-'), 'cache.sqlite');
  const refused = await runCli(['check', repo.dir, '--base', 'base', '--cache', cache]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /command insight "deps" runs a shell command, so only with --allow-commands/);
  const r = await runCli(['check', repo.dir, '--base', 'base', '--cache', cache, '--allow-commands', '--format', 'json']);
  assert.equal(r.code, 1, r.stderr);
  const [s] = JSON.parse(r.stdout).series;
  assert.deepEqual([s.label, s.base, s.head, s.verdict], ['Deps', 8, 12, 'broken']);
});
