// Org alerts end to end on each backend (PGlite always; PostgreSQL with DATABASE_URL): rules made
// over the API, points pushed over HTTP, webhooks delivered to a real HTTP receiver in this test
// (graphile-worker jobs on PostgreSQL, the in-process sender on PGlite). Exactly one delivery per
// crossing, retried after the receiver fails twice, none for a value that wobbles back inside the
// pending period; bodies carry numbers, ids, the label, times and links only; rules, history and
// deliveries of one org are invisible to another, in the database itself; the preview count.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import type { AlertHistoryResponse, AlertListResponse, AlertRule } from '../../protocol/alerts';
import type { SeriesDefinition } from '../../protocol/org';
import { buildApp } from '../../org/app';
import { withOrg } from '../../org/db';
import { startGraphileAlertSender, startLocalAlertSender, type AlertSender } from '../../org/alerts/runner';
import { backends, definition, get, makeOrg, openTestDb, point, post, sha, type TestDb, type TestOrg } from './helpers';

const silent = pino({ level: 'silent' });
const WEEK = 7 * 24 * 3600 * 1000;
const T0 = Date.parse('2026-01-05T00:00:00.000Z');
const week = (i: number) => new Date(T0 + i * WEEK).toISOString();
const PUBLIC = 'https://insights.example.test';

interface Received {
  path: string;
  status: number;
  body: any;
}

/** A local webhook receiver: records every request; a path can be told to fail its first N. */
async function startReceiver(): Promise<{ url: string; got: Received[]; failFirst: Map<string, number>; close(): Promise<void> }> {
  const got: Received[] = [];
  const failFirst = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (text += d));
    req.on('end', () => {
      const left = failFirst.get(req.url!) ?? 0;
      const status = left > 0 ? 500 : 200;
      if (left > 0) failFirst.set(req.url!, left - 1);
      got.push({ path: req.url!, status, body: JSON.parse(text) });
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status === 200 ? 'ok' : 'receiver down');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, got, failFirst, close: () => new Promise((r) => server.close(() => r())) };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function call(base: string, method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

/** Keys a webhook body may have, at any depth. */
const ALLOWED_KEYS = new Set(['version', 'status', 'org', 'rule', 'id', 'kind', 'pendingSeconds', 'series', 'label', 'event', 'time', 'value', 'since', 'detail', 'above', 'below', 'baseline', 'target', 'by', 'projected', 'missedByWeeks', 'links', 'page']);

function walk(v: unknown, visit: (key: string | null, value: unknown) => void, key: string | null = null): void {
  visit(key, v);
  if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, visit, Array.isArray(v) ? null : k);
}

for (const backend of backends()) {
  describe(`org alerts (${backend})`, () => {
    let t: TestDb;
    let a: TestOrg;
    let b: TestOrg;
    let app: FastifyInstance;
    let base: string;
    let sender: AlertSender;
    let rx: Awaited<ReturnType<typeof startReceiver>>;
    let seq = 0;
    const savedPublic = process.env.CODE_INSIGHTS_ORG_PUBLIC_URL;

    /** A series of its own per scenario, with text that must never reach a webhook. */
    const series = (n: number, over: Partial<SeriesDefinition> = {}): SeriesDefinition =>
      definition({ id: `a1e47000000000${String(n).padStart(2, '0')}`, label: `Old logger calls ${n}`, query: 'oldLogger\\(', include: ['src/secret/**'], ...over });

    /** Pushes one week's value of the series (one repository), as a developer's push would. */
    const push = async (org: TestOrg, def: SeriesDefinition, i: number, value: number) => {
      seq++;
      const r = await post(base, org.write, {
        definitions: [def],
        points: [point({ series: def.id, repo: 'github.com/acme/secret-service', time: week(i), commit: sha(seq), commitTime: new Date(T0 + i * WEEK - 3600_000 + seq).toISOString(), value })],
      });
      assert.equal(r.status, 200, JSON.stringify(r.json));
    };
    const create = async (org: TestOrg, body: unknown): Promise<AlertRule> => {
      const r = await call(base, 'POST', '/api/v1/alerts', org.write, body);
      assert.equal(r.status, 200, JSON.stringify(r.json));
      return r.json.rule;
    };
    const history = async (org: TestOrg, id: string): Promise<AlertHistoryResponse> => {
      const r = await get(base, `/api/v1/alerts/${id}/history`, org.read);
      assert.equal(r.status, 200, JSON.stringify(r.json));
      return r.json;
    };
    const ruleOf = async (org: TestOrg, id: string): Promise<AlertRule> => {
      const r = await get(base, '/api/v1/alerts', org.read);
      return (r.json as AlertListResponse).rules.find((x) => x.id === id)!;
    };
    /** Waits until every delivery of the rule was sent (or failed for good), `n` of them. */
    const settled = (org: TestOrg, id: string, n: number) =>
      waitFor(`${n} deliveries of rule ${id}`, async () => {
        const h = await history(org, id);
        return h.deliveries.length === n && h.deliveries.every((d) => d.state !== 'pending') && h;
      });

    before(async () => {
      process.env.CODE_INSIGHTS_ORG_PUBLIC_URL = PUBLIC;
      process.env.CODE_INSIGHTS_ALERT_ALLOW_PRIVATE = '1'; // the receiver is on loopback
      t = await openTestDb(backend);
      a = await makeOrg(t.db);
      b = await makeOrg(t.db);
      rx = await startReceiver();
      // PGlite: the in-process sender, its e^attempt s backoff scaled down for the test;
      // PostgreSQL: graphile-worker with its own backoff (e^1 + e^2 s for two failures).
      sender = backend === 'pglite' ? startLocalAlertSender(t.db, silent, { backoffScale: 0.05, idleWait: 100 }) : await startGraphileAlertSender(t.db, t.url!, silent, { pollInterval: 100 });
      ({ app } = await buildApp({ db: t.db, logger: false, rateLimit: { perSecond: 100_000, burst: 100_000 }, alerts: { dispatcher: sender.dispatcher } }));
      await app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    });

    after(async () => {
      await app?.close();
      await sender?.stop();
      await rx?.close();
      await t?.cleanup();
      if (savedPublic === undefined) delete process.env.CODE_INSIGHTS_ORG_PUBLIC_URL;
      else process.env.CODE_INSIGHTS_ORG_PUBLIC_URL = savedPublic;
    });

    it('delivers exactly once per crossing, and once when it resolves; the bodies hold numbers, ids, the label, times and links only', async () => {
      const def = series(1);
      const json = await create(a, { series: def.id, condition: { kind: 'threshold', above: 10 }, webhook: `${rx.url}/json`, format: 'json' });
      const slack = await create(a, { series: def.id, condition: { kind: 'threshold', above: 10 }, webhook: `${rx.url}/slack`, format: 'slack' });
      assert.equal(json.state, 'ok');
      for (const [i, v] of [5, 12, 13, 14, 8, 15].entries()) await push(a, def, i, v);
      // Pushing the same points again changes nothing, so evaluates nothing.
      seq -= 6;
      for (const [i, v] of [5, 12, 13, 14, 8, 15].entries()) await push(a, def, i, v);
      await settled(a, json.id, 3);
      await settled(a, slack.id, 3);
      const bodies = rx.got.filter((g) => g.path === '/json').map((g) => g.body);
      assert.deepEqual(
        bodies.map((x) => [x.status, x.value, x.time]),
        [
          ['firing', 12, week(1)],
          ['resolved', 8, week(4)],
          ['firing', 15, week(5)],
        ],
      );
      assert.equal((await ruleOf(a, json.id)).state, 'firing');
      const first = bodies[0];
      assert.equal(first.org, a.name);
      assert.deepEqual(first.rule, { id: json.id, kind: 'threshold', pendingSeconds: 0 });
      assert.deepEqual(first.series, { id: def.id, label: def.label });
      assert.deepEqual(first.detail, { above: 10, below: null });
      assert.deepEqual(first.links, { page: `${PUBLIC}/#alert-${json.id}`, series: `${PUBLIC}/api/v1/series/${def.id}` });
      const slackBodies = rx.got.filter((g) => g.path === '/slack').map((g) => g.body);
      assert.equal(slackBodies.length, 3);
      for (const s of slackBodies) assert.deepEqual(Object.keys(s), ['text']);
      assert.match(slackBodies[0].text, /^\[FIRING\] .* Old logger calls 1: 12 is above 10 \(alert rule \d+, 2026-01-12\) <https:\/\/insights\.example\.test\/#alert-\d+\|open>$/);
      assert.match(slackBodies[1].text, /^\[RESOLVED\] /);
      for (const x of [...bodies, ...slackBodies]) {
        const text = JSON.stringify(x);
        // no query, no repository, no path, no file text
        for (const secret of ['oldLogger', 'secret-service', 'src/', 'secret/**', 'github.com']) assert.ok(!text.includes(secret), `${secret} in ${text}`);
      }
      for (const x of bodies) {
        walk(x, (k, v) => {
          if (k !== null) assert.ok(ALLOWED_KEYS.has(k), `unexpected key ${k}`);
          if (typeof v === 'string') {
            const ok = v === def.label || v === a.name || /^(firing|resolved|threshold|ratchet|target)$/.test(v) || /^\d+$/.test(v) || /^[0-9a-f]{16,64}$/.test(v) || /^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(v) || v.startsWith(`${PUBLIC}/`);
            assert.ok(ok, `unexpected text in a webhook body: ${v}`);
          }
        });
      }
    });

    it('retries a delivery after the receiver fails twice, with the attempts in the history', async () => {
      const def = series(2);
      rx.failFirst.set('/retry', 2);
      const rule = await create(a, { series: def.id, condition: { kind: 'threshold', below: 3 }, webhook: `${rx.url}/retry` });
      await push(a, def, 0, 5);
      await push(a, def, 1, 2);
      const h = await waitFor('the retried delivery', async () => {
        const x = await history(a, rule.id);
        return x.deliveries[0]?.state === 'delivered' && x;
      });
      assert.equal(h.deliveries.length, 1);
      assert.equal(h.deliveries[0].attempts, 3);
      assert.equal(h.deliveries[0].lastStatus, 200);
      assert.deepEqual(
        rx.got.filter((g) => g.path === '/retry').map((g) => [g.status, g.body.status, g.body.value]),
        [
          [500, 'firing', 2],
          [500, 'firing', 2],
          [200, 'firing', 2],
        ],
      );
    });

    it('never fires for a value that goes back inside the pending period; fires once when it stays broken for it', async () => {
      const def = series(3);
      const rule = await create(a, { series: def.id, condition: { kind: 'threshold', above: 10 }, pendingSeconds: 14 * 24 * 3600, webhook: `${rx.url}/pending` });
      await push(a, def, 0, 5);
      await push(a, def, 1, 12);
      assert.equal((await ruleOf(a, rule.id)).state, 'pending');
      await push(a, def, 2, 13); // broken for one week: still pending
      assert.equal((await ruleOf(a, rule.id)).state, 'pending');
      await push(a, def, 3, 8); // back inside before two weeks passed
      assert.equal((await ruleOf(a, rule.id)).state, 'ok');
      assert.deepEqual((await history(a, rule.id)).events, []);
      await push(a, def, 4, 11);
      await push(a, def, 5, 12);
      await push(a, def, 6, 14); // two weeks broken: fires
      const h = await settled(a, rule.id, 1);
      assert.deepEqual(
        h.events.map((e) => [e.status, e.value, e.time]),
        [['firing', 14, week(6)]],
      );
      const got = rx.got.filter((g) => g.path === '/pending');
      assert.equal(got.length, 1);
      assert.equal(got[0].body.since, week(4));
    });

    it('counts on preview how many times a rule would have fired over the stored points', async () => {
      const def = series(4);
      const values = [5, 12, 13, 8, 15, 9, 9, 11];
      seq++;
      const r = await post(base, a.write, {
        definitions: [def],
        points: values.map((v, i) => point({ series: def.id, repo: 'github.com/acme/x', time: week(i), commit: sha(1000 + i), commitTime: week(i), value: v })),
      });
      assert.equal(r.status, 200);
      const preview = async (pendingSeconds: number, condition: unknown = { kind: 'threshold', above: 10 }) => {
        const p = await call(base, 'POST', '/api/v1/alerts/preview', a.read, { series: def.id, condition, pendingSeconds });
        assert.equal(p.status, 200, JSON.stringify(p.json));
        return p.json;
      };
      const now = await preview(0);
      assert.equal(now.points, 8);
      assert.equal(now.fired, 3);
      assert.deepEqual(
        now.firings.map((f: { time: string; resolved: string | null }) => [f.time, f.resolved]),
        [
          [week(1), week(3)],
          [week(4), week(5)],
          [week(7), null],
        ],
      );
      assert.equal(now.state, 'firing');
      assert.equal((await preview(7 * 24 * 3600)).fired, 1); // only 12, 13 lasted a week
      assert.equal((await preview(0, { kind: 'ratchet', baseline: 'lowest' })).fired, 1); // above 5 from the second point on
      assert.equal((await preview(0, { kind: 'ratchet', baseline: 'previous' })).fired, 3); // 12 > 5 (13 > 12), 15 > 8, 11 > 9
      // a preview changes nothing and needs only a read token; an unknown series is a 404
      assert.equal((await call(base, 'POST', '/api/v1/alerts/preview', a.read, { series: 'ffffffffffffffff', condition: { kind: 'threshold', above: 1 } })).status, 404);
    });

    it('keeps the rules, history and deliveries of one org from another, in the database itself', async () => {
      const def = series(5);
      const rule = await create(a, { series: def.id, condition: { kind: 'threshold', above: 100 }, webhook: `${rx.url}/isolated` });
      // org B pushes the same series id far above the threshold: A's rule sums A's points only
      await push(b, def, 0, 1000);
      assert.equal((await ruleOf(a, rule.id)).state, 'ok');
      const listB = await get(base, '/api/v1/alerts', b.read);
      assert.deepEqual(listB.json.rules, []);
      assert.equal((await get(base, `/api/v1/alerts/${rule.id}/history`, b.read)).status, 404);
      assert.deepEqual((await get(base, '/api/v1/alerts/history', b.read)).json, { events: [], deliveries: [] });
      assert.equal((await call(base, 'DELETE', `/api/v1/alerts/${rule.id}`, b.write)).status, 404);
      assert.ok(await ruleOf(a, rule.id));
      // read tokens see the webhook's host only
      assert.match((await ruleOf(a, rule.id)).webhook, /^http:\/\/127\.0\.0\.1:\d+\/…$/);
      for (const table of ['alert_rules', 'alert_events', 'alert_deliveries']) {
        const seen = await withOrg(t.db, b.id, (q) => q.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE org_id = $1`, [a.id]));
        assert.equal(Number(seen[0].n), 0, table);
        const mine = await withOrg(t.db, a.id, (q) => q.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`));
        assert.ok(Number(mine[0].n) > 0, table);
      }
      await assert.rejects(
        withOrg(t.db, b.id, (q) =>
          q.query(`INSERT INTO alert_rules (org_id, series_key, kind, condition, webhook_url, format) VALUES ($1, $2, 'threshold', '{}', 'http://x/', 'json')`, [a.id, def.id]),
        ),
        /row-level security/,
      );
      const upd = await withOrg(t.db, b.id, (q) => q.query(`UPDATE alert_deliveries SET url = 'http://evil/' WHERE org_id = $1 RETURNING 1`, [a.id]));
      assert.equal(upd.length, 0);
    });

    it('refuses bad rules with a clear message, read tokens, and more rules than the cap', async () => {
      const def = series(6);
      const bad = async (body: unknown, re: RegExp) => {
        const r = await call(base, 'POST', '/api/v1/alerts', a.write, body);
        assert.equal(r.status, 400, JSON.stringify(r.json));
        assert.match(r.json.error.message, re);
      };
      await bad({ series: def.id, condition: { kind: 'threshold', above: 1 }, webhook: 'ftp://example.com/x' }, /http:\/\/ or https:\/\//);
      await bad({ series: def.id, condition: { kind: 'threshold', above: 1 }, webhook: 'not a url' }, /is not a URL/);
      await bad({ series: def.id, condition: { kind: 'threshold' }, webhook: `${rx.url}/x` }, /needs above/);
      await bad({ series: def.id, condition: { kind: 'target', target: 0, by: '2027-02-30' }, webhook: `${rx.url}/x` }, /date like/);
      await bad({ series: def.id, condition: { kind: 'sometimes' }, webhook: `${rx.url}/x` }, /threshold, ratchet or target/);
      await bad({ series: 'NOPE', condition: { kind: 'ratchet' }, webhook: `${rx.url}/x` }, /series id/);
      await bad({ series: def.id, condition: { kind: 'ratchet' }, webhook: `${rx.url}/x`, format: 'xml' }, /json or slack/);
      await bad({ series: def.id, condition: { kind: 'ratchet' }, webhook: `${rx.url}/x`, pendingSeconds: -1 }, /pendingSeconds/);
      assert.equal((await call(base, 'POST', '/api/v1/alerts', a.read, { series: def.id, condition: { kind: 'ratchet' }, webhook: `${rx.url}/x` })).status, 403);
      const c = await makeOrg(t.db);
      for (let i = 0; i < 100; i++) await create(c, { series: def.id, condition: { kind: 'ratchet' }, webhook: `${rx.url}/cap` });
      const over = await call(base, 'POST', '/api/v1/alerts', c.write, { series: def.id, condition: { kind: 'ratchet' }, webhook: `${rx.url}/cap` });
      assert.equal(over.status, 409);
      assert.match(over.json.error.message, /delete one first/);
      const del = await call(base, 'DELETE', `/api/v1/alerts/${(await get(base, '/api/v1/alerts', c.read)).json.rules[0].id}`, c.write);
      assert.equal(del.status, 200);
      await create(c, { series: def.id, condition: { kind: 'ratchet' }, webhook: `${rx.url}/cap` });
    });
  });
}
