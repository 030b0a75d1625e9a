// Alert rules are evaluated when a fleet job finishes, not only when a developer pushes: the org
// service on PGlite computes runs in process (org/fleet/local.ts) over real git repositories, and a
// rule on the org-wide sum fires when the runs of newly added repositories raise it — one delivery,
// to a real HTTP receiver in this test, sent by the in-process sender.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { buildApp } from '../../org/app';
import { startLocalFleet, type LocalFleet } from '../../org/fleet/local';
import { startLocalAlertSender, type AlertSender } from '../../org/alerts/runner';
import { evaluateAfterIngest } from '../../org/alerts/store';
import { get, makeOrg, openTestDb, type TestDb, type TestOrg } from './helpers';
import { generateRepos, INSIGHT } from './fleet/fleetOrg';

async function call(base: string, method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(base + path, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, json: await r.json() };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('alerts evaluated when fleet jobs finish (PGlite, in process)', () => {
  let t: TestDb;
  let work: string;
  let org: TestOrg;
  let fleet: LocalFleet;
  let sender: AlertSender;
  let app: Awaited<ReturnType<typeof buildApp>>['app'];
  let base: string;
  let repos: string[];
  let receiver: Server;
  let hook: string;
  const got: any[] = [];

  before(async () => {
    process.env.CODE_INSIGHTS_ALERT_ALLOW_PRIVATE = '1'; // the receiver is on loopback
    work = mkdtempSync(join(tmpdir(), 'ci-alerts-fleet-'));
    repos = generateRepos(join(work, 'repos'), 3).map((n) => join(work, 'repos', n));
    t = await openTestDb('pglite');
    org = await makeOrg(t.db, 'alerting');
    const log = pino({ level: 'silent' });
    sender = startLocalAlertSender(t.db, log, { idleWait: 100 });
    fleet = startLocalFleet(t.db, {
      mirrorDir: join(work, 'mirrors'),
      mirrorBudget: 0,
      refreshInterval: 3600,
      idleWait: 200,
      engineCache: true,
      log,
      onStored: (o, keys) => evaluateAfterIngest(t.db, o, keys, sender.dispatcher),
    });
    ({ app } = await buildApp({ db: t.db, logger: false, rateLimit: { perSecond: 100_000, burst: 100_000 }, fleet: { onQueued: () => fleet.wake(), allowLocalPaths: true }, alerts: { dispatcher: sender.dispatcher } }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    receiver = createServer((req, res) => {
      let s = '';
      req.on('data', (d) => (s += d));
      req.on('end', () => {
        got.push(JSON.parse(s));
        res.end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    hook = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  });
  after(async () => {
    await fleet?.stop();
    await sender?.stop();
    await app?.close();
    await new Promise((r) => receiver?.close(r));
    await t?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const allDone = () =>
    waitFor('the runs', async () => {
      const s = (await get(base, '/api/v1/fleet/status', org.read)).json.insights[0];
      return s && s.done === s.total && s.queued === 0 && s.running === 0 && s;
    });

  it('fires once when the runs of added repositories raise the org-wide sum above the threshold', async () => {
    assert.equal((await call(base, 'POST', '/api/v1/fleet/repos', org.admin, { urls: [repos[0]] })).status, 200);
    const made = await call(base, 'POST', '/api/v1/fleet/insights', org.admin, { config: JSON.stringify({ insights: [INSIGHT] }), scope: { kind: 'all' } });
    assert.equal(made.status, 200, JSON.stringify(made.json));
    await allDone();
    const todo = (await get(base, '/api/v1/series', org.read)).json.series.find((s: { query: string }) => s.query === 'TODO');
    const before = (await get(base, `/api/v1/series/${todo.id}`, org.read)).json.points.at(-1).value as number;
    const rule = await call(base, 'POST', '/api/v1/alerts', org.write, { series: todo.id, condition: { kind: 'threshold', above: before }, webhook: hook });
    assert.equal(rule.status, 200);
    assert.equal(rule.json.rule.state, 'ok');

    assert.equal((await call(base, 'POST', '/api/v1/fleet/repos', org.admin, { urls: [repos[1], repos[2]] })).status, 200);
    await allDone();
    const after = (await get(base, `/api/v1/series/${todo.id}`, org.read)).json.points.at(-1).value as number;
    assert.ok(after > before);
    await waitFor('the delivery', async () => got.length >= 1);
    const h = (await get(base, `/api/v1/alerts/${rule.json.rule.id}/history`, org.read)).json;
    assert.deepEqual(
      h.events.map((e: { status: string }) => e.status),
      ['firing'],
    );
    assert.equal(got.length, 1);
    assert.equal(got[0].status, 'firing');
    // the first of the two runs to finish may already cross it: fired then, not again after the second
    assert.ok(got[0].value > before && got[0].value <= after, `${before} < ${got[0].value} <= ${after}`);
    assert.equal((await get(base, '/api/v1/alerts', org.read)).json.rules[0].value, after);
    assert.equal(got[0].series.id, todo.id);
  });
});
