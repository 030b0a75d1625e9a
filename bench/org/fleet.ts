// The org service under a fleet of pushers (issue 12): many concurrent small pushes, each one
// repository's 3 series × 52 weeks = 156 points, from several client processes, while a
// dashboard reads; on PostgreSQL and on PGlite. Reports pushes/s, points/s, push latency
// p50/p95/p99, dashboard read p95 alone and under the write load, and a plain multi-row INSERT
// of the same rows (one 156-row statement per push, as many connections as pushes in flight)
// in the same run.
//
//   npm run bench:org                                   # both backends (PostgreSQL at DATABASE_URL or the local `test` server)
//   BENCH_BACKENDS=pglite BENCH_SECONDS=10 npm run bench:org
//   BENCH_PUSHERS=4 BENCH_INFLIGHT=4 npm run bench:org  # client processes × pushes in flight each
//   npm run bench:org:bulk                              # the bulk ingest and 100,000-repository reads (run.ts)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from 'pg';
import type { PushPointsRequest } from '../../protocol/org';
import { openDb, type OrgDb } from '../../org/db';
import { migrate } from '../../org/migrate';
import { createOrg, createToken } from '../../org/store';
import { BUCKETS, DEFS, freshDatabase, pointsFrom, procCpu } from './data';

const ROOT = join(__dirname, '..', '..');
const ADMIN_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const PUSHERS = Number(process.env.BENCH_PUSHERS ?? 4);
const INFLIGHT = Number(process.env.BENCH_INFLIGHT ?? 4);
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'postgres,pglite').split(',');
const POINTS_PER_PUSH = DEFS.length * BUCKETS;

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (x: number) => `${x.toFixed(1)} ms`;
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

function body(repo: number): string {
  const req: PushPointsRequest = { definitions: DEFS, points: [...pointsFrom(repo, repo + 1)] };
  return JSON.stringify(req);
}

// ---- a pusher process: INFLIGHT loops, each pushing one new repository at a time until the deadline
async function pusher(base: string, token: string, firstRepo: number, stride: number, until: number): Promise<void> {
  const lat: number[] = [];
  let next = firstRepo;
  let errors = 0;
  // The span this process pushed (wall clock, comparable across processes): the main process
  // rates pushes over the pushers' span, not over their start-up (tsx loading), and counts as
  // reads under load only those made while every pusher was pushing.
  const first = Date.now();
  await Promise.all(
    Array.from({ length: INFLIGHT }, async () => {
      while (Date.now() < until) {
        const repo = next;
        next += stride;
        const b = body(repo);
        const t0 = performance.now();
        const res = await fetch(`${base}/api/v1/points`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: b });
        await res.arrayBuffer();
        lat.push(performance.now() - t0);
        if (res.status !== 200) errors++;
      }
    }),
  );
  const u = process.cpuUsage();
  process.stdout.write(`${JSON.stringify({ lat, errors, cpu: (u.user + u.system) / 1e6, first, last: Date.now() })}\n`);
}

function startService(args: string[]): Promise<{ child: ChildProcess; base: string }> {
  // BENCH_SERVICE_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the service.
  const nodeArgs = (process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', join(ROOT, 'org', 'main.ts'), 'serve', '--port', '0', '--rate-limit', '1000000', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, DATABASE_URL: '' },
  });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const j = JSON.parse(line);
        if (j.msg === 'listening') resolve({ child, base: `http://127.0.0.1:${j.port}` });
        if (j.level >= 50) process.stderr.write(`${line}\n`);
      } catch {
        /* not JSON */
      }
    });
    child.on('exit', (c) => reject(new Error(`service exited ${c}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

async function setup(db: OrgDb): Promise<{ write: string; read: string; orgId: string }> {
  await migrate(db);
  const org = await createOrg(db, 'fleet');
  return { write: (await createToken(db, 'fleet', 'write')).token, read: (await createToken(db, 'fleet', 'read')).token, orgId: org.id };
}

/** Dashboard reads (unfiltered, the org's first series) one after another until `stopAt()`. */
async function reads(base: string, token: string, stopAt: () => boolean): Promise<{ at: number; ms: number }[]> {
  const lat: { at: number; ms: number }[] = [];
  while (!stopAt()) {
    const at = Date.now();
    const t0 = performance.now();
    const res = await fetch(`${base}/api/v1/series/${DEFS[0].id}`, { headers: { authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`read: HTTP ${res.status}`);
    lat.push({ at, ms: performance.now() - t0 });
  }
  return lat;
}

async function runBackend(backend: string): Promise<void> {
  let serviceArgs: string[];
  let cleanup: () => Promise<void>;
  let tokens: { write: string; read: string; orgId: string };
  let dir: string | undefined;
  let url: string | undefined;
  if (backend === 'postgres') {
    const fresh = await freshDatabase(ADMIN_URL, 'ci_org_fleet_bench');
    await fresh.admin.end();
    url = fresh.url;
    const db = await openDb({ databaseUrl: url });
    tokens = await setup(db);
    await db.close();
    serviceArgs = ['--database-url', url];
    cleanup = async () => {
      const a = new Client({ connectionString: ADMIN_URL });
      await a.connect();
      await a.query('DROP DATABASE IF EXISTS ci_org_fleet_bench WITH (FORCE)');
      await a.end();
    };
  } else {
    dir = mkdtempSync(join(tmpdir(), 'ci-org-fleet-'));
    const db = await openDb({ dataDir: dir });
    tokens = await setup(db);
    await db.close();
    serviceArgs = ['--data', dir];
    cleanup = async () => rmSync(dir!, { recursive: true, force: true });
  }
  const svc = await startService(serviceArgs);
  try {
    // Warm up (JIT, pools) and seed the series so reads have something to read.
    for (let r = 0; r < 20; r++) await fetch(`${svc.base}/api/v1/points`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.write}` }, body: body(1_000_000 + r) });
    const idleEnd = Date.now() + 3_000;
    const idle = (await reads(svc.base, tokens.read, () => Date.now() > idleEnd)).map((r) => r.ms);

    // CPU seconds of the service and of the database's processes (PostgreSQL backends of this
    // database; PGlite runs inside the service): with the machine shared, CPU per push is the
    // figure that does not depend on what else runs.
    const pg = backend === 'postgres' ? new Client({ connectionString: url }) : undefined;
    await pg?.connect();
    const dbCpu = async () => {
      if (!pg) return new Map<number, number>();
      const pids = (await pg.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = 'ci_org_fleet_bench' AND pid <> pg_backend_pid()`)).rows.map((r) => r.pid);
      return new Map(pids.map((p) => [p, procCpu(p)]));
    };
    const svcCpu0 = procCpu(svc.child.pid!);
    const dbCpu0 = await dbCpu();
    const until = Date.now() + 2_000 + SECONDS * 1000; // the pushers start within the first 2 s
    const kids = Array.from({ length: PUSHERS }, (_, i) =>
      spawn(process.execPath, ['--import', 'tsx', __filename, '--pusher', svc.base, tokens.write, String(i), String(PUSHERS), String(until)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] }),
    );
    const outs = kids.map(
      (k) =>
        new Promise<{ lat: number[]; errors: number; cpu: number; first: number; last: number }>((resolve, reject) => {
          let text = '';
          k.stdout!.on('data', (d) => (text += d));
          k.on('exit', (c) => (c === 0 ? resolve(JSON.parse(text)) : reject(new Error(`pusher exited ${c}`))));
        }),
    );
    let writing = true;
    const loaded = reads(svc.base, tokens.read, () => !writing);
    const results = await Promise.all(outs);
    writing = false;
    // From the first push of any pusher to the last answer of any (start-up excluded).
    const firsts = results.map((r) => r.first);
    const lasts = results.map((r) => r.last);
    const wall = (Math.max(...lasts) - Math.min(...firsts)) / 1000;
    const allPushing = [Math.max(...firsts), Math.min(...lasts)];
    const underLoad = (await loaded).filter((r) => r.at >= allPushing[0] && r.at < allPushing[1]).map((r) => r.ms);
    const svcCpu = procCpu(svc.child.pid!) - svcCpu0;
    let backendCpu = 0;
    for (const [pid, v] of await dbCpu()) backendCpu += v - (dbCpu0.get(pid) ?? 0);
    await pg?.end();
    const clientCpu = results.reduce((a, r) => a + r.cpu, 0);
    const lat = results.flatMap((r) => r.lat);
    const errors = results.reduce((a, r) => a + r.errors, 0);
    const pushes = lat.length;
    console.log(
      `${backend}: ${PUSHERS} pusher processes × ${INFLIGHT} in flight, ${POINTS_PER_PUSH} points per push: ${pushes} pushes (${errors} not 200) in ${wall.toFixed(1)} s = ` +
        `${(pushes / wall).toFixed(0)} pushes/s, ${Math.round((pushes * POINTS_PER_PUSH) / wall).toLocaleString()} points/s; ` +
        `push latency p50 ${ms(pct(lat, 50))}, p95 ${ms(pct(lat, 95))}, p99 ${ms(pct(lat, 99))}`,
    );
    const per = (x: number) => `${((x * 1000) / pushes).toFixed(1)} ms`;
    console.log(
      `${backend}: CPU per push: service ${per(svcCpu)}${pg ? `, PostgreSQL backends ${per(backendCpu)}` : ' (PGlite inside it)'}, pusher clients ${per(clientCpu)}; ` +
        `service + database ${per(svcCpu + backendCpu)} = at most ${Math.round((2 * pushes) / (svcCpu + backendCpu))} pushes/s on 2 otherwise idle cores (reads included)`,
    );
    console.log(`${backend}: dashboard reads alone p95 ${ms(pct(idle, 95))} (${idle.length} reads, ${(idle.length / 3).toFixed(0)}/s); under the write load p50 ${ms(pct(underLoad, 50))}, p95 ${ms(pct(underLoad, 95))} (${underLoad.length} reads, ${((underLoad.length * 1000) / (allPushing[1] - allPushing[0])).toFixed(0)}/s while every pusher pushed); load average ${load()}`);

    await stop(svc.child);
    // The same rows by a plain multi-row INSERT: one 156-row statement per push into a bare
    // table of the points' shape and primary key (no HTTP, validation, RLS, upsert or aggregate),
    // from as many connections as pushes were in flight (PGlite: its one connection).
    const n = Math.min(pushes, 20_000);
    if (backend === 'postgres') {
      const conns = Math.max(1, Math.min(PUSHERS * INFLIGHT, 10));
      const setupC = new Client({ connectionString: url });
      await setupC.connect();
      await setupC.query('CREATE TABLE plain_points (LIKE points INCLUDING ALL)');
      await setupC.end();
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: conns }, async () => {
          const c = new Client({ connectionString: url });
          await c.connect();
          while (next < n) await plainInsert((sql, p) => c.query(sql, p), tokens.orgId, 2_000_000 + next++);
          await c.end();
        }),
      );
      report(backend, n, (performance.now() - t0) / 1000, conns);
    } else {
      const db = await openDb({ dataDir: dir });
      await db.exec('CREATE TABLE plain_points (LIKE points INCLUDING ALL)');
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await plainInsert((sql, p) => db.query(sql, p), tokens.orgId, 2_000_000 + i);
      report(backend, n, (performance.now() - t0) / 1000, 1);
      await db.close();
    }
  } finally {
    if (svc.child.exitCode === null) await stop(svc.child);
    await cleanup();
  }
}

function report(backend: string, n: number, s: number, conns: number) {
  console.log(`${backend}: plain multi-row INSERT of the same rows (${n} statements of ${POINTS_PER_PUSH} rows, ${conns} connection${conns > 1 ? 's' : ''}): ${(n / s).toFixed(0)} statements/s = ${Math.round((n * POINTS_PER_PUSH) / s).toLocaleString()} points/s`);
}

async function plainInsert(q: (sql: string, params: unknown[]) => Promise<unknown>, orgId: string, repo: number): Promise<void> {
  const params: unknown[] = [];
  const values: string[] = [];
  let k = 0;
  for (const p of pointsFrom(repo, repo + 1)) {
    // series and repo ids as the service would have resolved them (numbers, as in its table)
    params.push(orgId, 1 + DEFS.findIndex((d) => d.id === p.series), repo, p.time, Buffer.from(p.commit, 'hex'), p.commitTime, p.value);
    const o = k++ * 7;
    values.push(`($${o + 1},$${o + 2},$${o + 3},$${o + 4},$${o + 5},$${o + 6},$${o + 7})`);
  }
  await q(`INSERT INTO plain_points (org_id, series_id, repo_id, bucket, commit_sha, commit_time, value) VALUES ${values.join(',')}`, params);
}

async function main() {
  console.log(`org fleet bench ${new Date().toISOString()}: ${SECONDS} s of pushes per backend, load average ${load()}`);
  for (const b of BACKENDS) await runBackend(b);
}

if (process.argv[2] === '--pusher') {
  const [, , , base, token, first, stride, until] = process.argv;
  pusher(base, token, Number(first), Number(stride), Number(until)).then(
    () => process.exit(0),
    (e) => {
      process.stderr.write(`pusher: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
} else {
  main().then(
    () => process.exit(0),
    (e) => {
      process.stderr.write(`${(e as Error).stack}\n`);
      process.exit(1);
    },
  );
}
