// Org service benchmark against a real PostgreSQL (DATABASE_URL, default the local `test` db's
// server): ingest throughput end to end (HTTP + validation + upsert + aggregate), side by side
// with a plain multi-row INSERT of the same rows, then dashboard read latency at
// REPOS repositories × 3 series × 52 weekly buckets, unfiltered and repo-regex filtered.
//
//   npm run bench:org                      # 100,000 repos (15.6 M points)
//   BENCH_REPOS=10000 npm run bench:org    # a quicker run
//   BENCH_ONLY=reads npm run bench:org     # data generated in SQL (minutes, not the ingest's), then the reads
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { OrgPoint, PushPointsRequest, SeriesDefinition } from '../../protocol/org';
import { openDb } from '../../org/db';
import { migrate } from '../../org/migrate';
import { createOrg, createToken, filteredReadSql } from '../../org/store';

const ROOT = join(__dirname, '..', '..');
const ADMIN_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const REPOS = Number(process.env.BENCH_REPOS ?? 100_000);
const BUCKETS = 52;
const BATCH = Number(process.env.BENCH_BATCH ?? 20_000);
const PLAIN_REPOS = Number(process.env.BENCH_PLAIN_REPOS ?? Math.min(REPOS, 20_000));
const READS = Number(process.env.BENCH_READS ?? 200);
/** Requests in flight during ingest (and connections of the COPY floor). */
const INFLIGHT = Number(process.env.BENCH_INFLIGHT ?? 2);

/** CPU seconds a process has used so far (Linux /proc; 0 where it cannot be read). */
function procCpu(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

const DEFS: SeriesDefinition[] = ['TODO', 'console\\.log\\(', '@deprecated'].map((query, i) => ({
  id: `${'0123456789abcdef'[i]}`.repeat(32),
  label: ['TODO comments', 'console.log calls', 'Deprecated API'][i],
  query,
  kind: 'series',
  literal: false,
  ignoreCase: false,
  count: 'matches',
  include: [],
  exclude: [],
  maxFileSize: 1 << 20,
  semanticsVersion: 1,
}));
const T0 = Date.UTC(2025, 11, 1);
const TIMES = Array.from({ length: BUCKETS }, (_, b) => new Date(T0 + b * 7 * 86_400_000).toISOString());
const repoName = (r: number) => `github.com/team${r % 100}/service-${r}`;
const sha = (n: number) => n.toString(16).padStart(40, '0');

/** Points in key order: repo-major, then series, then bucket; `count` of them from index `from`. */
function* pointsFrom(repoFrom: number, repoTo: number): Generator<OrgPoint> {
  for (let r = repoFrom; r < repoTo; r++) {
    const repo = repoName(r);
    for (let s = 0; s < DEFS.length; s++) {
      for (let b = 0; b < BUCKETS; b++) {
        yield { series: DEFS[s].id, repo, time: TIMES[b], commit: sha(r * 64 + b + 1), commitTime: TIMES[b], value: (r * 7 + s * 13 + b) % 100 };
      }
    }
  }
}

function batches(repoFrom: number, repoTo: number): Generator<OrgPoint[]> {
  return (function* () {
    let cur: OrgPoint[] = [];
    for (const p of pointsFrom(repoFrom, repoTo)) {
      cur.push(p);
      if (cur.length === BATCH) {
        yield cur;
        cur = [];
      }
    }
    if (cur.length) yield cur;
  })();
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function startService(url: string): Promise<{ child: ChildProcess; base: string }> {
  // BENCH_SERVICE_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the service.
  const nodeArgs = (process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // BENCH_SERVICE_ROOT=/path/to/another/checkout runs that checkout's service (A/B comparisons).
  const serviceRoot = process.env.BENCH_SERVICE_ROOT || ROOT;
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', join(serviceRoot, 'org', 'main.ts'), 'serve', '--port', '0', '--rate-limit', '1000000', '--database-url', url], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const j = JSON.parse(line);
        if (j.msg === 'listening') resolve({ child, base: `http://127.0.0.1:${j.port}` });
        if (j.level >= 50) process.stderr.write(`${line}\n`);
      } catch {
        /* ignore */
      }
    });
    child.on('exit', (c) => reject(new Error(`service exited ${c}`)));
  });
}

async function main() {
  const dbName = 'ci_org_bench';
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const u = new URL(ADMIN_URL);
  u.pathname = `/${dbName}`;
  const url = u.href;

  const db = await openDb({ databaseUrl: url });
  await migrate(db);
  await createOrg(db, 'bench');
  const token = (await createToken(db, 'bench', 'write')).token;
  await createOrg(db, 'bench-read');
  const orgRows = await db.query<{ id: string; name: string }>('SELECT id, name FROM orgs');
  const orgId = orgRows.find((o) => o.name === 'bench')!.id;
  const readToken = (await createToken(db, 'bench', 'read')).token;
  await db.close();

  const svc = await startService(url);
  const total = REPOS * DEFS.length * BUCKETS;
  console.log(`org bench: ${REPOS.toLocaleString()} repos × ${DEFS.length} series × ${BUCKETS} buckets = ${total.toLocaleString()} points, batches of ${BATCH.toLocaleString()}, ${INFLIGHT} in flight, load average ${load()}, PostgreSQL ${url.replace(/\/\/[^@]*@/, '//')}`);

  const readsOnly = process.env.BENCH_ONLY === 'reads';
  const pg = new Client({ connectionString: url });
  await pg.connect();
  const repoIds = new Map<string, string>();
  if (readsOnly) {
    // The same data set, generated by PostgreSQL itself; the aggregate computed from it.
    const started = performance.now();
    await pg.query('BEGIN');
    await pg.query(`INSERT INTO series (org_id, series_key, label, query, kind, literal, ignore_case, count_mode, include, exclude, max_file_size, semantics_version)
      SELECT $1, d->>'id', d->>'label', d->>'query', 'series', false, false, 'matches', '{}', '{}', 1048576, 1 FROM jsonb_array_elements($2::jsonb) d`, [orgId, JSON.stringify(DEFS)]);
    await pg.query(`INSERT INTO repos (org_id, identity) SELECT $1, 'github.com/team' || (r % 100) || '/service-' || r FROM generate_series(0, $2 - 1) r ORDER BY r`, [orgId, REPOS]);
    await pg.query(`INSERT INTO points (org_id, series_id, repo_id, bucket, commit_sha, commit_time, value)
      SELECT $1, s.id, r.id, $2::timestamptz + b * interval '7 days', decode(lpad(to_hex(r.id * 64 + b + 1), 40, '0'), 'hex'), $2::timestamptz + b * interval '7 days', (r.id * 7 + s.id * 13 + b) % 100
      FROM series s CROSS JOIN repos r CROSS JOIN generate_series(0, ${BUCKETS - 1}) b WHERE s.org_id = $1 AND r.org_id = $1 ORDER BY s.id, r.id, b`, [orgId, TIMES[0]]);
    await pg.query(`INSERT INTO series_buckets SELECT org_id, series_id, bucket, sum(value), count(*) FROM points WHERE org_id = $1 GROUP BY 1, 2, 3`, [orgId]);
    await pg.query('COMMIT');
    console.log(`generated ${total.toLocaleString()} points in SQL in ${((performance.now() - started) / 1000).toFixed(0)} s (no ingest measured)`);
  }

  // ---- 1. ingest end to end: INFLIGHT requests in flight (the service parses some while the database stores another)
  const post = async (points: OrgPoint[]) => {
    const body: PushPointsRequest = { definitions: DEFS, points };
    const res = await fetch(`${svc.base}/api/v1/points`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
    const j = (await res.json()) as { inserted?: number; unchanged?: number };
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${JSON.stringify(j)}`);
    return j;
  };
  // Where the CPU goes: this bench process (client: generating and serialising the batches),
  // the service process, the database's backends for the bench database, and PostgreSQL's
  // background writers (WAL writer, checkpointer, background writer).
  const bgPids = (await pg.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE backend_type IN ('walwriter', 'checkpointer', 'background writer')`)).rows.map((r) => r.pid);
  const cpuNow = async () => {
    const backends = (await pg.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [dbName])).rows.map((r) => r.pid);
    const u = process.cpuUsage();
    return { bench: (u.user + u.system) / 1e6, service: procCpu(svc.child.pid!), backends: new Map(backends.map((p) => [p, procCpu(p)])), bg: bgPids.reduce((a, p) => a + procCpu(p), 0) };
  };
  const cpuPerPoint = (a: Awaited<ReturnType<typeof cpuNow>>, b: Awaited<ReturnType<typeof cpuNow>>, n: number) => {
    let backends = 0;
    for (const [pid, v] of b.backends) backends += v - (a.backends.get(pid) ?? 0);
    const us = (x: number) => ((x * 1e6) / n).toFixed(1);
    const total = b.bench - a.bench + (b.service - a.service) + backends + (b.bg - a.bg);
    return `bench client ${us(b.bench - a.bench)} µs, service ${us(b.service - a.service)} µs, PostgreSQL backends ${us(backends)} µs, WAL/background writers ${us(b.bg - a.bg)} µs, total ${us(total)} µs (2 cores: at most ${Math.round(2e6 / Number(us(total))).toLocaleString()} points/s at this cost)`;
  };
  async function ingestAll(from: number, to: number): Promise<{ points: number; ms: number; inserted: number; unchanged: number }> {
    const it = batches(from, to);
    let points = 0;
    let inserted = 0;
    let unchanged = 0;
    const started = performance.now();
    let lastReport = started;
    const worker = async () => {
      for (let n = it.next(); !n.done; n = it.next()) {
        const r = await post(n.value);
        points += n.value.length;
        inserted += r.inserted ?? 0;
        unchanged += r.unchanged ?? 0;
        if (performance.now() - lastReport > 10_000) {
          lastReport = performance.now();
          process.stderr.write(`  … ${points.toLocaleString()} points, ${Math.round(points / ((lastReport - started) / 1000)).toLocaleString()}/s\n`);
        }
      }
    };
    const cpu0 = await cpuNow();
    await Promise.all(Array.from({ length: INFLIGHT }, worker));
    const ms = performance.now() - started;
    console.log(`  cpu per point: ${cpuPerPoint(cpu0, await cpuNow(), points)}; load average ${load()}`);
    return { points, ms, inserted, unchanged };
  }

  if (!readsOnly) {
    // The first PLAIN_REPOS repositories: end to end, then the same rows by plain INSERT.
    const e2eFirst = await ingestAll(0, PLAIN_REPOS);
    const e2eRate = e2eFirst.points / (e2eFirst.ms / 1000);
    console.log(`ingest end to end (first ${PLAIN_REPOS.toLocaleString()} repos, into an empty table): ${e2eFirst.points.toLocaleString()} points in ${(e2eFirst.ms / 1000).toFixed(1)} s = ${Math.round(e2eRate).toLocaleString()} points/s`);

    await pg.query(`CREATE TABLE plain_points (LIKE points INCLUDING ALL)`);
    const seriesIds = new Map((await pg.query<{ id: string; series_key: string }>('SELECT id, series_key FROM series')).rows.map((r) => [r.series_key, r.id]));
    for (const r of (await pg.query<{ id: string; identity: string }>('SELECT id, identity FROM repos')).rows) repoIds.set(r.identity, r.id);
    const ROWS_PER_INSERT = 1000;
    let plainPoints = 0;
    const plainStart = performance.now();
    const plainCpu0 = await cpuNow();
    for (const b of batches(0, PLAIN_REPOS)) {
      await pg.query('BEGIN');
      for (let i = 0; i < b.length; i += ROWS_PER_INSERT) {
        const chunk = b.slice(i, i + ROWS_PER_INSERT);
        const params: unknown[] = [];
        const values = chunk.map((p, k) => {
          params.push(orgId, seriesIds.get(p.series), repoIds.get(p.repo), p.time, Buffer.from(p.commit, 'hex'), p.commitTime, p.value);
          const o = k * 7;
          return `($${o + 1},$${o + 2},$${o + 3},$${o + 4},$${o + 5},$${o + 6},$${o + 7})`;
        });
        await pg.query(`INSERT INTO plain_points (org_id, series_id, repo_id, bucket, commit_sha, commit_time, value) VALUES ${values.join(',')}`, params);
      }
      await pg.query('COMMIT');
      plainPoints += b.length;
    }
    const plainMs = performance.now() - plainStart;
    const plainCpu = cpuPerPoint(plainCpu0, await cpuNow(), plainPoints);
    const plainRate = plainPoints / (plainMs / 1000);
    console.log(`plain multi-row INSERT of the same rows (${ROWS_PER_INSERT}-row statements, ${BATCH.toLocaleString()} per transaction, straight from this process): ${Math.round(plainRate).toLocaleString()} points/s`);
    console.log(`  cpu per point: ${plainCpu}`);
    console.log(`ratio end to end / plain INSERT: ${(e2eRate / plainRate).toFixed(2)}; load average ${load()}`);

    // The floor: COPY of the same rows into a bare table of the same shape and primary key (no
    // upsert, no aggregate, no RLS, no HTTP), ${INFLIGHT} connections each committing 20,000-row
    // transactions — what this machine's PostgreSQL stores at best with the same durability.
    await pg.query('TRUNCATE plain_points');
    const copyIt = batches(0, PLAIN_REPOS);
    let copyPoints = 0;
    const copyClients = await Promise.all(
      Array.from({ length: INFLIGHT }, async () => {
        const c = new Client({ connectionString: url });
        await c.connect();
        return c;
      }),
    );
    const copyCpu0 = await cpuNow();
    const copyStart = performance.now();
    await Promise.all(
      copyClients.map(async (c) => {
        for (let n = copyIt.next(); !n.done; n = copyIt.next()) {
          let text = '';
          for (const p of n.value) text += `${orgId}\t${seriesIds.get(p.series)}\t${repoIds.get(p.repo)}\t${p.time}\t\\\\x${p.commit}\t${p.commitTime}\t${p.value}\n`;
          await c.query('BEGIN');
          await pipeline(Readable.from([text]), c.query(copyFrom('COPY plain_points (org_id, series_id, repo_id, bucket, commit_sha, commit_time, value) FROM STDIN')));
          await c.query('COMMIT');
          copyPoints += n.value.length;
        }
      }),
    );
    const copyRate = copyPoints / ((performance.now() - copyStart) / 1000);
    console.log(`COPY of the same rows into a bare table (${INFLIGHT} connections, ${BATCH.toLocaleString()} per transaction): ${Math.round(copyRate).toLocaleString()} points/s`);
    console.log(`  cpu per point: ${cpuPerPoint(copyCpu0, await cpuNow(), copyPoints)}; load average ${load()}`);
    await Promise.all(copyClients.map((c) => c.end()));
    console.log(`ratio end to end / COPY floor: ${(e2eRate / copyRate).toFixed(2)}`);
    await pg.query('DROP TABLE plain_points');

    // The rest of the data set, end to end.
    if (REPOS > PLAIN_REPOS) {
      const rest = await ingestAll(PLAIN_REPOS, REPOS);
      console.log(`ingest end to end (repos ${PLAIN_REPOS.toLocaleString()}–${REPOS.toLocaleString()}, table growing to ${total.toLocaleString()} rows): ${rest.points.toLocaleString()} points in ${(rest.ms / 1000).toFixed(1)} s = ${Math.round(rest.points / (rest.ms / 1000)).toLocaleString()} points/s`);
    }
    // A retry of already stored batches (the idempotent path: nothing changes).
    const again = await ingestAll(0, Math.min(REPOS, 2_000));
    console.log(`re-ingest of ${again.points.toLocaleString()} already stored points (all unchanged: ${again.unchanged === again.points}): ${Math.round(again.points / (again.ms / 1000)).toLocaleString()} points/s`);
  } else {
    for (const r of (await pg.query<{ id: string; identity: string }>('SELECT id, identity FROM repos LIMIT 1000')).rows) repoIds.set(r.identity, r.id);
  }

  await pg.query('VACUUM ANALYZE points');
  await pg.query('VACUUM ANALYZE repos');
  await pg.query('VACUUM ANALYZE series_buckets');
  const size = await pg.query<{ points: string; idx: string }>(`SELECT pg_size_pretty(pg_table_size('points')) AS points, pg_size_pretty(pg_indexes_size('points')) AS idx`);
  console.log(`points table ${size.rows[0].points}, its indexes ${size.rows[0].idx}`);

  // ---- 2. dashboard reads over HTTP (read token, RLS, JSON), p50/p95
  const read = async (q: string) => {
    const t = performance.now();
    const res = await fetch(`${svc.base}/api/v1/series/${DEFS[0].id}${q}`, { headers: { authorization: `Bearer ${readToken}` } });
    const j = (await res.json()) as { points: { value: number; repos: number }[] };
    if (res.status !== 200) throw new Error(`read ${q}: HTTP ${res.status} ${JSON.stringify(j)}`);
    return { ms: performance.now() - t, j };
  };
  const cases: [string, string, number][] = [
    ['unfiltered (aggregate)', '', READS],
    ['?repo=^github\\.com/team7/ (1% of repos)', `?repo=${encodeURIComponent('^github\\.com/team7/')}`, Math.min(READS, 60)],
    ['?repo=^github\\.com/team[0-9]/ (10%)', `?repo=${encodeURIComponent('^github\\.com/team[0-9]/')}`, Math.min(READS, 30)],
    ['?repo=service (100%)', '?repo=service', Math.min(READS, 15)],
  ];
  for (const [name, q, n] of cases) {
    await read(q); // warm
    const ms: number[] = [];
    let last;
    for (let i = 0; i < n; i++) {
      const r = await read(q);
      ms.push(r.ms);
      last = r.j;
    }
    console.log(`read ${name}: p50 ${pct(ms, 50).toFixed(1)} ms, p95 ${pct(ms, 95).toFixed(1)} ms (${n} requests; ${last!.points.length} buckets, ${last!.points[0]?.repos.toLocaleString()} repos at the first)`);
  }

  // ---- 3. the plans behind those reads (for org/README.md)
  const sid = (await pg.query<{ id: string }>('SELECT id FROM series WHERE series_key = $1', [DEFS[0].id])).rows[0].id;
  const explain = async (title: string, sql: string, params: unknown[]) => {
    const r = await pg.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sql}`, params);
    console.log(`\n-- EXPLAIN ${title}\n${r.rows.map((x: Record<string, string>) => x['QUERY PLAN']).join('\n')}`);
  };
  await explain('unfiltered read', 'SELECT bucket, total, repos FROM series_buckets WHERE org_id = $1 AND series_id = $2 ORDER BY bucket', [orgId, sid]);
  const f1 = filteredReadSql({ include: '^github\\.com/team7/' });
  await explain('filtered read, 1% of repos kept (summed directly)', f1.sql, [orgId, sid, ...f1.extra]);
  const f2 = filteredReadSql({ include: 'service' });
  await explain('filtered read, all repos kept (aggregate minus none)', f2.sql, [orgId, sid, ...f2.extra]);
  await explain('ingest: the points a batch replaces (1,000 keys)', `SELECT p.value FROM unnest($2::bigint[], $3::bigint[], $4::timestamptz[]) AS i(series_id, repo_id, bucket)
     JOIN points p ON p.org_id = $1 AND p.series_id = i.series_id AND p.repo_id = i.repo_id AND p.bucket = i.bucket`, [
    orgId,
    Array(1000).fill(sid),
    [...repoIds.values()].slice(0, 1000),
    Array(1000).fill(TIMES[0]),
  ]);
  await pg.end();
  svc.child.kill('SIGTERM');
  if (!process.env.BENCH_KEEP) {
    const a2 = new Client({ connectionString: ADMIN_URL });
    await a2.connect();
    await new Promise((r) => setTimeout(r, 500));
    await a2.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await a2.end();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
