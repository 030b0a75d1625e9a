// PostgreSQL restarts while a client is pushing: the service answers 503 while the database is
// gone, the client backs off and retries, and the push completes with every point stored once.
// Runs only when DATABASE_URL points at the local cluster this test may restart.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { loadSqlJs } from '../../server/store/cache';
import { enqueuePoints, outboxCounts } from '../../server/sync/outbox';
import { pushOutbox } from '../../server/sync/push';
import { definition, get, makeOrg, openTestDb, sha, startApp, type TestDb, type TestOrg } from './helpers';

const run = promisify(execFile);

function clusterVersion(): string | undefined {
  try {
    return readdirSync('/etc/postgresql')[0];
  } catch {
    return undefined;
  }
}

const enabled = Boolean(process.env.DATABASE_URL) && clusterVersion() !== undefined;

describe('push across a PostgreSQL restart', { skip: enabled ? false : 'needs DATABASE_URL and a local cluster (pg_ctlcluster)' }, () => {
  let t: TestDb;
  let srv: Awaited<ReturnType<typeof startApp>>;
  let org: TestOrg;
  before(async () => {
    // The restart cuts every connection of the cluster. scripts/test.mjs runs this file alone
    // after every other one (*.serial.test.ts); still, wait until no org test or bench is
    // connected to the cluster (a run started by hand beside another), so none sees the outage.
    const admin = new Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    const until = Date.now() + 120_000;
    while (Date.now() < until) {
      // Connections, not databases: a database left behind by an interrupted run holds nobody.
      const others = await admin.query(`SELECT datname FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND (datname LIKE 'ci\\_org\\_test\\_%' OR datname = 'ci_org_bench')`);
      if (others.rows.length === 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    await admin.end();
    t = await openTestDb('postgres');
    srv = await startApp(t.db);
    org = await makeOrg(t.db, 'restart');
  });
  after(async () => {
    await srv?.close();
    // The database may need a moment to accept connections again before it can be dropped.
    for (let i = 0; i < 50; i++) {
      try {
        await t?.cleanup();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  });

  it('the client retries through the outage and completes', async () => {
    const SQL = await loadSqlJs();
    const db = new SQL.Database();
    const REPOS = 1500;
    const points = [];
    for (let r = 0; r < REPOS; r++) {
      for (const time of ['2026-11-02T00:00:00.000Z', '2026-11-09T00:00:00.000Z']) {
        points.push({ series: definition().id, repo: `github.com/restart/r${r}`, time, commit: sha(r + 1), commitTime: '2026-11-01T00:00:00.000Z', value: 2 });
      }
    }
    enqueuePoints(db, points, [definition()]);
    let restarted: Promise<unknown> | undefined;
    const retries: string[] = [];
    const res = await pushOutbox(db, {
      server: srv.base,
      token: org.write,
      batchSize: 250,
      baseDelayMs: 200,
      maxDelayMs: 2000,
      maxAttempts: 30,
      onBatch: () => {
        // After the first acknowledged batch, restart the cluster while the rest is sent.
        restarted ??= run('pg_ctlcluster', ['--skip-systemctl-redirect', clusterVersion()!, 'main', 'restart']);
      },
      onRetry: (r) => retries.push(r.reason),
    });
    await restarted;
    assert.equal(res.gaveUp, undefined);
    assert.equal(res.sent, points.length);
    assert.deepEqual(outboxCounts(db), { pending: 0, failed: 0 });
    assert.ok(retries.length > 0, 'the restart was noticed by the client');
    assert.ok(retries.every((r) => /HTTP 503|network error/.test(r)), retries.join('\n'));
    const s = await get(srv.base, `/api/v1/series/${definition().id}`, org.read);
    assert.equal(s.status, 200);
    assert.deepEqual(s.json.points.map((p: { value: number; repos: number }) => [p.value, p.repos]), [
      [REPOS * 2, REPOS],
      [REPOS * 2, REPOS],
    ]);
    const m = await get(srv.base, '/metrics');
    assert.match(m.json, /code_insights_org_http_requests_total\{method="POST",route="\/api\/v1\/points",status="503"\} [1-9]/);
  });
});
