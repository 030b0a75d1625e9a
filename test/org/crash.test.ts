// Reliability of the service as a process: kill -9 in the middle of ingest, restart, and every
// acknowledged point is there; retrying every batch (acknowledged or not) duplicates nothing.
// SIGTERM lets an in-flight request finish. The service runs as a real child process.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { openDb } from '../../org/db';
import { migrate } from '../../org/migrate';
import { backends, definition, freshPostgresDatabase, pgliteTemplate, get, makeOrg, post, sha, type TestOrg } from './helpers';

const ROOT = join(__dirname, '..', '..');

interface Service {
  child: ChildProcess;
  base: string;
  lines: string[];
  exited: Promise<number | null>;
}

function startService(dbArgs: string[]): Promise<Service> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'org', 'main.ts'), 'serve', '--port', '0', '--rate-limit', '100000', ...dbArgs], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    // debug: a line as each request arrives (the SIGTERM test waits for it)
    env: { ...process.env, DATABASE_URL: '', CODE_INSIGHTS_ORG_LOG_LEVEL: 'debug' },
  });
  const lines: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not start: ${stderr}`)), 60_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      try {
        const j = JSON.parse(line);
        if (j.msg === 'listening') {
          clearTimeout(timer);
          resolve({ child, base: `http://127.0.0.1:${j.port}`, lines, exited });
        }
      } catch {
        /* not JSON */
      }
    });
    child.on('exit', (code) => reject(new Error(`service exited with ${code}: ${stderr}`)));
  });
}

const TIMES = ['2026-10-05T00:00:00.000Z', '2026-10-12T00:00:00.000Z', '2026-10-19T00:00:00.000Z', '2026-10-26T00:00:00.000Z'];
const REPOS_PER_BATCH = 100;

/** Batch i: its own repos, every bucket, value 1: a bucket's sum is the number of repos stored. */
function batch(i: number) {
  const points = [];
  for (let r = 0; r < REPOS_PER_BATCH; r++) {
    for (const time of TIMES) points.push({ series: definition().id, repo: `github.com/crash/b${i}-r${r}`, time, commit: sha(i + 1), commitTime: '2026-10-01T00:00:00.000Z', value: 1 });
  }
  return { definitions: [definition()], points };
}

for (const backend of backends()) {
  describe(`service process on ${backend}`, () => {
    let dbArgs: string[];
    let org: TestOrg;
    let cleanup: () => Promise<void>;

    before(async () => {
      if (backend === 'pglite') {
        const dir = mkdtempSync(join(tmpdir(), 'ci-org-crash-'));
        cpSync(await pgliteTemplate(), dir, { recursive: true });
        const db = await openDb({ dataDir: dir });
        await migrate(db);
        org = await makeOrg(db, 'crash');
        await db.close();
        dbArgs = ['--data', dir];
        cleanup = async () => rmSync(dir, { recursive: true, force: true });
      } else {
        const fresh = await freshPostgresDatabase();
        const db = await openDb({ databaseUrl: fresh.url });
        await migrate(db);
        org = await makeOrg(db, 'crash');
        await db.close();
        dbArgs = ['--database-url', fresh.url];
        cleanup = fresh.drop;
      }
    });
    after(async () => cleanup?.());

    it('kill -9 mid-ingest: acknowledged points survive, retries do not duplicate', async () => {
      const N = 16;
      let svc = await startService(dbArgs);
      const acked = new Set<number>();
      let next = 0;
      let killed = false;
      // Two senders in parallel; the service is killed once 4 batches are acknowledged,
      // while others are in flight.
      const sender = async () => {
        while (!killed && next < N) {
          const i = next++;
          try {
            const r = await post(svc.base, org.write, batch(i));
            if (r.status === 200) acked.add(i);
            if (acked.size >= 4 && !killed) {
              killed = true;
              svc.child.kill('SIGKILL');
            }
          } catch {
            /* connection reset by the kill */
          }
        }
      };
      await Promise.all([sender(), sender()]);
      assert.equal(await svc.exited, null, 'killed by a signal');
      assert.ok(acked.size >= 4);

      svc = await startService(dbArgs);
      try {
        const s = await get(svc.base, `/api/v1/series/${definition().id}`, org.read);
        assert.equal(s.status, 200);
        for (const p of s.json.points) {
          assert.ok(p.value >= acked.size * REPOS_PER_BATCH, `bucket ${p.time}: ${p.value} < ${acked.size * REPOS_PER_BATCH} acknowledged`);
          assert.equal(p.value % REPOS_PER_BATCH, 0, 'a batch is stored whole or not at all');
        }
        // Retry everything, acknowledged batches included: nothing is counted twice.
        for (let i = 0; i < N; i++) {
          const r = await post(svc.base, org.write, batch(i));
          assert.equal(r.status, 200);
          if (acked.has(i)) assert.equal(r.json.unchanged, REPOS_PER_BATCH * TIMES.length, `batch ${i} was stored before`);
        }
        const all = await get(svc.base, `/api/v1/series/${definition().id}`, org.read);
        const resum = await get(svc.base, `/api/v1/series/${definition().id}?repo=.`, org.read);
        const expected = TIMES.map((time) => ({ time, value: N * REPOS_PER_BATCH, repos: N * REPOS_PER_BATCH }));
        assert.deepEqual(all.json.points, expected);
        assert.deepEqual(resum.json.points, expected);
      } finally {
        svc.child.kill('SIGKILL');
        await svc.exited;
      }
    });

    // Two service processes on one database (PostgreSQL: a PGlite folder has one opener, tested
    // in hardening.test.ts). Each process keeps its own ids of series and repositories and folds
    // totals on its own; pushes of the same new series and repositories race through both, each
    // key with an older commit through one and a newer through the other at the same time.
    if (backend === 'postgres') {
      it('two service processes on one database: racing pushes through both converge, and both read the same exact totals', async () => {
        const [a, b] = await Promise.all([startService(dbArgs), startService(dbArgs)]);
        try {
          const def = definition({ id: 'ace0ace0ace0ace0', query: 'RACE', label: 'race' });
          const K = 40;
          // Version v of repository r: commit v, committed at v o'clock, value 100 v + r.
          const push = (svc: Service, r: number, v: number) =>
            post(svc.base, org.write, {
              definitions: [def],
              points: TIMES.map((time) => ({ series: def.id, repo: `github.com/race/r${r}`, time, commit: sha(v), commitTime: `2026-10-01T0${v}:00:00.000Z`, value: 100 * v + r })),
            });
          // Each repository's two versions at once, one through each process (which one sends
          // the newer alternates), two repositories at a time.
          const round = async (older: number) => {
            const send = async (rs: number[]) => {
              for (const r of rs) {
                const res = await Promise.all([push(a, r, older + (r % 2)), push(b, r, older + 1 - (r % 2))]);
                for (const x of res) assert.equal(x.status, 200, JSON.stringify(x.json));
              }
            };
            const up = Array.from({ length: K }, (_, r) => r);
            await Promise.all([send(up.slice(0, K / 2)), send(up.slice(K / 2).reverse())]);
          };
          const expect = async (newest: number) => {
            const value = Array.from({ length: K }, (_, r) => 100 * newest + r).reduce((x, y) => x + y, 0);
            const expected = TIMES.map((time) => ({ time, value, repos: K }));
            for (const svc of [a, b]) {
              assert.deepEqual((await get(svc.base, `/api/v1/series/${def.id}`, org.read)).json.points, expected);
              assert.deepEqual((await get(svc.base, `/api/v1/series/${def.id}?repo=race/r`, org.read)).json.points, expected, 're-summed from the points');
            }
          };
          // First pushes: the series and repositories are new to the database and both processes.
          await round(1);
          await expect(2);
          // Again with newer versions, now that both processes know every id.
          await round(3);
          await expect(4);
          // Pushing older versions again through either process changes nothing.
          for (const r of [0, 1, K - 1]) assert.equal((await push(r % 2 ? a : b, r, 2)).json.unchanged, TIMES.length);
          await expect(4);
        } finally {
          for (const svc of [a, b]) svc.child.kill('SIGKILL');
          await Promise.all([a.exited, b.exited]);
        }
      });
    }

    it('SIGTERM finishes the in-flight request, then exits 0', async () => {
      const svc = await startService(dbArgs);
      const big = batch(1000);
      const inflight = post(svc.base, org.write, big);
      // Wait until the service has the request, then ask it to stop.
      const deadline = Date.now() + 10_000;
      while (!svc.lines.some((l) => l.includes('"incoming request"') && l.includes('/api/v1/points')) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 5));
      }
      svc.child.kill('SIGTERM');
      const t0 = Date.now();
      const r = await inflight;
      assert.equal(r.status, 200);
      assert.equal(r.json.accepted, big.points.length);
      assert.equal(await svc.exited, 0);
      assert.ok(Date.now() - t0 < 10_000, 'shutdown does not wait for the keep-alive timeout');
      assert.ok(svc.lines.some((l) => l.includes('shutting down')));
      // Every log line is JSON with a request id where there is a request.
      for (const l of svc.lines) {
        const j = JSON.parse(l);
        if (j.req) assert.ok(j.reqId);
      }
    });
  });
}
