// Jobs per second of graphile-worker itself (no-op tasks) on the PostgreSQL of DATABASE_URL, in a
// database of its own: what the queue costs per fleet job, apart from git and the engine.
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node --import tsx bench/fleet/queue.ts [JOBS] [CONCURRENCY]
import { randomBytes } from 'node:crypto';
import { makeWorkerUtils, run } from 'graphile-worker';
import { Client, Pool } from 'pg';

async function main(): Promise<void> {
  const admin = process.env.DATABASE_URL;
  if (!admin) throw new Error('set DATABASE_URL to a PostgreSQL server (a database is created and dropped)');
  const jobs = Number(process.argv[2] ?? 5000);
  const concurrency = Number(process.argv[3] ?? 4);
  const name = `ci_bench_queue_${randomBytes(4).toString('hex')}`;
  const c = new Client({ connectionString: admin });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  // One pool for graphile-worker's utils and runner, ended before the database is dropped (a pool
  // of its own would see its idle connections terminated by the DROP and throw).
  const pool = new Pool({ connectionString: url.href, max: concurrency + 4 });
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const quiet = new (await import('graphile-worker')).Logger(() => () => {});
  try {
    const utils = await makeWorkerUtils({ pgPool: pool, logger: quiet });
    await utils.migrate();
    const t0 = performance.now();
    for (let i = 0; i < jobs; i += 1000) {
      await utils.addJobs(Array.from({ length: Math.min(1000, jobs - i) }, (_, k) => ({ identifier: 'noop', payload: { i: i + k }, jobKey: `bench:${i + k}` })));
    }
    const added = performance.now() - t0;
    let done = 0;
    let finish!: () => void;
    const all = new Promise<void>((r) => (finish = r));
    const t1 = performance.now();
    const runner = await run({
      pgPool: pool,
      concurrency,
      noHandleSignals: true,
      pollInterval: 1000,
      parsedCronItems: [],
      logger: quiet,
      taskList: {
        noop: async () => {
          if (++done === jobs) finish();
        },
      },
    });
    await all;
    const ran = performance.now() - t1;
    await runner.stop();
    await utils.release();
    console.log(JSON.stringify({ jobs, concurrency, enqueuePerSecond: Math.round(jobs / (added / 1000)), runPerSecond: Math.round(jobs / (ran / 1000)) }));
  } finally {
    await pool.end();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
