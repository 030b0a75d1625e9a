// The org service's HTTP API on a real database (PGlite; and PostgreSQL when DATABASE_URL is set):
// auth and isolation between orgs, validation, idempotency, newer-commit-wins, repo filters,
// rate limits, metrics.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { withOrg } from '../../org/db';
import { ingest } from '../../org/store';
import { backends, definition, get, makeOrg, openTestDb, point, post, sha, startApp, type TestDb, type TestOrg } from './helpers';

for (const backend of backends()) {
  describe(`org API on ${backend}`, () => {
    let t: TestDb;
    let srv: Awaited<ReturnType<typeof startApp>>;
    let a: TestOrg;
    let b: TestOrg;
    const def = definition();
    const S = def.id;

    before(async () => {
      t = await openTestDb(backend);
      srv = await startApp(t.db);
      a = await makeOrg(t.db, 'acme');
      b = await makeOrg(t.db, 'beta');
    });
    after(async () => {
      await srv?.close();
      await t?.cleanup();
    });

    it('401 without a token or with a bad one, 403 with the wrong scope', async () => {
      let r = await post(srv.base, undefined, { definitions: [], points: [] });
      assert.equal(r.status, 401);
      assert.equal(r.json.error.code, 'UNAUTHORIZED');
      r = await post(srv.base, 'cit_' + 'A'.repeat(43), { definitions: [], points: [] });
      assert.equal(r.status, 401);
      r = await post(srv.base, a.read, { definitions: [], points: [] });
      assert.equal(r.status, 403);
      assert.match(r.json.error.message, /needs a "write" token/);
      assert.equal((await get(srv.base, `/api/v1/series/${S}`, a.write)).status, 403);
      assert.equal((await get(srv.base, `/api/v1/series`)).status, 401);
      const raw = await fetch(`${srv.base}/api/v1/series`, { headers: { authorization: a.read } }); // no "Bearer"
      assert.equal(raw.status, 401);
    });

    it('stores a batch, answers what was stored, and sums it per bucket', async () => {
      const r = await post(srv.base, a.write, {
        definitions: [def],
        points: [
          point({ repo: 'github.com/acme/api', value: 3 }),
          point({ repo: 'github.com/acme/web', value: 4 }),
          point({ repo: 'github.com/acme/web', value: 4 }), // duplicate within the batch
          point({ repo: 'github.com/acme/api', time: '2026-11-09T00:00:00.000Z', value: 5 }),
        ],
      });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.deepEqual(r.json, { received: 4, accepted: 3, inserted: 3, updated: 0, unchanged: 0, definitions: 1 });
      const s = await get(srv.base, `/api/v1/series/${S}`, a.read);
      assert.equal(s.status, 200);
      assert.deepEqual(s.json, {
        id: S,
        label: def.label,
        points: [
          { time: '2026-11-02T00:00:00.000Z', value: 7, repos: 2 },
          { time: '2026-11-09T00:00:00.000Z', value: 5, repos: 1 },
        ],
      });
    });

    it('is idempotent: the same batch again changes nothing', async () => {
      const body = { definitions: [def], points: [point({ repo: 'github.com/acme/api', value: 3 }), point({ repo: 'github.com/acme/web', value: 4 })] };
      const before = (await get(srv.base, `/api/v1/series/${S}`, a.read)).json;
      for (let i = 0; i < 3; i++) {
        const r = await post(srv.base, a.write, body);
        assert.equal(r.status, 200);
        assert.deepEqual(r.json, { received: 2, accepted: 2, inserted: 0, updated: 0, unchanged: 2, definitions: 1 });
      }
      assert.deepEqual((await get(srv.base, `/api/v1/series/${S}`, a.read)).json, before);
    });

    it('newer commit wins whatever the order; the aggregate follows', async () => {
      const time = '2026-11-16T00:00:00.000Z';
      const older = point({ time, repo: 'github.com/acme/api', commit: sha(10), commitTime: '2026-11-15T00:00:00.000Z', value: 10 });
      const newer = point({ time, repo: 'github.com/acme/api', commit: sha(11), commitTime: '2026-11-15T06:00:00.000Z', value: 12 });
      let r = await post(srv.base, a.write, { definitions: [def], points: [newer] });
      assert.equal(r.json.inserted, 1);
      r = await post(srv.base, a.write, { definitions: [def], points: [older] });
      assert.equal(r.json.unchanged, 1, 'an older commit does not replace a newer one');
      const newest = point({ ...newer, commit: sha(12), commitTime: '2026-11-15T09:00:00.000Z', value: 2 });
      r = await post(srv.base, a.write, { definitions: [def], points: [newest, older] });
      assert.equal(r.json.updated, 1);
      const s = await get(srv.base, `/api/v1/series/${S}`, a.read);
      assert.deepEqual(s.json.points.find((p: { time: string }) => p.time === time), { time, value: 2, repos: 1 });
      // Same batch, both orders inside it: the newer one is kept.
      const t2 = '2026-11-23T00:00:00.000Z';
      r = await post(srv.base, a.write, { definitions: [def], points: [{ ...newest, time: t2 }, { ...older, time: t2 }] });
      assert.equal(r.json.accepted, 1);
      const s2 = await get(srv.base, `/api/v1/series/${S}`, a.read);
      assert.equal(s2.json.points.find((p: { time: string }) => p.time === t2).value, 2);
    });

    it("isolates orgs: B's tokens never see or change A's data", async () => {
      // B cannot read A's series: as far as B knows it does not exist.
      let r = await get(srv.base, `/api/v1/series/${S}`, b.read);
      assert.equal(r.status, 404);
      assert.deepEqual((await get(srv.base, '/api/v1/series', b.read)).json, { org: 'beta', series: [] });
      // B writing the same series id and repo lands in B only.
      const beforeA = (await get(srv.base, `/api/v1/series/${S}`, a.read)).json;
      r = await post(srv.base, b.write, { definitions: [def], points: [point({ repo: 'github.com/acme/api', value: 999, commitTime: '2030-01-01T00:00:00.000Z' })] });
      assert.equal(r.status, 200);
      assert.equal(r.json.inserted, 1);
      assert.deepEqual((await get(srv.base, `/api/v1/series/${S}`, a.read)).json, beforeA);
      assert.equal((await get(srv.base, `/api/v1/series/${S}`, b.read)).json.points[0].value, 999);
      // A's filtered read never includes B's repos either.
      const f = await get(srv.base, `/api/v1/series/${S}?repo=${encodeURIComponent('.')}`, a.read);
      assert.deepEqual(f.json.points.map((p: { value: number }) => p.value), beforeA.points.map((p: { value: number }) => p.value));
    });

    it('enforces isolation in the database itself (row-level security under the service role)', async () => {
      // Even SQL that names org A explicitly, run in a transaction scoped to org B, sees nothing of A.
      const seen = await withOrg(t.db, b.id, (q) => q.query<{ n: string }>('SELECT count(*) AS n FROM points WHERE org_id = $1', [a.id]));
      assert.equal(Number(seen[0].n), 0);
      const all = await withOrg(t.db, b.id, (q) => q.query<{ org_id: string }>('SELECT DISTINCT org_id FROM points'));
      assert.deepEqual(all.map((x) => String(x.org_id)), [b.id]);
      // Writing a row for A from B's transaction is refused by the policy.
      await assert.rejects(
        withOrg(t.db, b.id, (q) =>
          q.query(`INSERT INTO points (org_id, series_id, repo_id, bucket, commit_sha, commit_time, value) VALUES ($1, 1, 1, now(), '\\x00', now(), 1)`, [a.id]),
        ),
        /row-level security/,
      );
      // Updating or reading A's aggregate from B's transaction touches nothing.
      const upd = await withOrg(t.db, b.id, (q) => q.query('UPDATE series_buckets SET total = 0 WHERE org_id = $1 RETURNING 1', [a.id]));
      assert.equal(upd.length, 0);
      // A's pending total changes and its totals view are as invisible, and as closed to writes.
      const del = await withOrg(t.db, b.id, (q) => q.query('DELETE FROM series_bucket_deltas WHERE org_id = $1 RETURNING 1', [a.id]));
      assert.equal(del.length, 0);
      const totals = await withOrg(t.db, b.id, (q) => q.query('SELECT 1 FROM series_totals WHERE org_id = $1', [a.id]));
      assert.equal(totals.length, 0);
      const ownTotals = await withOrg(t.db, a.id, (q) => q.query('SELECT 1 FROM series_totals WHERE org_id = $1', [a.id]));
      assert.ok(ownTotals.length > 0, 'A sees its own totals through the view');
      await assert.rejects(
        withOrg(t.db, b.id, (q) => q.query('INSERT INTO series_bucket_deltas (org_id, series_id, bucket, total, repos) VALUES ($1, 1, now(), 5, 1)', [a.id])),
        /row-level security/,
      );
      // With no org set, nothing at all is visible; tokens are not readable by the service role.
      const none = await withOrg(t.db, null, (q) => q.query<{ n: string }>('SELECT count(*) AS n FROM points'));
      assert.equal(Number(none[0].n), 0);
      await assert.rejects(withOrg(t.db, a.id, (q) => q.query('SELECT * FROM tokens')), /permission denied/);
      // ingest() for org B cannot add to org A's aggregate even for A's series id.
      await ingest(t.db, b.id, [def], [point({ repo: 'github.com/beta/x', value: 1 })]);
      assert.deepEqual((await get(srv.base, `/api/v1/series/${S}`, a.read)).json.points[0].repos, 2);
    });

    it('re-sums from per-repo points under a repo regex, and rejects bad regexes', async () => {
      await post(srv.base, a.write, { definitions: [def], points: [point({ repo: 'gitlab.com/other/tool', value: 100 })] });
      const all = await get(srv.base, `/api/v1/series/${S}`, a.read);
      assert.equal(all.json.points[0].value, 107);
      const acme = await get(srv.base, `/api/v1/series/${S}?repo=${encodeURIComponent('^github\\.com/acme/')}`, a.read);
      assert.equal(acme.json.points[0].value, 7);
      assert.equal(acme.json.points[0].repos, 2);
      const web = await get(srv.base, `/api/v1/series/${S}?repo=web$`, a.read);
      assert.deepEqual(web.json.points, [{ time: '2026-11-02T00:00:00.000Z', value: 4, repos: 1 }]);
      const notGitlab = await get(srv.base, `/api/v1/series/${S}?exclude=${encodeURIComponent('^gitlab\\.com/')}`, a.read);
      assert.equal(notGitlab.json.points[0].value, 7);
      const both = await get(srv.base, `/api/v1/series/${S}?repo=acme&exclude=api`, a.read);
      assert.deepEqual(both.json.points, [{ time: '2026-11-02T00:00:00.000Z', value: 4, repos: 1 }]);
      const none = await get(srv.base, `/api/v1/series/${S}?repo=nomatch`, a.read);
      assert.deepEqual(none.json.points, []);
      const bad = await get(srv.base, `/api/v1/series/${S}?repo=${encodeURIComponent('(')}`, a.read);
      assert.equal(bad.status, 400);
      assert.match(bad.json.error.message, /regular expression/);
      assert.equal((await get(srv.base, `/api/v1/series/${S}?repo=a&repo=b`, a.read)).status, 400);
      assert.equal((await get(srv.base, `/api/v1/series/${S}?other=1`, a.read)).status, 400);
      assert.equal((await get(srv.base, `/api/v1/series/NOTHEX`, a.read)).status, 400);
      assert.equal((await get(srv.base, `/api/v1/series/${'0'.repeat(16)}`, a.read)).status, 404);
    });

    it('lists the org series for the dashboard', async () => {
      const r = await get(srv.base, '/api/v1/series', a.read);
      assert.equal(r.status, 200);
      assert.equal(r.json.org, 'acme');
      assert.equal(r.json.series.length, 1);
      assert.equal(r.json.series[0].id, S);
      assert.equal(r.json.series[0].query, 'TODO');
      assert.equal(r.json.series[0].buckets, 4);
      assert.equal(r.json.series[0].latest, '2026-11-23T00:00:00.000Z');
    });

    it('answers 400/413/415 for malformed bodies, never 5xx', async () => {
      let r = await post(srv.base, a.write, '{"definitions": [');
      assert.equal(r.status, 400);
      r = await post(srv.base, a.write, '{}', { 'content-type': 'text/plain' });
      assert.equal(r.status, 415);
      r = await post(srv.base, a.write, 'x'.repeat(17 * 1024 * 1024));
      assert.equal(r.status, 413);
      assert.equal(r.json.error.code, 'PAYLOAD_TOO_LARGE');
      r = await post(srv.base, a.write, '['.repeat(200_000) + ']'.repeat(200_000));
      assert.equal(r.status, 400);
      r = await post(srv.base, a.write, '{"__proto__": {"x": 1}, "definitions": [], "points": []}');
      assert.equal(r.status, 400);
      r = await post(srv.base, a.write, { definitions: [def], points: [{ ...point(), value: '3' }] });
      assert.equal(r.status, 400);
      assert.match(r.json.error.message, /points\[0\]\.value must be a non-negative integer/);
    });

    it('rate-limits per token with 429 and Retry-After', async () => {
      const limited = await startApp(t.db, { perSecond: 1, burst: 2 });
      try {
        const codes = [];
        let retryAfter: string | null = null;
        for (let i = 0; i < 4; i++) {
          const r = await get(limited.base, '/api/v1/series', a.read);
          codes.push(r.status);
          if (r.status === 429) retryAfter = r.headers.get('retry-after');
        }
        assert.deepEqual(codes.slice(0, 2), [200, 200]);
        assert.equal(codes[3], 429);
        assert.match(retryAfter ?? '', /^\d+$/);
        // Another token has its own budget.
        assert.equal((await get(limited.base, '/api/v1/series', b.read)).status, 200);
      } finally {
        await limited.close();
      }
    });

    it('serves /healthz, /metrics with ingest counts and pool state, and request ids', async () => {
      const h = await get(srv.base, '/healthz');
      assert.deepEqual(h.json, { ok: true, db: backend });
      assert.match(h.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
      const echoed = await fetch(`${srv.base}/healthz`, { headers: { 'x-request-id': 'abc-123' } });
      assert.equal(echoed.headers.get('x-request-id'), 'abc-123');
      const m = await get(srv.base, '/metrics');
      assert.match(m.json, /code_insights_org_ingest_points_total\{outcome="inserted"\} \d+/);
      assert.match(m.json, /code_insights_org_ingest_batches_total\{outcome="rejected"\} \d+/);
      assert.match(m.json, /code_insights_org_http_request_duration_seconds_bucket\{le="0.005",method="POST",route="\/api\/v1\/points"\}/);
      assert.match(m.json, /code_insights_org_db_pool_connections\{state="total"\} \d+/);
    });
  });
}
