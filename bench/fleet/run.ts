// The fleet benchmark (`npm run bench:fleet`): a generated org of N repositories (default 1,000;
// sizes log-normal: most small, a few large; a year of history) served by `git daemon` on
// loopback, one org insight of 3 queries × 52 weekly points computed by W `org worker` processes
// (W = 1, then 2) on the PostgreSQL of DATABASE_URL, in a database of its own. Per W, three phases:
//   clone      the first insight: every repository cloned into the workers' mirror folders
//   mirrors    a second insight (3 other queries) with the mirrors present: fetch finds nothing new
//   commit     a new commit in 10 % of the repositories, found by one head refresh (ls-remote of
//              every repository) and recomputed for both insights
// Reported per phase: wall time, repositories/min, and CPU seconds split into the workers' Node,
// the git they ran (clone, fetch, the engine's cat-file/rev-list/grep), git daemon (serving), and
// PostgreSQL (every postgres process of the machine: other users' queries count too).
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:fleet -- [--repos N] [--workers 1,2] [--concurrency 2]
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { makeWorkerUtils } from 'graphile-worker';
import { Client } from 'pg';
import { addCommit, generateOrg } from './genOrg';

const ROOT = resolve(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'code-insights.js');
const GIT_ENV = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', LC_ALL: 'C' };
const TICK = 100; // USER_HZ on Linux

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}

/** utime+stime and cutime+cstime of a process, in seconds (0 when it is gone). */
function cpuOf(pid: number): { self: number; children: number } {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { self: (Number(f[11]) + Number(f[12])) / TICK, children: (Number(f[13]) + Number(f[14])) / TICK };
  } catch {
    return { self: 0, children: 0 };
  }
}

/** CPU seconds of a process and every descendant alive now (git daemon forks git-daemon, which
 *  forks a server per connection). */
function treeCpu(pid: number): number {
  const c = cpuOf(pid);
  let t = c.self + c.children;
  let kids: string[] = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    // gone
  }
  for (const k of kids) t += treeCpu(Number(k));
  return t;
}

/** CPU seconds of every postgres process now alive (backends come and go: a lower bound). */
function postgresCpu(): number {
  let t = 0;
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (!readFileSync(`/proc/${p}/comm`, 'utf8').startsWith('postgres')) continue;
      const c = cpuOf(Number(p));
      t += c.self + c.children;
    } catch {
      // gone
    }
  }
  return t;
}

function cli(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((res, rej) =>
    execFile(process.execPath, [BIN, ...args], { env, maxBuffer: 1 << 28 }, (err, out, errOut) => (err ? rej(new Error(`${args.join(' ')}: ${errOut}`)) : res(out))),
  );
}

interface JobLine {
  /** Which worker process (0…W-1) ran it. */
  worker?: number;
  cloned?: boolean;
  fetchedBytes?: number;
  blobsRead?: number;
  computeMs?: number;
  ms?: number;
}

async function main(): Promise<void> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) throw new Error('set DATABASE_URL to a PostgreSQL server (a database is created and dropped per worker count)');
  const n = Number(arg('repos', '1000'));
  const workerCounts = arg('workers', '1,2').split(',').map(Number);
  const concurrency = Number(arg('concurrency', '2'));
  const work = resolve(ROOT, '.bench', 'fleet');
  const orgDir = join(work, `org-${n}`);
  const t0 = performance.now();
  const shapes = generateOrg(orgDir, n);
  const files = shapes.map((s) => s.files).sort((a, b) => a - b);
  const commits = shapes.map((s) => s.commits).sort((a, b) => a - b);
  const q = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];
  console.log(`org: ${n} repositories (generated or reused in ${((performance.now() - t0) / 1000).toFixed(1)} s); files median ${q(files, 0.5)}, p90 ${q(files, 0.9)}, max ${files.at(-1)}; commits median ${q(commits, 0.5)}, p90 ${q(commits, 0.9)}, max ${commits.at(-1)}`);
  console.log(`machine: ${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}; ${concurrency} jobs at once per worker`);

  const port = 20000 + Math.floor(Math.random() * 20000);
  const daemon = spawn('git', ['daemon', '--export-all', '--reuseaddr', `--base-path=${orgDir}`, '--listen=127.0.0.1', `--port=${port}`, orgDir], { env: GIT_ENV, stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  const urls = shapes.map((s) => `git://127.0.0.1:${port}/${s.name}`);
  writeFileSync(join(work, 'repos.txt'), `${urls.join('\n')}\n`);
  const insight = (id: string, queries: string[]) => JSON.stringify({ insights: [{ id, title: id, queries: queries.map((query) => ({ query })), step: 'week', points: 52 }] });
  writeFileSync(join(work, 'insight-a.json'), insight('logs', ['TODO', 'console\\.log\\(', "from 'lodash'"]));
  writeFileSync(join(work, 'insight-b.json'), insight('debt', ['FIXME', ':\\s*any\\b', 'deprecatedApi\\(']));

  const rows: string[] = [];
  try {
    for (const w of workerCounts) {
      const name = `ci_bench_fleet_${randomBytes(4).toString('hex')}`;
      const admin = new Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      const env = { ...GIT_ENV, DATABASE_URL: url.href };
      const mirrorBase = join(work, `mirrors-w${w}`);
      rmSync(mirrorBase, { recursive: true, force: true });
      const pg = new Client({ connectionString: url.href });
      const lines: JobLine[] = [];
      const workers: ChildProcess[] = [];
      try {
        await cli(['org', 'create-org', 'bench'], env);
        await cli(['org', 'add-repos', '--org', 'bench', '--from-file', join(work, 'repos.txt')], env);
        await pg.connect();
        for (let k = 0; k < w; k++) {
          const child = spawn(process.execPath, [BIN, 'org', 'worker', '--concurrency', String(concurrency), '--mirror-dir', join(mirrorBase, String(k)), '--refresh-interval', '86400', '--poll-interval', '200'], {
            env,
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let buf = '';
          child.stdout!.on('data', (d: Buffer) => {
            buf += d;
            let i;
            while ((i = buf.indexOf('\n')) >= 0) {
              const line = buf.slice(0, i);
              buf = buf.slice(i + 1);
              if (line.includes('"job finished"')) lines.push({ ...(JSON.parse(line) as JobLine), worker: k });
            }
          });
          child.stderr!.on('data', (d: Buffer) => process.stderr.write(`[worker ${k}] ${d}`));
          workers.push(child);
        }
        const pending = async () => Number((await pg.query<{ n: string }>("SELECT count(*) AS n FROM fleet_runs WHERE state <> 'done'")).rows[0].n);
        const failed = async () => Number((await pg.query<{ n: string }>("SELECT count(*) AS n FROM fleet_runs WHERE state = 'failed'")).rows[0].n);

        const phase = async (label: string, start: () => Promise<unknown>, repos: number) => {
          const cpu0 = workers.map((c) => cpuOf(c.pid!));
          const d0 = treeCpu(daemon.pid!);
          const pg0 = postgresCpu();
          const from = lines.length;
          const t = performance.now();
          await start();
          await new Promise((r) => setTimeout(r, 300));
          for (;;) {
            if ((await pending()) === (await failed())) break;
            if (workers.some((c) => c.exitCode !== null)) throw new Error('a worker exited');
            await new Promise((r) => setTimeout(r, 250));
          }
          const wall = (performance.now() - t) / 1000;
          const cpu1 = workers.map((c) => cpuOf(c.pid!));
          const node = cpu1.reduce((s, c, i) => s + c.self - cpu0[i].self, 0);
          const git = cpu1.reduce((s, c, i) => s + c.children - cpu0[i].children, 0);
          const served = treeCpu(daemon.pid!) - d0;
          const pgCpu = postgresCpu() - pg0;
          const jobs = lines.slice(from);
          const fetched = jobs.reduce((s, j) => s + (j.fetchedBytes ?? 0), 0);
          const ms = jobs.map((j) => j.ms ?? 0).sort((a, b) => a - b);
          const total = node + git + served + pgCpu;
          const row = `| ${w} | ${label} | ${jobs.length} | ${wall.toFixed(1)} | ${((repos / wall) * 60).toFixed(0)} | ${node.toFixed(1)} | ${git.toFixed(1)} | ${served.toFixed(1)} | ${pgCpu.toFixed(1)} | ${(total / repos).toFixed(3)} | ${((node + git) / repos).toFixed(3)} | ${q(ms, 0.5)} / ${q(ms, 0.95)} | ${(fetched / 2 ** 20).toFixed(1)} | ${jobs.filter((j) => j.cloned).length} | ${await failed()} |`;
          rows.push(row);
          console.log(row);
          // The spread over the workers (mirror affinity keeps a repository on one worker: an
          // uneven split of the work shows here, not as clones).
          const per = workers.map((_, k) => jobs.filter((j) => j.worker === k));
          console.log(`   per worker: jobs ${per.map((p) => p.length).join(' / ')}; job seconds ${per.map((p) => (p.reduce((a, j) => a + (j.ms ?? 0), 0) / 1000).toFixed(1)).join(' / ')}`);
        };
        console.log(`\n${w} worker(s): | workers | phase | jobs | wall s | repos/min | Node CPU-s | git CPU-s | daemon CPU-s | postgres CPU-s | CPU-s/repo (all) | CPU-s/repo (worker) | job ms p50 / p95 | MiB fetched | clones | failed |`);
        await phase('clone', () => cli(['org', 'create-insight', '--org', 'bench', '--config', join(work, 'insight-a.json')], env), n);
        await phase('mirrors', () => cli(['org', 'create-insight', '--org', 'bench', '--config', join(work, 'insight-b.json')], env), n);
        // A new commit in 10 % of the repositories (the same ones each run), then one refresh.
        const moved = shapes.filter((_, i) => i % 10 === 3);
        const when = new Date();
        for (const [i, s] of moved.entries()) addCommit(join(orgDir, s.name), new Date(when.getTime() + i * 1000 + w * 3_600_000), i + w * 7919);
        await phase(
          `commit (${moved.length} repos)`,
          async () => {
            const utils = await makeWorkerUtils({ connectionString: url.href });
            await utils.addJob('fleet_refresh', {}, { jobKey: 'fleet_refresh', runAt: new Date() });
            await utils.release();
          },
          moved.length,
        );
      } finally {
        for (const c of workers) c.kill('SIGTERM');
        await Promise.all(workers.map((c) => (c.exitCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
        await pg.end().catch(() => undefined);
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
        await admin.end();
      }
    }
  } finally {
    daemon.kill('SIGTERM');
  }
  console.log(`\nload at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}; git ${execFileSync('git', ['--version']).toString().trim()}`);
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, `result-${Date.now()}.md`), rows.join('\n') + '\n');
}

main().catch((e: unknown) => {
  console.error((e as Error).stack ?? e);
  process.exit(1);
});
