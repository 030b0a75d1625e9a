// The `code-insights check` benchmark: `node bench/check.mjs [PATH] [--reps N]` (after a build).
// On a working tree cloned from the generated repository (or PATH, any repository with a main or
// master branch), a branch one commit ahead of main that adds matches: `check` (3 series with
// goals, one ratchet broken) cold, into an empty cache, and warm (N runs, median), side by side
// with `node -e 0` and a warm `series --points 1` over the same 3 queries at HEAD (the run
// layer's floor for one point). Checks that the check's head and base values equal `series` at
// those commits. See bench/README.md.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchRepo } from './genRepo.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'bin', 'code-insights.js');
const QUERIES = ['TODO', 'FIXME', 'HACK'];

function fail(msg) {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
let reps = 5;
let source;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--reps') reps = Number(args[++i]);
  else if (args[i].startsWith('-')) fail(`unknown option ${args[i]}`);
  else source = resolve(args[i]);
}
if (!Number.isInteger(reps) || reps < 1) fail('--reps takes a whole number >= 1');
if (!existsSync(join(ROOT, 'dist', 'cli.js'))) fail('dist/cli.js is missing: run "npm run build" first');

function git(dir, a, env = {}) {
  const r = spawnSync('git', ['-C', dir, ...a], { encoding: 'utf8', maxBuffer: 1 << 30, env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`git ${a.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

function time(cmd, a, okCodes = [0]) {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const child = spawn(cmd, a, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => err.push(b));
    child.on('error', rej);
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      if (!okCodes.includes(code)) return rej(new Error(`${a.join(' ').slice(0, 200)} exited ${code}: ${Buffer.concat(err).toString().slice(0, 1000)}`));
      res({ ms, stdout: Buffer.concat(out).toString(), code });
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const sec = (ms) => (ms / 1000).toFixed(3);

async function main() {
  const log = (s) => process.stdout.write(s + '\n');
  const origin = source ?? (await benchRepo(join(ROOT, '.bench'), log));
  const tmp = mkdtempSync(join(tmpdir(), 'code-insights-bench-check-'));
  try {
    const wt = join(tmp, 'wt');
    spawnSync('git', ['clone', '--quiet', '--shared', origin, wt], { stdio: 'inherit' });
    const main = ['main', 'master'].find((b) => spawnSync('git', ['-C', wt, 'rev-parse', '--verify', '--quiet', `refs/remotes/origin/${b}`]).status === 0);
    if (!main) fail(`${origin}: no main or master branch`);
    git(wt, ['checkout', '--quiet', '-B', 'topic', `origin/${main}`]);
    // The branch adds two TODOs and a FIXME to one file: the TODO ratchet breaks.
    const file = join(wt, 'bench-check-added.txt');
    writeFileSync(file, 'one TODO here\nand a FIXME\nanother TODO\n');
    git(wt, ['add', 'bench-check-added.txt']);
    const when = new Date(Number(git(wt, ['log', '-1', '--format=%ct']).trim()) * 1000 + 60_000).toISOString();
    git(wt, ['-c', 'user.name=bench', '-c', 'user.email=bench@example.com', 'commit', '--quiet', '-m', 'adds matches'], { GIT_AUTHOR_DATE: when, GIT_COMMITTER_DATE: when });
    const config = join(tmp, 'insights.json');
    writeFileSync(config, JSON.stringify({
      insights: [{ id: 'markers', title: 'Markers', literal: true, queries: [{ query: 'TODO', goal: { ratchet: true } }, { query: 'FIXME', goal: { max: 1e9 } }, { query: 'HACK', goal: { ratchet: true } }] }],
    }));
    const cache = join(tmp, 'cache.sqlite');
    const check = (extra) => time(process.execPath, [CLI, 'check', wt, '--config', config, '--format', 'json', ...extra], [1]);
    const series = (rev, extra) => time(process.execPath, [CLI, 'series', wt, ...QUERIES.flatMap((q) => ['-q', q]), '--literal', '--points', '1', '--rev', rev, '--format', 'json', ...extra]);

    log(`code-insights check bench — ${new Date().toISOString()}, node ${process.version}, ${cpus().length} cores, load ${loadavg()[0].toFixed(1)}, ${reps} reps (median)`);
    log(`repository: ${origin} (${git(wt, ['rev-list', '--count', 'HEAD']).trim()} commits, ${git(wt, ['ls-files']).split('\n').length - 1} files at HEAD)`);
    const cold = await check(['--no-cache']);
    const first = await check(['--cache', cache]);
    const r = JSON.parse(first.stdout);
    const problems = [];
    const broken = r.series.filter((s) => s.verdict === 'broken').map((s) => s.label);
    if (broken.join() !== 'TODO') problems.push(`expected only the TODO ratchet broken, got [${broken}]`);
    const culprit = r.series.find((s) => s.label === 'TODO')?.culprits?.map((c) => `${c.path}:${c.line}`).join(' ');
    if (culprit !== 'bench-check-added.txt:1 bench-check-added.txt:3') problems.push(`TODO culprits: ${culprit}`);
    for (const [field, rev] of [['head', r.head.commit], ['base', r.base.commit]]) {
      const s = JSON.parse((await series(rev, ['--no-cache'])).stdout);
      QUERIES.forEach((q, i) => {
        const want = s.series[i].points.at(-1).value;
        const got = r.series.find((x) => x.label === q)?.[field];
        if (got !== want) problems.push(`${q} at ${field}: check ${got}, series ${want}`);
      });
    }
    // Interleaved, so the machine's load falls on both alike.
    const warm = [];
    const floor = [];
    const node = [];
    await series(r.head.commit, ['--cache', cache]);
    for (let i = 0; i < reps; i++) {
      warm.push((await check(['--cache', cache])).ms);
      floor.push((await series(r.head.commit, ['--cache', cache])).ms);
      node.push((await time(process.execPath, ['-e', '0'])).ms);
    }
    log(`check, no cache:               ${sec(cold.ms)} s`);
    log(`check, into an empty cache:    ${sec(first.ms)} s`);
    log(`check, warm cache:             ${sec(median(warm))} s  (runs ${warm.map(sec).join(' ')}; check's own elapsedMs ${JSON.parse((await check(['--cache', cache])).stdout).elapsedMs} ms)`);
    log(`series --points 1 at HEAD, warm: ${sec(median(floor))} s  (runs ${floor.map(sec).join(' ')})`);
    log(`node -e 0:                     ${sec(median(node))} s`);
    log(`warm check / warm one-point series: ${(median(warm) / median(floor)).toFixed(2)}`);
    log(`load average (1 min) after: ${loadavg()[0].toFixed(1)}`);
    if (problems.length) {
      for (const p of problems) log(`!!!!! MISMATCH: ${p}`);
      process.exitCode = 1;
    } else log('correctness: the broken ratchet names the two added lines; head and base values equal `series --points 1 --rev` at those commits');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`bench: ${e.message}\n`);
  process.exitCode = 1;
});
