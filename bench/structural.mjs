#!/usr/bin/env node
// Structural insights against ast-grep's own CLI, side by side in one run:
//
//   (E)  our engine, cold (--no-cache): `code-insights series PATH -q P --structural LANG`, a year
//        of weekly points; and the same with the git grep prefilter off (every file parsed)
//   (C)  `ast-grep run -p P -l LANG --json` at each distinct sampled commit, on a checkout of it
//        (the checkout is written untimed; only ast-grep's time counts)
//   (B)  `ast-grep run` once over the distinct blobs of the language's files of all the sampled
//        commits, each written once to a folder (untimed)
//
// Every value of (E) must equal (C) at its commit, and the per-blob counts of (B) summed per
// commit must equal both: the bench exits 1 on any difference. Nothing is downloaded: PATH is a
// local repository (a working tree or a bare clone).
//
//   npm run bench:structural -- PATH [--pattern P ...] [--lang typescript] [--reps 3] [--end ISO] [--points 52]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(root, 'bin', 'code-insights.js');
const SG = join(root, 'node_modules', '.bin', 'ast-grep');
// Extensions as ast-grep gives them (and server/engine/structuralMatcher.ts).
const EXTENSIONS = { typescript: ['ts', 'cts', 'mts'], tsx: ['tsx'], javascript: ['js', 'cjs', 'mjs', 'jsx'], python: ['py', 'py3', 'pyi', 'bzl'], go: ['go'], java: ['java'], rust: ['rs'], css: ['css', 'scss'], html: ['html', 'htm', 'xhtml'] };
const NO_IGNORE = ['hidden', 'dot', 'exclude', 'global', 'parent', 'vcs'].flatMap((k) => ['--no-ignore', k]);

const argv = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const patterns = argv.flatMap((a, i) => (a === '--pattern' ? [argv[i + 1]] : []));
if (patterns.length === 0) patterns.push('throw new $E($$$)');
const lang = opt('lang', 'typescript');
const reps = Number(opt('reps', '3'));
const points = Number(opt('points', '52'));
const path = argv.find((a, i) => !a.startsWith('--') && !(i > 0 && argv[i - 1].startsWith('--')));
if (!path || !EXTENSIONS[lang]) {
  console.error('usage: node bench/structural.mjs PATH [--pattern P ...] [--lang typescript] [--reps 3] [--end ISO] [--points 52]');
  process.exit(2);
}

function git(args, opts = {}) {
  const r = spawnSync('git', ['-C', path, ...args], { encoding: 'utf8', maxBuffer: 1 << 30, ...opts });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const secs = (ms) => `${(ms / 1000).toFixed(2)} s`;
// CPU time (user + sys of the process and its children, GNU time) beside wall time: on this
// shared machine the wall time moves with other sessions' load, the CPU time much less.
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
let timeLog;
function timed(cmd, args, opts = {}) {
  const t = performance.now();
  const r = TIME
    ? spawnSync(TIME, ['-q', '-f', '%U %S', '-o', timeLog, cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 30, ...opts })
    : spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 30, ...opts });
  const ms = performance.now() - t;
  let cpuMs = NaN;
  if (TIME) {
    const [u, s] = readFileSync(timeLog, 'utf8').trim().split('\n').at(-1).split(' ').map(Number);
    cpuMs = (u + s) * 1000;
  }
  return { ms, cpuMs, r };
}
function sgRun(pattern, dir) {
  const { ms, cpuMs, r } = timed(SG, ['run', '-p', pattern, '-l', lang, '--json=compact', ...NO_IGNORE, '.'], { cwd: dir });
  if (r.status !== 0 && r.status !== 1) throw new Error(`ast-grep: ${r.stderr}`);
  return { ms, cpuMs, matches: JSON.parse(r.stdout || '[]') };
}

timeLog = join(mkdtempSync(join(tmpdir(), 'ci-bench-time-')), 'time.log');
const end = opt('end', new Date((Number(git(['log', '-1', '--format=%ct', 'HEAD']).trim()) + 1) * 1000).toISOString());
const load = [loadavg()[0]];
console.log(`structural bench: ${path}, ${lang}, patterns ${patterns.map((p) => JSON.stringify(p)).join(', ')}, ${points} weekly points to ${end}, ${reps} reps, ${cpus().length} cores, load ${load[0].toFixed(2)}`);

// (E) the engine, cold.
const engineArgs = ['series', path, ...patterns.flatMap((p) => ['-q', p]), '--structural', lang, '--step', 'week', '--points', String(points), '--end', end, '--no-cache', '--format', 'json'];
function engine(env = {}) {
  const { ms, cpuMs, r } = timed(process.execPath, [BIN, ...engineArgs], { env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`code-insights: ${r.stderr}`);
  return { ms, cpuMs, out: JSON.parse(r.stdout) };
}

// Distinct sampled commits, from the engine's own output (the tests hold them equal to rev-list).
const first = engine();
const commits = [...new Set(first.out.series[0].points.flatMap((p) => p.repos.map((r) => r.commit)))];
console.log(`${commits.length} distinct sampled commits; engine stats: ${JSON.stringify(first.out.stats)}`);

// Checkouts for (C), written once, untimed.
const work = mkdtempSync(join(tmpdir(), 'ci-bench-structural-'));
const checkouts = new Map();
let checkoutMs = 0;
for (const c of commits) {
  const dir = join(work, 'c', c);
  mkdirSync(dir, { recursive: true });
  const t = performance.now();
  const tar = spawnSync('git', ['-C', path, 'archive', '--format=tar', c], { maxBuffer: 1 << 30 });
  spawnSync('tar', ['-x', '-C', dir], { input: tar.stdout });
  checkoutMs += performance.now() - t;
  checkouts.set(c, dir);
}

// Distinct blobs for (B): the language's regular files of every sampled commit, at most 1 MiB
// (the engine's default limit), each written once under its id with its extension.
const exts = EXTENSIONS[lang].map((e) => `.${e}`);
const blobsAt = new Map();
const blobDir = join(work, 'blobs');
mkdirSync(blobDir);
const written = new Set();
for (const c of commits) {
  const list = [];
  for (const rec of git(['ls-tree', '-r', '-z', '-l', c]).split('\0').filter(Boolean)) {
    const tab = rec.indexOf('\t');
    const [mode, , oid, size] = rec.slice(0, tab).split(/ +/);
    const file = rec.slice(tab + 1);
    if ((mode !== '100644' && mode !== '100755') || Number(size) > 1 << 20) continue;
    const ext = exts.find((e) => file.endsWith(e));
    if (!ext) continue;
    list.push(`${oid}${ext}`);
    if (!written.has(oid)) {
      written.add(oid);
      writeFileSync(join(blobDir, `${oid}${ext}`), spawnSync('git', ['-C', path, 'cat-file', 'blob', oid], { maxBuffer: 1 << 30 }).stdout);
    }
  }
  blobsAt.set(c, list);
}
console.log(`${written.size} distinct ${lang} blobs; checkouts written in ${secs(checkoutMs)} (untimed)`);

const rows = { engine: [], engineNoPrefilter: [], sgPerCommit: [], sgBlobs: [] };
const cpu = { engine: [], engineNoPrefilter: [], sgPerCommit: [], sgBlobs: [] };
let mismatches = 0;
const sgAt = new Map();
for (let rep = 0; rep < reps; rep++) {
  // Interleaved, so that a change of machine load hits every row alike.
  const e = rep === 0 ? first : engine();
  rows.engine.push(e.ms);
  cpu.engine.push(e.cpuMs);
  const all = engine({ CODE_INSIGHTS_GREP_MIN_BLOBS: '1000000000' });
  rows.engineNoPrefilter.push(all.ms);
  cpu.engineNoPrefilter.push(all.cpuMs);
  let perCommit = 0;
  let perCommitCpu = 0;
  for (const c of commits) {
    for (const [pi, p] of patterns.entries()) {
      const r = sgRun(p, checkouts.get(c));
      perCommit += r.ms;
      perCommitCpu += r.cpuMs;
      sgAt.set(`${pi} ${c}`, r.matches.length);
    }
  }
  rows.sgPerCommit.push(perCommit);
  cpu.sgPerCommit.push(perCommitCpu);
  let blobsMs = 0;
  let blobsCpu = 0;
  const perBlob = patterns.map(() => new Map());
  for (const [pi, p] of patterns.entries()) {
    const r = sgRun(p, blobDir);
    blobsMs += r.ms;
    blobsCpu += r.cpuMs;
    for (const m of r.matches) perBlob[pi].set(m.file.replace(/^\.\//, ''), (perBlob[pi].get(m.file.replace(/^\.\//, '')) ?? 0) + 1);
  }
  rows.sgBlobs.push(blobsMs);
  cpu.sgBlobs.push(blobsCpu);
  // Exactness: engine == ast-grep per commit == ast-grep per blob summed, at every point.
  for (const [pi, s] of e.out.series.entries()) {
    for (const [si, other] of [[0, e.out], [1, all.out]]) {
      void si;
      for (const pt of other.series[pi].points) {
        for (const rp of pt.repos) {
          const want = sgAt.get(`${pi} ${rp.commit}`);
          const viaBlobs = blobsAt.get(rp.commit).reduce((n, f) => n + (perBlob[pi].get(f) ?? 0), 0);
          if (rp.value !== want || viaBlobs !== want) {
            mismatches++;
            console.log(`!!!!! MISMATCH ${s.query} at ${pt.time} (${rp.commit}): engine ${rp.value}, ast-grep ${want}, ast-grep over blobs ${viaBlobs}`);
          }
        }
      }
    }
  }
}
load.push(loadavg()[0]);
rmSync(work, { recursive: true, force: true });

const E = median(rows.engine);
const result = {
  date: new Date().toISOString(), path, lang, patterns, points, end, reps, cores: cpus().length, load,
  commits: commits.length, distinctBlobs: written.size,
  medianMs: Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, Math.round(median(v))])),
  allMs: rows,
  cpuMedianMs: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, Math.round(median(v))])),
  allCpuMs: cpu,
  ratios: { sgPerCommitOverEngine: median(rows.sgPerCommit) / E, engineOverSgBlobs: E / median(rows.sgBlobs), engineNoPrefilterOverSgBlobs: median(rows.engineNoPrefilter) / median(rows.sgBlobs) },
  // Per repetition (the rows of one repetition ran back to back): steadier than a ratio of medians under a changing load.
  pairedRatios: {
    sgPerCommitOverEngine: rows.engine.map((e, i) => rows.sgPerCommit[i] / e),
    engineOverSgBlobs: rows.engine.map((e, i) => e / rows.sgBlobs[i]),
  },
  mismatches,
};
console.log(`
row                                                   median     all runs
(E)  engine, cold (--no-cache)                        ${secs(E).padStart(8)}   ${rows.engine.map(secs).join(', ')}
(E') engine, cold, git grep prefilter off             ${secs(median(rows.engineNoPrefilter)).padStart(8)}   ${rows.engineNoPrefilter.map(secs).join(', ')}
(C)  ast-grep run at each of ${String(commits.length).padEnd(3)} commits (checkout untimed) ${secs(median(rows.sgPerCommit)).padStart(8)}   ${rows.sgPerCommit.map(secs).join(', ')}
(B)  ast-grep run over the ${String(written.size).padEnd(5)} distinct blobs once     ${secs(median(rows.sgBlobs)).padStart(8)}   ${rows.sgBlobs.map(secs).join(', ')}

(C)/(E)  = ${result.ratios.sgPerCommitOverEngine.toFixed(2)}×  faster than ast-grep at each commit   (goal ≥ 10×)  ${result.ratios.sgPerCommitOverEngine >= 10 ? 'met' : 'MISSED'}
(E)/(B)  = ${result.ratios.engineOverSgBlobs.toFixed(2)}×  ast-grep over the distinct blobs      (goal ≤ 2×)   ${result.ratios.engineOverSgBlobs <= 2 ? 'met' : 'MISSED'}
(E')/(B) = ${result.ratios.engineNoPrefilterOverSgBlobs.toFixed(2)}×  the same with the git grep prefilter off
CPU (user+sys, medians): (E) ${secs(median(cpu.engine))}, (E') ${secs(median(cpu.engineNoPrefilter))}, (C) ${secs(median(cpu.sgPerCommit))}, (B) ${secs(median(cpu.sgBlobs))}; (C)/(E) ${(median(cpu.sgPerCommit) / median(cpu.engine)).toFixed(2)}×, (E)/(B) ${(median(cpu.engine) / median(cpu.sgBlobs)).toFixed(2)}×
per repetition: (C)/(E) ${result.pairedRatios.sgPerCommitOverEngine.map((x) => x.toFixed(2)).join(', ')}; (E)/(B) ${result.pairedRatios.engineOverSgBlobs.map((x) => x.toFixed(2)).join(', ')}
load average ${load.map((x) => x.toFixed(2)).join(' → ')}; every value checked against ast-grep: ${mismatches ? `${mismatches} MISMATCHES` : 'all equal'}`);
mkdirSync(join(root, '.bench', 'results'), { recursive: true });
writeFileSync(join(root, '.bench', 'results', `structural-${result.date.replace(/[:.]/g, '-')}.json`), JSON.stringify(result, null, 2));
process.exit(mismatches ? 1 : 0);
