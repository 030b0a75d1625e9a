// The engine benchmark: `npm run bench [PATH...] [--reps N] [--end ISO] [--no-generated]`.
// For the generated repository and each PATH: 52 weekly points with 1 and 3 series, cold,
// side by side in the same run with (a) `git grep -c` at each sampled commit (whose totals must
// equal the engine's `--count lines` values) and (c) `git cat-file --batch` reading the same
// distinct blobs (the decompression floor); a warm rerun; a one-new-commit update; languages at
// HEAD against cloc. Each timing is the median of N runs (default 3). See bench/README.md.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchRepo, GEN_VERSION } from './genRepo.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'bin', 'code-insights.js');
const CACHE_DIR = join(ROOT, '.bench');
const ONE = ['TODO'];
const THREE = ['TODO', 'FIXME', 'HACK'];
const TARGETS = { grep: 10, floor: 1.3, three: 1.2, warm: 0.3, update: 0.5, cloc: 5 };

// ---------------------------------------------------------------- arguments

function parseArgs(argv) {
  const o = { paths: [], reps: 3, end: undefined, generated: true, languages: true, update: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--reps') o.reps = Number(argv[++i]);
    else if (a === '--end') o.end = argv[++i];
    else if (a === '--no-generated') o.generated = false;
    else if (a === '--no-languages') o.languages = false;
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm run bench -- [PATH...] [--reps N] [--end ISO-DATE] [--no-generated] [--no-languages]');
      process.exit(0);
    } else if (a.startsWith('-')) fail(`unknown option ${a}`);
    else if (!existsSync(a)) fail(`${a}: no such file or folder`);
    else o.paths.push(resolve(a));
  }
  if (!Number.isInteger(o.reps) || o.reps < 1) fail('--reps takes a whole number ≥ 1');
  if (o.end !== undefined && Number.isNaN(Date.parse(o.end))) fail(`--end takes an ISO date (got ${o.end})`);
  return o;
}

function fail(msg) {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(2);
}

// ---------------------------------------------------------------- processes

// CPU time (user + sys of the process and every descendant it waited for) through GNU time,
// when installed: on a shared 2-core machine wall time depends on the load, CPU time much less.
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const TIME_OUT = join(tmpdir(), `code-insights-bench-time-${process.pid}`);

/** Runs a command; resolves with stdout (Buffer), wall ms (spawn to exit), cpu ms and the exit code. */
function run(cmd, args, { cwd, input, env, replaceEnv = false, stdout = 'pipe', okCodes = [0] } = {}) {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const [c, a] = TIME ? [TIME, ['-f', '%U %S', '-o', TIME_OUT, cmd, ...args]] : [cmd, args];
    const child = spawn(c, a, { cwd, env: env ? (replaceEnv ? env : { ...process.env, ...env }) : process.env, stdio: ['pipe', stdout, 'pipe'] });
    const out = [];
    const err = [];
    child.stdout?.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => err.push(b));
    child.on('error', rej);
    child.stdin.on('error', () => {});
    child.on('close', (code, sig) => {
      const ms = performance.now() - t0;
      const stderr = Buffer.concat(err).toString();
      if (!okCodes.includes(code)) return rej(new Error(`${cmd} ${args.join(' ').slice(0, 300)} exited ${code ?? sig}: ${stderr.slice(0, 2000)}`));
      let cpu = NaN;
      if (TIME) {
        const [u, s] = readFileSync(TIME_OUT, 'utf8').trim().split('\n').pop().split(' ').map(Number);
        cpu = Math.round((u + s) * 1000);
      }
      res({ stdout: Buffer.concat(out), stderr, ms, cpu, code });
    });
    child.stdin.end(input ?? '');
  });
}

function gitSync(dir, args, env) {
  const r = spawnSync('git', ['-C', dir, ...args], { encoding: 'utf8', maxBuffer: 1 << 30, env: env ? { ...process.env, ...env } : process.env });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

const cli = (args, opts) => run(process.execPath, [CLI, ...args], opts);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
/** Median wall and CPU time of some runs ({ms, cpu}). */
const summary = (xs) => ({ median: median(xs.map((x) => x.ms)), cpu: median(xs.map((x) => x.cpu)), runs: xs.map((x) => x.ms), cpuRuns: xs.map((x) => x.cpu) });
const sec = (ms) => (ms / 1000).toFixed(ms < 10000 ? 3 : 1);

// ---------------------------------------------------------------- the baselines

/** The revision the engine samples when none is named: origin/HEAD's target, else HEAD. */
function defaultRev(dir) {
  for (const r of ['refs/remotes/origin/HEAD', 'HEAD']) {
    const x = spawnSync('git', ['-C', dir, 'rev-parse', '--verify', '--quiet', `${r}^{commit}`], { encoding: 'utf8' });
    if (x.status === 0) return { ref: r, sha: x.stdout.trim() };
  }
  return undefined;
}

/** The repos of a CLI answer, each with its path and its distinct sampled commits (oldest first). */
function sampledCommits(json) {
  const byId = new Map(json.repos.map((r) => [r.repo, { repo: r.repo, path: r.path, perPoint: [], error: r.error }]));
  const s = json.series[0];
  s.points.forEach((p, i) => {
    for (const rp of p.repos) byId.get(rp.repo).perPoint[i] = rp.commit;
  });
  for (const r of byId.values()) {
    r.distinct = [];
    for (const c of r.perPoint) if (c && r.distinct[r.distinct.length - 1] !== c) r.distinct.push(c);
  }
  return [...byId.values()].filter((r) => !r.error);
}

/** (a): `git grep -c` per series at each distinct sampled commit, one process after another. */
async function grepBaseline(repos, queries) {
  const counts = new Map(); // `${repo}\0${commit}\0${query}` -> lines
  let ms = 0;
  let cpu = 0;
  for (const r of repos) {
    for (const c of r.distinct) {
      for (const q of queries) {
        const x = await run('git', ['-C', r.path, '-c', 'grep.patternType=fixed', 'grep', '-c', '-I', '--no-textconv', '--no-color', '-e', q, c, '--'], { okCodes: [0, 1] });
        ms += x.ms;
        cpu += x.cpu;
        let total = 0;
        for (const line of x.stdout.toString('latin1').split('\n')) {
          if (!line) continue;
          total += Number(line.slice(line.lastIndexOf(':') + 1));
        }
        counts.set(`${r.repo}\0${c}\0${q}`, total);
      }
    }
  }
  return { ms, cpu, counts };
}

/** Compares the engine's `lines` values with git grep's, and its commits with git rev-list's. */
function verify(json, repos, queries, grepCounts) {
  const problems = [];
  let checked = 0;
  json.series.forEach((s, si) => {
    const q = queries[si];
    s.points.forEach((p) => {
      for (const rp of p.repos) {
        const want = grepCounts.get(`${rp.repo}\0${rp.commit}\0${q}`);
        checked++;
        if (want !== rp.value) problems.push(`${q} at ${p.time} in ${rp.repo} (${rp.commit.slice(0, 12)}): engine ${rp.value}, git grep -c ${want}`);
      }
      const sum = p.repos.reduce((a, rp) => a + rp.value, 0);
      if (sum !== p.value) problems.push(`${q} at ${p.time}: point value ${p.value} is not the sum of its repos ${sum}`);
    });
  });
  // Commit choice: exactly `git rev-list -1 --first-parent --before=T REV`.
  const times = json.series[0].points.map((p) => Math.floor(Date.parse(p.time) / 1000));
  for (const r of repos) {
    const rev = defaultRev(r.path);
    times.forEach((t, i) => {
      const want = gitSync(r.path, ['rev-list', '-1', '--first-parent', `--before=@${t}`, rev.sha]).trim() || undefined;
      if (want !== r.perPoint[i]) problems.push(`commit of ${new Date(t * 1000).toISOString()} in ${r.path}: engine ${r.perPoint[i] ?? 'none'}, git rev-list ${want ?? 'none'}`);
    });
  }
  return { problems, checked };
}

const isRegular = (mode) => mode === '100644' || mode === '100755' || mode === '100664';

/** The distinct blobs a tree-diff engine must read: the first sampled tree, then every change. */
function distinctBlobs(r) {
  const seen = new Set();
  const ids = [];
  const add = (oid) => {
    if (!seen.has(oid)) {
      seen.add(oid);
      ids.push(oid);
    }
  };
  if (r.distinct.length === 0) return ids;
  for (const rec of gitSync(r.path, ['ls-tree', '-r', '-z', '--full-tree', r.distinct[0]]).split('\0')) {
    if (!rec) continue;
    const [mode, type, oid] = rec.slice(0, rec.indexOf('\t')).split(' ');
    if (type === 'blob' && isRegular(mode)) add(oid);
  }
  if (r.distinct.length > 1) {
    const input = r.distinct.slice(1).map((c, i) => `${c} ${r.distinct[i]}\n`).join('');
    const out = spawnSync('git', ['-C', r.path, 'diff-tree', '--stdin', '-r', '-z', '--no-renames', '--no-ext-diff', '--no-textconv'], { input, encoding: 'latin1', maxBuffer: 1 << 30 });
    if (out.status !== 0) throw new Error(`git diff-tree failed: ${out.stderr}`);
    for (const rec of out.stdout.split('\0')) {
      if (!rec.startsWith(':')) continue;
      const [, newMode, , newOid] = rec.slice(1).split(' ');
      if (isRegular(newMode) && !/^0+$/.test(newOid)) add(newOid);
    }
  }
  return ids;
}

/** (c): one `git cat-file --batch` per repo emitting every distinct blob, output discarded. */
async function floorBaseline(blobSets) {
  let ms = 0;
  let cpu = 0;
  for (const { path, ids } of blobSets) {
    const devnull = openSync('/dev/null', 'w');
    try {
      const x = await run('git', ['-C', path, 'cat-file', '--batch'], { input: ids.join('\n') + '\n', stdout: devnull });
      ms += x.ms;
      cpu += x.cpu;
    } finally {
      closeSync(devnull);
    }
  }
  return { ms, cpu };
}

function blobBytes(path, ids) {
  const out = spawnSync('git', ['-C', path, 'cat-file', '--batch-check=%(objectsize)'], { input: ids.join('\n') + '\n', encoding: 'utf8', maxBuffer: 1 << 30 });
  return out.stdout.split('\n').reduce((a, l) => a + (Number(l) || 0), 0);
}

// ---------------------------------------------------------------- one target

function seriesArgs(path, queries, end, extra) {
  return ['series', path, ...queries.flatMap((q) => ['-q', q]), '--step', 'week', '--points', '52', '--end', end, '--format', 'json', '--count', 'lines', '--max-file-size', '0', ...extra];
}

/** Adds one commit touching `n` text files to the bare repository at `dir`, dated `time` (s). */
function addCommit(dir, time, n = 3) {
  const head = gitSync(dir, ['rev-parse', 'HEAD']).trim();
  const entries = gitSync(dir, ['ls-tree', '-r', '-l', head])
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [meta, path] = l.split('\t');
      const [mode, type, oid, size] = meta.split(/ +/);
      return { mode, type, oid, size: Number(size), path };
    })
    .filter((e) => e.type === 'blob' && e.mode === '100644' && e.size < 50000);
  // Prefer ordinary source files; any small regular file will do in a tiny repository.
  const source = entries.filter((e) => e.size > 200 && /\.(c|h|ts|js|py|go|rs|sh|md|txt)$/.test(e.path));
  const pool = source.length >= n ? source : entries;
  if (pool.length === 0) return undefined;
  const picked = [...new Set(Array.from({ length: n }, (_, i) => pool[Math.floor(((i + 0.5) * pool.length) / n)]))];
  const index = join(mkdtempSync(join(tmpdir(), 'bench-index-')), 'index');
  const env = { GIT_INDEX_FILE: index };
  gitSync(dir, ['read-tree', head], env);
  for (const e of picked) {
    const old = spawnSync('git', ['-C', dir, 'cat-file', 'blob', e.oid]).stdout;
    const body = Buffer.concat([old, Buffer.from(`\n/* TODO: bench update ${e.path} */\n`)]);
    const oid = spawnSync('git', ['-C', dir, 'hash-object', '-w', '--stdin'], { input: body, encoding: 'utf8' }).stdout.trim();
    gitSync(dir, ['update-index', '--cacheinfo', `100644,${oid},${e.path}`], env);
  }
  const tree = gitSync(dir, ['write-tree'], env).trim();
  const who = { GIT_AUTHOR_NAME: 'Bench', GIT_AUTHOR_EMAIL: 'bench@example.com', GIT_COMMITTER_NAME: 'Bench', GIT_COMMITTER_EMAIL: 'bench@example.com', GIT_AUTHOR_DATE: `@${time} +0000`, GIT_COMMITTER_DATE: `@${time} +0000` };
  const commit = spawnSync('git', ['-C', dir, 'commit-tree', tree, '-p', head, '-m', 'bench: one new commit'], { encoding: 'utf8', env: { ...process.env, ...who } }).stdout.trim();
  gitSync(dir, ['update-ref', 'HEAD', commit, head]);
  rmSync(dirname(index), { recursive: true, force: true });
  return { commit, files: picked.length };
}

/**
 * Runs the CLI once with CODE_INSIGHTS_TRACE=1 and a `git` shim first on PATH that times every
 * git process (GNU time): phase lines, node's own CPU, and CPU per git subcommand.
 */
async function tracedRun(args) {
  const out = { phases: [], git: [], ms: NaN, cpu: NaN, nodeCpu: undefined };
  const realGit = spawnSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).stdout.trim();
  const dir = mkdtempSync(join(tmpdir(), 'code-insights-gitshim-'));
  try {
    const env = { CODE_INSIGHTS_TRACE: '1' };
    const log = join(dir, 'calls.log');
    if (TIME && realGit) {
      // One record per git process: "wall user sys|args".
      // The commit-sampling rev-list is stopped with SIGTERM once every bucket has its commit;
      // through GNU time the signal would stop time, not git, and the walk would run to the
      // root: that one call runs untimed.
      const shim = ['#!/bin/sh', `case " $* " in *" rev-list "*" --timestamp "*) exec '${realGit}' "$@";; esac`, `a=$(printf '%s ' "$@" | tr -d '%"\\n' | cut -c1-300)`, `exec ${TIME} -a -o '${log}' -f "%e %U %S|$a" '${realGit}' "$@"`, ''];
      writeFileSync(join(dir, 'git'), shim.join('\n'), { mode: 0o755 });
      env.PATH = `${dir}:${process.env.PATH}`;
    }
    const x = await cli(args, { env });
    out.ms = x.ms;
    out.cpu = x.cpu;
    out.phases = x.stderr.split('\n').filter((l) => l.startsWith('[trace'));
    const m = /node cpu \{"user":(\d+),"system":(\d+)\}/.exec(x.stderr);
    if (m) out.nodeCpu = (Number(m[1]) + Number(m[2])) / 1000;
    if (existsSync(log)) {
      const by = new Map();
      for (const line of readFileSync(log, 'utf8').split('\n')) {
        const bar = line.indexOf('|');
        if (bar < 0 || !/^[\d.]+ [\d.]+ [\d.]+\|/.test(line)) continue;
        const [wall, u, sy] = line.slice(0, bar).split(' ').map(Number);
        // The subcommand: the first word after the -c/--git-dir options.
        const words = line.slice(bar + 1).split(' ');
        let i = 0;
        while (i < words.length && (words[i] === '-c' || words[i] === '--git-dir' || words[i] === '-C')) i += 2;
        const cmd = words.slice(i).find((w) => !w.startsWith('-')) ?? '?';
        const g = by.get(cmd) ?? { cmd, n: 0, wall: 0, cpu: 0 };
        g.n++;
        g.wall += wall * 1000;
        g.cpu += (u + sy) * 1000;
        by.set(cmd, g);
      }
      out.git = [...by.values()].sort((a, b) => b.cpu - a.cpu);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

/** Adds one commit to the clone and times reruns that each start from the warm cache. */
async function oneNewCommit(clone, cache, tmp, endSec, opts, res, log) {
  const added = addCommit(clone, endSec + 60);
  if (!added) {
    log('   one new commit: skipped (no small regular file to change)');
    return;
  }
  const end2 = new Date((endSec + 120) * 1000).toISOString();
  const upd = [];
  let updStats;
  let updJson;
  for (let rep = 0; rep < opts.reps; rep++) {
    // Each repetition starts from the cache as it was before the new commit.
    const c = join(tmp, `cache-${rep}.sqlite`);
    copyFileSync(cache, c);
    const x = await cli(seriesArgs(clone, THREE, end2, ['--cache', c]));
    upd.push(x);
    updJson = JSON.parse(x.stdout);
    updStats = updJson.stats;
  }
  const last = updJson.series[0].points.at(-1).repos[0];
  if (last?.commit !== added.commit) res.problems.push(`one-new-commit: the last point's commit is ${last?.commit}, not the new commit ${added.commit}`);
  res.update = { ...summary(upd), blobsRead: updStats.blobsRead, filesChanged: added.files };
  log(`   one new commit (${added.files} files changed): ${res.update.runs.map(sec).join(' ')} s, blobsRead ${updStats.blobsRead}`);
}

async function benchTarget(label, path, opts, log) {
  const rev = defaultRev(path);
  const endSec = opts.end ? Math.floor(Date.parse(opts.end) / 1000) : rev ? Number(gitSync(path, ['log', '-1', '--format=%ct', rev.sha]).trim()) + 1 : Math.floor(Date.now() / 1000);
  const end = new Date(endSec * 1000).toISOString();
  const res = { label, path, end, rev: rev?.ref, reps: opts.reps, problems: [], loadBefore: loadavg()[0] };
  log(`\n== ${label}: ${path}${rev ? ` (${rev.ref} = ${rev.sha.slice(0, 12)})` : ''}, 52 weekly points ending ${end}`);

  // One checked run per configuration: its JSON gives the sampled commits and the values.
  const first1 = await cli(seriesArgs(path, ONE, end, ['--no-cache']));
  const first3 = await cli(seriesArgs(path, THREE, end, ['--no-cache']));
  const json1 = JSON.parse(first1.stdout);
  const json3 = JSON.parse(first3.stdout);
  const repos = sampledCommits(json3);
  res.repos = repos.length;
  res.commits = repos.reduce((a, r) => a + r.distinct.length, 0);
  const blobSets = repos.map((r) => ({ path: r.path, ids: distinctBlobs(r) }));
  res.blobs = blobSets.reduce((a, b) => a + b.ids.length, 0);
  res.blobMiB = blobSets.reduce((a, b) => a + blobBytes(b.path, b.ids), 0) / 1048576;
  res.stats1 = json1.stats;
  res.stats3 = json3.stats;
  log(`   ${res.repos} repo(s), ${res.commits} distinct sampled commits, ${res.blobs} distinct blobs (${res.blobMiB.toFixed(1)} MiB)`);
  log(`   engine stats (1 series): ${json1.stats.blobsRead} blobs read, ${json1.stats.blobsRuledOut} ruled out by its git grep prefilter; (3 series): ${json3.stats.blobsRead} read, ${json3.stats.blobsRuledOut} ruled out`);

  const t = { e1: [first1], e3: [first3], g1: [], g3: [], floor: [] };
  for (let rep = 0; rep < opts.reps; rep++) {
    if (rep > 0) {
      t.e1.push(await cli(seriesArgs(path, ONE, end, ['--no-cache'])));
      t.e3.push(await cli(seriesArgs(path, THREE, end, ['--no-cache'])));
    }
    const g1 = await grepBaseline(repos, ONE);
    const g3 = await grepBaseline(repos, THREE);
    t.g1.push(g1);
    t.g3.push(g3);
    t.floor.push(await floorBaseline(blobSets));
    if (rep === 0) {
      const v1 = verify(json1, repos, ONE, g1.counts);
      const v3 = verify(json3, repos, THREE, g3.counts);
      res.problems.push(...v1.problems, ...v3.problems);
      res.checked = v1.checked + v3.checked;
    }
    log(`   rep ${rep + 1}/${opts.reps}: engine 1 series ${sec(t.e1[rep].ms)} s, 3 series ${sec(t.e3[rep].ms)} s; git grep -c ${sec(g1.ms)} s / ${sec(g3.ms)} s; cat-file floor ${sec(t.floor[rep].ms)} s (wall)`);
  }
  res.times = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, summary(v)]));
  // One more cold run with the engine's phase trace and every git child timed, for whoever
  // reads the figures next: where the time goes, engine phases and git's share.
  const traced = await tracedRun(seriesArgs(path, ONE, end, ['--no-cache']));
  res.trace = traced;
  if (traced.phases.length) log(`   engine phases, 1 series, cold (CODE_INSIGHTS_TRACE=1, ${sec(traced.ms)} s wall):\n${traced.phases.map((l) => `     ${l}`).join('\n')}`);
  if (traced.git.length) {
    log(`   git children of that run (cpu = user + sys; total cpu ${sec(traced.cpu)} s, node itself ${traced.nodeCpu === undefined ? '?' : sec(traced.nodeCpu)} s):`);
    for (const g of traced.git) log(`     ${g.cmd.padEnd(14)} x${String(g.n).padEnd(3)} wall ${sec(g.wall).padStart(6)} s  cpu ${sec(g.cpu).padStart(6)} s`);
  }

  // Warm rerun and one new commit, on a throwaway clone (objects shared, never written to PATH).
  if (rev && opts.update) {
    const tmp = mkdtempSync(join(tmpdir(), 'code-insights-bench-'));
    try {
      const clone = join(tmp, 'repo.git');
      gitSync(tmp, ['clone', '--quiet', '--bare', '--shared', path, clone]);
      // The clone's HEAD is the engine's rev of PATH.
      gitSync(clone, ['update-ref', 'HEAD', rev.sha]);
      // A user's first run: the same cold run as above, but filling a new cache file (the rows
      // it writes cost time that --no-cache runs do not show).
      const cache = join(tmp, 'cache.sqlite');
      const fills = [];
      for (let rep = 0; rep < opts.reps; rep++) {
        rmSync(cache, { force: true });
        rmSync(`${cache}.runs.json`, { force: true });
        fills.push(await cli(seriesArgs(clone, THREE, end, ['--cache', cache])));
      }
      res.coldWithCache = { ...summary(fills), blobsRead: JSON.parse(fills.at(-1).stdout).stats.blobsRead };
      log(`   first run into an empty cache (3 series): ${res.coldWithCache.runs.map(sec).join(' ')} s`);
      const warm = [];
      let warmStats;
      for (let rep = 0; rep < opts.reps; rep++) {
        const x = await cli(seriesArgs(clone, THREE, end, ['--cache', cache]));
        warm.push(x);
        warmStats = JSON.parse(x.stdout).stats;
      }
      res.warm = { ...summary(warm), blobsRead: warmStats.blobsRead, blobsFromCache: warmStats.blobsFromCache };
      log(`   warm rerun (3 series, cache ${(statSync(cache).size / 1048576).toFixed(1)} MiB): ${res.warm.runs.map(sec).join(' ')} s, blobsRead ${warmStats.blobsRead}${warmStats.fromRunMemo ? ', answered by the run memo' : ''}`);
      // The same rerun when the cache changed since the last run (another insight, a sync):
      // the run memo beside the cache cannot answer, so the cache is opened.
      const opened = [];
      for (let rep = 0; rep < opts.reps; rep++) {
        rmSync(`${cache}.runs.json`, { force: true });
        opened.push(await cli(seriesArgs(clone, THREE, end, ['--cache', cache])));
      }
      res.warmOpened = summary(opened);
      log(`   warm rerun without the run memo: ${res.warmOpened.runs.map(sec).join(' ')} s`);

      await oneNewCommit(clone, cache, tmp, endSec, opts, res, log);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  } else if (opts.update) {
    log('   warm rerun / one new commit: skipped (PATH is not a single repository)');
  }

  if (opts.languages) res.languages = await benchLanguages(path, rev, opts, log);
  res.loadAfter = loadavg()[0];
  return res;
}

function hasCloc() {
  return spawnSync('cloc', ['--version'], { encoding: 'utf8' }).status === 0;
}

async function benchLanguages(path, rev, opts, log) {
  const eng = [];
  let json;
  for (let rep = 0; rep < opts.reps; rep++) {
    const x = await cli(['languages', path, '--format', 'json', '--no-cache']);
    eng.push(x);
    json = JSON.parse(x.stdout);
  }
  const point = json.languages.at(-1);
  const engineLines = point.languages.reduce((a, l) => a + l.lines, 0);
  const out = { engine: { ...summary(eng), lines: engineLines, languages: point.languages.length } };
  const engRuns = out.engine.runs.map(sec).join(' ');
  if (!rev) {
    log(`   languages: engine ${engRuns} s; cloc skipped (PATH is not a single repository)`);
    return out;
  }
  if (!hasCloc()) {
    log(`   languages: engine ${engRuns} s; cloc not installed, skipped`);
    return out;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'code-insights-cloc-'));
  try {
    const tree = join(tmp, 'tree');
    mkdirSync(tree);
    const archive = spawnSync('git', ['-C', path, 'archive', '--format=tar', rev.sha], { maxBuffer: 4 << 30 });
    if (archive.status !== 0) throw new Error(`git archive failed: ${archive.stderr}`);
    spawnSync('tar', ['-x', '-C', tree], { input: archive.stdout, maxBuffer: 1 << 20 });
    const cl = [];
    let report;
    for (let rep = 0; rep < opts.reps; rep++) {
      const x = await run('cloc', ['--quiet', '--json', tree]);
      cl.push(x);
      report = JSON.parse(x.stdout);
    }
    const s = report.SUM ?? {};
    out.cloc = { ...summary(cl), lines: (s.code ?? 0) + (s.comment ?? 0) + (s.blank ?? 0), languages: Object.keys(report).filter((k) => k !== 'header' && k !== 'SUM').length };
    log(`   languages: engine ${engRuns} s (${engineLines} lines, ${out.engine.languages} languages); cloc ${out.cloc.runs.map(sec).join(' ')} s (${out.cloc.lines} lines, ${out.cloc.languages} languages)`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}

// ---------------------------------------------------------------- report

function table(r) {
  const T = r.times;
  const rows = [];
  const mark = (ok) => (ok ? 'ok' : 'MISSED');
  const cpuCol = (m) => (m && Number.isFinite(m.cpu) ? `${sec(m.cpu)} s` : '');
  const row = (what, m, ratio = '', cpuRatio = '', target = '', ok) =>
    rows.push([what, m ? `${sec(m.median)} s` : '', m ? m.runs.map(sec).join(' ') : '', cpuCol(m), ratio, cpuRatio, target, ok === undefined ? '' : mark(ok)]);
  const rat = (a, b, f) => (a && b && Number.isFinite(a) && Number.isFinite(b) ? f(a / b) : '');
  const x1 = T.g1.median / T.e1.median;
  const x3 = T.g3.median / T.e3.median;
  const fl = T.e1.median / T.floor.median;
  const three = T.e3.median / T.e1.median;
  const faster = (x) => `${x.toFixed(1)}x faster`;
  row('engine, 1 series (TODO)', T.e1);
  row('engine, 3 series (TODO FIXME HACK)', T.e3);
  row('(a) git grep -c, 1 series', T.g1, faster(x1), rat(T.g1.cpu, T.e1.cpu, faster), `>= ${TARGETS.grep}x`, x1 >= TARGETS.grep);
  row('(a) git grep -c, 3 series', T.g3, faster(x3), rat(T.g3.cpu, T.e3.cpu, faster), `>= ${TARGETS.grep}x`, x3 >= TARGETS.grep);
  row('(c) cat-file --batch floor', T.floor, `${fl.toFixed(2)}x the floor`, rat(T.e1.cpu, T.floor.cpu, (x) => `${x.toFixed(2)}x the floor`), `<= ${TARGETS.floor}x`, fl <= TARGETS.floor);
  row('3 series / 1 series', undefined, `${three.toFixed(2)}x`, rat(T.e3.cpu, T.e1.cpu, (x) => `${x.toFixed(2)}x`), `<= ${TARGETS.three}x`, three <= TARGETS.three);
  if (r.coldWithCache) row('  3 series, into an empty cache', r.coldWithCache, `${(r.coldWithCache.median / T.e3.median).toFixed(2)}x --no-cache`, rat(r.coldWithCache.cpu, T.e3.cpu, (x) => `${x.toFixed(2)}x --no-cache`), '', undefined);
  if (r.warm) row(`warm rerun, 3 series (blobsRead ${r.warm.blobsRead})`, r.warm, '', '', `<= ${TARGETS.warm} s`, r.warm.median / 1000 <= TARGETS.warm);
  if (r.warmOpened) row('  the same, cache changed (no run memo)', r.warmOpened, '', '', '', undefined);
  if (r.update) row(`one new commit, ${r.update.filesChanged} files (blobsRead ${r.update.blobsRead})`, r.update, '', '', `<= ${TARGETS.update} s`, r.update.median / 1000 <= TARGETS.update);
  if (r.languages) {
    const L = r.languages;
    row('languages at HEAD', L.engine);
    if (L.cloc) {
      const xc = L.cloc.median / L.engine.median;
      row('cloc on the extracted tree', L.cloc, faster(xc), rat(L.cloc.cpu, L.engine.cpu, faster), `>= ${TARGETS.cloc}x`, xc >= TARGETS.cloc);
    } else row('cloc', undefined, 'skipped');
  }
  const head = ['measure', 'wall', `wall runs (${r.reps})`, 'cpu', 'ratio (wall)', 'ratio (cpu)', 'target', ''];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i].length)));
  const fmt = (x) => x.map((c, i) => (i === 1 || i === 3 ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ').trimEnd();
  return [fmt(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(fmt)].join('\n');
}

/**
 * What starting Node costs here, part of every engine time. NODE_EXTRA_CA_CERTS makes Node read
 * and parse that certificate file before any script runs (seen: 0.13 s instead of 0.04 s), so
 * where it is set the same start without it is timed too.
 */
async function nodeStartup(reps) {
  const n = Math.max(5, reps);
  const time = async (env) => {
    const xs = [];
    for (let i = 0; i < n; i++) xs.push((await run(process.execPath, ['-e', '0'], env ? { env, replaceEnv: true } : {})).ms);
    return median(xs);
  };
  const ms = await time();
  if (!process.env.NODE_EXTRA_CA_CERTS) return { reps: n, ms };
  const { NODE_EXTRA_CA_CERTS: _, ...rest } = process.env;
  return { reps: n, ms, withoutExtraCa: await time(rest) };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!existsSync(join(ROOT, 'dist', 'cli.js'))) fail('dist/cli.js is missing: run "npm run bench" (it builds first) or "npm run build"');
  const log = (s) => process.stdout.write(s + '\n');
  log(`code-insights bench — ${new Date().toISOString()}, node ${process.version}, ${cpus().length} cores, ${gitSync('.', ['--version']).trim()}, ${opts.reps} reps (median)`);
  const nodeStart = await nodeStartup(opts.reps);
  log(`node start-up (node -e 0, median of ${nodeStart.reps}): ${sec(nodeStart.ms)} s${nodeStart.withoutExtraCa !== undefined ? `; NODE_EXTRA_CA_CERTS is set here and costs it ${sec(nodeStart.ms - nodeStart.withoutExtraCa)} s (${sec(nodeStart.withoutExtraCa)} s without): every engine time below includes this` : ''}`);
  const targets = [];
  if (opts.generated) targets.push(['generated', await benchRepo(CACHE_DIR, log)]);
  for (const p of opts.paths) targets.push([p, p]);
  const results = [];
  for (const [label, path] of targets) {
    const r = await benchTarget(label, path, opts, log);
    results.push(r);
    log('');
    log(table(r));
    const busy = Math.max(r.loadBefore, r.loadAfter) > cpus().length;
    log(`\nload average (1 min) ${r.loadBefore.toFixed(1)} before, ${r.loadAfter.toFixed(1)} after, on ${cpus().length} cores${busy ? ': the machine was busy, wall times are inflated; compare the cpu columns' : ''}`);
    if (r.problems.length) {
      log(`\n!!!!! MISMATCH: ${r.problems.length} problem(s) in ${label} !!!!!`);
      for (const p of r.problems.slice(0, 30)) log(`!!!!! ${p}`);
    } else {
      log(`\ncorrectness: the engine's --count lines values equal git grep -c totals at all ${r.checked} (point, repo, series) values, and its commits equal git rev-list -1 --first-parent --before=T`);
    }
  }
  mkdirSync(join(CACHE_DIR, 'results'), { recursive: true });
  const file = join(CACHE_DIR, 'results', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), generatorVersion: GEN_VERSION, argv: process.argv.slice(2), nodeStart, results }, null, 2));
  log(`\nresults: ${file}`);
  if (results.some((r) => r.problems.length)) {
    log('bench: FAILED — the engine disagrees with git (see MISMATCH above)');
    process.exitCode = 1;
  }
}

main().catch((e) => {
  process.stderr.write(`bench: ${e.message}\n`);
  process.exitCode = 1;
});
