// Editing and deleting org-defined insights, and the admin scope of the fleet's changes, on both
// backends: a changed definition is queued again over every repository in its scope, an
// unchanged one only over repositories new to its scope; runs of repositories that left the
// scope go; an unknown id changes nothing; a deleted insight's runs go and its points stay.
// Over the API: changes take an admin token (a write token only pushes points, a read token
// reads), and the admin token also reads the status.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addRepos, createInsights, deleteInsights, fleetStatus, markDone, markRunning, updateInsights, type RunKey } from '../../../org/fleet/store';
import { withOrg } from '../../../org/db';
import { ingest } from '../../../org/store';
import { backends, get, makeOrg, openTestDb, point, sha, startApp, type TestDb, type TestOrg } from '../helpers';
import { seriesDefinition } from '../../../server/sync/fromResults';
import { toSeriesSpecs } from '../../../server/engine/definitions';
import type { InsightDefinition } from '../../../protocol/insights';

const DEF: InsightDefinition = { kind: 'series', id: 'todo', title: 'TODOs', queries: [{ query: 'TODO' }], step: 'week', points: 4, end: '2026-01-05' };
const config = (over: Partial<InsightDefinition> = {}) => JSON.stringify({ insights: [{ ...DEF, ...over }] });

async function call(base: string, method: string, path: string, token: string | undefined, body?: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(base + path, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, json: await r.json() };
}

async function runStates(t: TestDb, orgId: string): Promise<string[]> {
  const rows = await withOrg(t.db, orgId, (q) =>
    q.query<{ identity: string; state: string }>(
      'SELECT r.identity, f.state FROM fleet_runs f JOIN fleet_repos r ON r.org_id = f.org_id AND r.id = f.repo_id WHERE f.org_id = $1 ORDER BY r.identity',
      [orgId],
    ),
  );
  return rows.map((r) => `${r.identity}=${r.state}`);
}

for (const backend of backends()) {
  describe(`edit and delete org-defined insights on ${backend}`, () => {
    let t: TestDb;
    let srv: Awaited<ReturnType<typeof startApp>>;
    let a: TestOrg;

    before(async () => {
      t = await openTestDb(backend);
      srv = await startApp(t.db);
      a = await makeOrg(t.db, 'acme');
      await addRepos(t.db, a.id, ['https://github.com/acme/api', 'https://github.com/acme/web', 'https://gitlab.com/other/x']);
    });
    after(async () => {
      await srv?.close();
      await t?.cleanup();
    });

    it('update: a changed definition recomputes its scope, an unchanged one only what joined it, runs outside the scope go', async () => {
      const made = await createInsights(t.db, a.id, config(), { kind: 'regex', regex: '^github\\.com/' });
      for (const run of made.runs as RunKey[]) {
        await markRunning(t.db, run, 1);
        await markDone(t.db, run, sha(1));
      }
      assert.deepEqual(await runStates(t, a.id), ['github.com/acme/api=done', 'github.com/acme/web=done']);

      // Same definition (keys in another order), wider scope: only the new repository is queued.
      const wider = await updateInsights(t.db, a.id, JSON.stringify({ insights: [{ points: 4, end: '2026-01-05', id: 'todo', step: 'week', queries: [{ query: 'TODO' }], title: 'TODOs', kind: 'series' }] }), { kind: 'all' });
      assert.deepEqual(wider.insights.map((i) => [i.name, i.recomputed]), [['todo', false]]);
      assert.equal(wider.runs.length, 1);
      assert.deepEqual(await runStates(t, a.id), ['github.com/acme/api=done', 'github.com/acme/web=done', 'gitlab.com/other/x=queued']);

      // A changed query, scope kept: every repository in scope is queued again.
      const changed = await updateInsights(t.db, a.id, config({ queries: [{ query: 'FIXME' }] }), undefined);
      assert.deepEqual(changed.insights.map((i) => i.recomputed), [true]);
      assert.equal(changed.runs.length, 3);
      const s = (await fleetStatus(t.db, a.id)).insights[0];
      assert.deepEqual(s.scope, { kind: 'all' });
      assert.deepEqual(s.definition.queries, [{ query: 'FIXME' }]);
      assert.deepEqual([s.total, s.queued, s.done], [3, 3, 0]);

      // Narrower scope: the run of the repository that left it goes.
      await updateInsights(t.db, a.id, config({ queries: [{ query: 'FIXME' }] }), { kind: 'list', repos: ['https://github.com/acme/api'] });
      assert.deepEqual(await runStates(t, a.id), ['github.com/acme/api=queued']);
      assert.equal((await fleetStatus(t.db, a.id)).insights[0].total, 1);
    });

    it('update: an unknown id or a bad file changes nothing', async () => {
      const before = await fleetStatus(t.db, a.id);
      await assert.rejects(updateInsights(t.db, a.id, JSON.stringify({ insights: [{ ...DEF, queries: [{ query: 'X' }] }, { ...DEF, id: 'nope' }] }), { kind: 'all' }), /NO_SUCH_INSIGHT|has no insight "nope"/);
      await assert.rejects(updateInsights(t.db, a.id, config({ queries: [{ query: '(unclosed' }] }), undefined), (e: unknown) => (e as { code?: string }).code === 'BAD_DEFINITIONS');
      assert.deepEqual((await fleetStatus(t.db, a.id)).insights.map((i) => [i.name, i.definition.queries]), before.insights.map((i) => [i.name, i.definition.queries]));
    });

    it('delete: runs go, points stay, unknown ids are reported', async () => {
      const spec = toSeriesSpecs({ ...DEF, queries: [{ query: 'FIXME' }] })[0];
      const s = (await fleetStatus(t.db, a.id)).insights[0];
      await ingest(t.db, a.id, [seriesDefinition(s.series[0], spec)], [point({ series: s.series[0], value: 2 })]);
      const r = await deleteInsights(t.db, a.id, ['todo', 'nope']);
      assert.deepEqual(r, { deleted: ['todo'], unknown: ['nope'] });
      assert.deepEqual((await fleetStatus(t.db, a.id)).insights, []);
      assert.deepEqual(await runStates(t, a.id), []);
      const series = await get(srv.base, `/api/v1/series/${s.series[0]}`, a.read);
      assert.equal(series.status, 200);
      assert.deepEqual(series.json.points.map((p: { value: number }) => p.value), [2]);
    });

    it('API: PUT and DELETE with an admin token; write and read tokens are refused; admin reads status', async () => {
      const created = await call(srv.base, 'POST', '/api/v1/fleet/insights', a.admin, { config: config(), scope: { kind: 'all' } });
      assert.equal(created.status, 200, JSON.stringify(created.json));
      for (const token of [a.write, a.read]) {
        assert.equal((await call(srv.base, 'PUT', '/api/v1/fleet/insights', token, { config: config({ title: 'T2' }) })).status, 403);
        assert.equal((await call(srv.base, 'DELETE', '/api/v1/fleet/insights/todo', token)).status, 403);
        assert.equal((await call(srv.base, 'POST', '/api/v1/fleet/retry-failed', token, {})).status, 403);
      }
      const put = await call(srv.base, 'PUT', '/api/v1/fleet/insights', a.admin, { config: config({ title: 'TODO markers' }) });
      assert.equal(put.status, 200, JSON.stringify(put.json));
      assert.deepEqual(put.json.insights.map((i: { name: string; title: string; recomputed: boolean }) => [i.name, i.title, i.recomputed]), [['todo', 'TODO markers', true]]);
      assert.equal(put.json.queued, 3);
      const missing = await call(srv.base, 'PUT', '/api/v1/fleet/insights', a.admin, { config: config({ id: 'other' }) });
      assert.equal(missing.status, 404);
      assert.equal(missing.json.error.code, 'NO_SUCH_INSIGHT');
      const bad = await call(srv.base, 'PUT', '/api/v1/fleet/insights', a.admin, { config: config({ step: 'fortnight' as never }) });
      assert.equal(bad.status, 400);
      assert.equal(bad.json.error.code, 'INVALID_DEFINITIONS');
      const status = await get(srv.base, '/api/v1/fleet/status', a.admin);
      assert.equal(status.status, 200);
      assert.equal(status.json.insights[0].title, 'TODO markers');
      assert.equal((await call(srv.base, 'DELETE', '/api/v1/fleet/insights/todo', a.admin)).json.deleted, 'todo');
      const again = await call(srv.base, 'DELETE', '/api/v1/fleet/insights/todo', a.admin);
      assert.equal(again.status, 404);
      assert.equal(again.json.error.code, 'NO_SUCH_INSIGHT');
      // An admin token does not push points: that stays the write token's.
      const push = await call(srv.base, 'POST', '/api/v1/points', a.admin, { definitions: [], points: [] });
      assert.equal(push.status, 403);
    });
  });
}
