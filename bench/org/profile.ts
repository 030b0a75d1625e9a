// Where an ingest batch's CPU goes, without HTTP: JSON.parse, strict validation and dedupe of
// the service, then ingest() itself split into the service process's CPU and the PostgreSQL
// backend's (read from /proc, so run it on the database's machine). Sequential batches of
// 20,000 points into an empty org, then a re-push of 100,000 stored points (all unchanged).
//
//   node --import tsx bench/org/profile.ts                 # 4,000 repos × 3 series × 52 buckets
//   BENCH_REPOS=1000 DATABASE_URL=postgres://… node --import tsx bench/org/profile.ts
import { loadavg } from 'node:os';
import { validatePushPointsRequest, type OrgPoint, type SeriesDefinition } from '../../protocol/org';
import { openDb } from '../../org/db';
import { migrate } from '../../org/migrate';
import { createOrg, dedupePoints, ingest } from '../../org/store';
import { DEFS, freshDatabase, pointsFrom, procCpu } from './data';

const ADMIN = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const REPOS = Number(process.env.BENCH_REPOS ?? 4000);
const BATCH = 20_000;
function bodies(): string[] {
  const out: string[] = [];
  let cur: OrgPoint[] = [];
  for (const p of pointsFrom(0, REPOS)) {
    cur.push(p);
    if (cur.length === BATCH) {
      out.push(JSON.stringify({ definitions: DEFS, points: cur }));
      cur = [];
    }
  }
  if (cur.length) out.push(JSON.stringify({ definitions: DEFS, points: cur }));
  return out;
}

async function main() {
  const name = 'ci_org_profile';
  const { url, admin } = await freshDatabase(ADMIN, name);
  const db = await openDb({ databaseUrl: url, poolSize: 1 });
  try {
    await migrate(db);
    const org = await createOrg(db, 'profile');
    const texts = bodies();
    let n = 0;
    let tParse = 0;
    let tValidate = 0;
    let tDedupe = 0;
    const batches: { definitions: SeriesDefinition[]; points: OrgPoint[] }[] = [];
    for (const text of texts) {
      let t = performance.now();
      const json = JSON.parse(text);
      tParse += performance.now() - t;
      t = performance.now();
      const v = validatePushPointsRequest(json);
      tValidate += performance.now() - t;
      if (!v.ok) throw new Error(v.message);
      t = performance.now();
      dedupePoints(v.value.points);
      tDedupe += performance.now() - t;
      batches.push(v.value);
      n += v.value.points.length;
    }
    const us = (ms: number, count = n) => ((ms * 1000) / count).toFixed(2);
    console.log(`${n.toLocaleString()} points, ${(texts[0].length / BATCH).toFixed(0)} bytes of JSON each; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    console.log(`service, per point: JSON.parse ${us(tParse)} µs, validation ${us(tValidate)} µs, dedupe ${us(tDedupe)} µs`);

    await db.query('SELECT 1');
    const pids = (await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [name])).rows.map((r) => r.pid);
    const pgCpu = () => pids.reduce((a, p) => a + procCpu(p), 0);
    const run = async (list: typeof batches, label: string) => {
      const count = list.reduce((a, b) => a + b.points.length, 0);
      const c0 = process.cpuUsage();
      const p0 = pgCpu();
      const t0 = performance.now();
      for (const b of list) await ingest(db, org.id, b.definitions, b.points);
      const ms = performance.now() - t0;
      const c1 = process.cpuUsage(c0);
      console.log(
        `ingest() ${label}, one batch at a time: ${Math.round(count / (ms / 1000)).toLocaleString()} points/s; per point: service ${us((c1.user + c1.system) / 1000, count)} µs, PostgreSQL backend ${us((pgCpu() - p0) * 1000, count)} µs, wall ${us(ms, count)} µs`,
      );
    };
    await run(batches, 'into an empty org');
    await run(batches.slice(0, 5), 'again (all unchanged)');
  } finally {
    await db.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
