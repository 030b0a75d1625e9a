// The fleet's schema, store, API and CLI on a real database (PGlite; and PostgreSQL when
// DATABASE_URL is set): repositories of an org (normalised, never duplicated), org-defined
// insights validated exactly as .vscode/insights.json is, scopes, status counts, isolation.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { withOrg } from '../../../org/db';
import { runFleetCommand } from '../../../org/fleet/cli';
import { addRepos, createInsights, FleetDefinitionsError, fleetStatus, listRepos, markDone, markError, markRunning, removeRepos, retryFailed } from '../../../org/fleet/store';
import { lineColumn, parseDefinitions } from '../../../server/engine/definitions';
import { backends, get, makeOrg, openTestDb, pgliteTemplate, startApp, type TestDb, type TestOrg } from '../helpers';

const CONFIG = JSON.stringify({
  insights: [{ id: 'todo', title: 'TODOs', queries: [{ query: 'TODO', label: 'todo' }], step: 'week', points: 4, end: '2026-01-05' }],
});

async function send(base: string, path: string, token: string | undefined, body: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: r.status, json: await r.json() };
}

for (const backend of backends()) {
  describe(`fleet store and API on ${backend}`, () => {
    let t: TestDb;
    let srv: Awaited<ReturnType<typeof startApp>>;
    let a: TestOrg;
    let b: TestOrg;

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

    it('adds repositories by normalised identity: the same repository twice is one row', async () => {
      const r = await addRepos(t.db, a.id, ['https://github.com/acme/api.git', 'git@github.com:acme/api.git', 'ssh://git@github.com/acme/web', '/srv/git/tool/']);
      assert.deepEqual(r.added.map((x) => x.identity).sort(), ['github.com/acme/api', 'github.com/acme/web', 'path:/srv/git/tool']);
      assert.equal(r.runs.length, 0, 'no insight yet: nothing to compute');
      const again = await addRepos(t.db, a.id, ['https://GitHub.com/acme/api']);
      assert.equal(again.added.length, 0);
      assert.deepEqual(again.existing.map((x) => x.identity), ['github.com/acme/api']);
      assert.equal((await listRepos(t.db, a.id)).length, 3);
    });

    it('refuses an insights file with the messages .vscode/insights.json gets, and creates nothing', async () => {
      const bad = '{"insights": [{"id": "x", "title": "X", "queries": [{"query": "(unclosed"}], "step": "fortnight"}]}';
      const expected = parseDefinitions(bad).problems.map((p) => ({ ...lineColumn(bad, p.offset), message: p.message }));
      assert.ok(expected.length >= 2);
      await assert.rejects(createInsights(t.db, a.id, bad, { kind: 'all' }), (e: unknown) => {
        assert.ok(e instanceof FleetDefinitionsError);
        assert.deepEqual(e.problems.map((p) => ({ line: p.line, column: p.column, message: p.message })), expected);
        return true;
      });
      const capture = '{"insights": [{"id": "c", "title": "C", "kind": "capture", "queries": ["TODO\\\\((\\\\w+)\\\\)"]}]}';
      await assert.rejects(createInsights(t.db, a.id, capture, { kind: 'all' }), /org-defined insights are of kind "series" or "structural"; "capture"/);
      assert.equal((await fleetStatus(t.db, a.id)).insights.length, 0);
    });

    it('queues an insight over the repositories of its scope, and a repository added later', async () => {
      const r = await createInsights(t.db, a.id, CONFIG, { kind: 'regex', regex: '^github\\.com/acme/' });
      assert.equal(r.insights.length, 1);
      assert.equal(r.runs.length, 2, 'the two github.com/acme repositories, not the local one');
      const more = await addRepos(t.db, a.id, ['https://github.com/acme/new', 'https://gitlab.com/acme/other']);
      assert.equal(more.runs.length, 1);
      await assert.rejects(createInsights(t.db, a.id, CONFIG, { kind: 'all' }), /already has an insight "todo"/);
      const list = await createInsights(t.db, a.id, CONFIG.replace('"todo"', '"todo2"'), { kind: 'list', repos: ['git@gitlab.com:acme/other.git'] });
      assert.equal(list.runs.length, 1);
      const s = await fleetStatus(t.db, a.id);
      assert.deepEqual(s.insights.map((i) => [i.name, i.total, i.queued, i.done]), [['todo', 3, 3, 0], ['todo2', 1, 1, 0]]);
    });

    it('counts running, done and failed runs, with the last error, and queues failed ones again', async () => {
      const [run1, run2, run3] = (await createInsights(t.db, a.id, CONFIG.replace('"todo"', '"todo3"'), { kind: 'regex', regex: '^github' })).runs;
      await markRunning(t.db, run1, 1);
      await markRunning(t.db, run2, 1);
      await markDone(t.db, run2, 'a'.repeat(40));
      await markRunning(t.db, run3, 3);
      await markError(t.db, run3, 'git clone x: fatal: repository not found', true);
      let s = (await fleetStatus(t.db, a.id)).insights.find((i) => i.name === 'todo3')!;
      assert.deepEqual([s.total, s.running, s.done, s.failed, s.queued], [3, 1, 1, 1, 0]);
      assert.match(s.failures[0].error, /repository not found/);
      const again = await retryFailed(t.db, a.id);
      assert.equal(again.length, 1);
      s = (await fleetStatus(t.db, a.id)).insights.find((i) => i.name === 'todo3')!;
      assert.deepEqual([s.failed, s.queued], [0, 1]);
    });

    it('removes repositories and their runs; says which names it did not know', async () => {
      const r = await removeRepos(t.db, a.id, ['https://github.com/acme/new', 'https://github.com/acme/nothing']);
      assert.equal(r.removed, 1);
      assert.deepEqual(r.unknown, ['https://github.com/acme/nothing']);
      const s = (await fleetStatus(t.db, a.id)).insights.find((i) => i.name === 'todo')!;
      assert.equal(s.total, 2);
    });

    it('keeps orgs apart: row-level security on the fleet tables, and the API answers per token', async () => {
      await addRepos(t.db, b.id, ['https://github.com/beta/only']);
      const seen = await withOrg(t.db, b.id, (q) => q.query<{ n: string }>('SELECT count(*) AS n FROM fleet_repos WHERE org_id = $1', [a.id]));
      assert.equal(Number(seen[0].n), 0);
      const runs = await withOrg(t.db, b.id, (q) => q.query<{ n: string }>('SELECT count(*) AS n FROM fleet_runs'));
      assert.equal(Number(runs[0].n), 0);
      await assert.rejects(withOrg(t.db, b.id, (q) => q.query("INSERT INTO fleet_repos (org_id, url, identity) VALUES ($1, 'x', 'x')", [a.id])), /row-level security/);
      const listB = await get(srv.base, '/api/v1/fleet/repos', b.read);
      assert.deepEqual(listB.json.repos.map((r: { identity: string }) => r.identity), ['github.com/beta/only']);
      const statusA = await get(srv.base, '/api/v1/fleet/status', a.read);
      assert.equal(statusA.status, 200);
      assert.deepEqual(statusA.json.insights.map((i: { name: string }) => i.name), ['todo', 'todo2', 'todo3']);
    });

    it('API: admin token to change, read (or admin) token to read, clear 400s', async () => {
      assert.equal((await send(srv.base, '/api/v1/fleet/repos', undefined, { urls: ['https://x.org/a/b'] })).status, 401);
      assert.equal((await send(srv.base, '/api/v1/fleet/repos', b.read, { urls: ['https://x.org/a/b'] })).status, 403);
      const pushOnly = await send(srv.base, '/api/v1/fleet/repos', b.write, { urls: ['https://x.org/a/b'] });
      assert.equal(pushOnly.status, 403);
      assert.match(pushOnly.json.error.message, /this request needs an "admin" token/);
      assert.equal((await get(srv.base, '/api/v1/fleet/status', b.admin)).status, 200);
      const bad = await send(srv.base, '/api/v1/fleet/repos', b.admin, { urls: ['--upload-pack=touch /tmp/x'] });
      assert.equal(bad.status, 400);
      assert.match(bad.json.error.message, /starts with "-", which git would read as an option/);
      for (const local of ['/srv/git/other-org-mirror.git', 'file:///srv/git/x.git', '../x']) {
        const r = await send(srv.base, '/api/v1/fleet/repos', b.admin, { urls: ['https://x.org/a/b', local] });
        assert.equal(r.status, 400, local);
        assert.match(r.json.error.message, /body\.urls\[1\] is a local path or file:\/\/ URL/);
      }
      const ok = await send(srv.base, '/api/v1/fleet/repos', b.admin, { urls: ['https://x.org/a/b', 'https://x.org/a/b.git'] });
      assert.equal(ok.status, 200);
      assert.equal(ok.json.added.length, 1);
      const defs = await send(srv.base, '/api/v1/fleet/insights', b.admin, { config: '{"insights": [{"id": "x", "title": "X", "queries": ["(a"]}]}', scope: { kind: 'all' } });
      assert.equal(defs.status, 400);
      assert.equal(defs.json.error.code, 'INVALID_DEFINITIONS');
      assert.match(defs.json.problems[0].message, /query 1/);
      const scope = await send(srv.base, '/api/v1/fleet/insights', b.admin, { config: CONFIG, scope: { kind: 'regex', regex: '(' } });
      assert.equal(scope.status, 400);
      assert.match(scope.json.error.message, /body\.scope\.regex is not a valid regular expression/);
      const made = await send(srv.base, '/api/v1/fleet/insights', b.admin, { config: CONFIG, scope: { kind: 'all' } });
      assert.equal(made.status, 200, JSON.stringify(made.json));
      assert.equal(made.json.queued, 2);
      assert.equal((await send(srv.base, '/api/v1/fleet/insights', b.admin, { config: CONFIG, scope: { kind: 'all' } })).status, 409);
      const retry = await send(srv.base, '/api/v1/fleet/retry-failed', b.admin, {});
      assert.deepEqual(retry.json, { requeued: 0 });
    });
  });
}

describe('fleet CLI (in-process, on its own PGlite folder)', () => {
  let data: string;
  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) } };
  };
  const savedUrl = process.env.DATABASE_URL;
  before(async () => {
    // --data selects PGlite only when DATABASE_URL is not set (the CLI's rule): unset it here.
    delete process.env.DATABASE_URL;
    data = mkdtempSync(join(tmpdir(), 'ci-fleet-cli-'));
    cpSync(await pgliteTemplate(), data, { recursive: true });
    const { openDb } = await import('../../../org/db');
    const db = await openDb({ dataDir: data });
    const { migrate } = await import('../../../org/migrate');
    await migrate(db);
    await makeOrg(db, 'cli-org');
    await db.close();
  });
  after(() => {
    if (savedUrl !== undefined) process.env.DATABASE_URL = savedUrl;
    rmSync(data, { recursive: true, force: true });
  });

  it('add-repos --from-file, list-repos --format json, create-insight errors as FILE:LINE:COL, status', async () => {
    const list = join(data, '..', `repos-${process.pid}.txt`);
    writeFileSync(list, '# the org\nhttps://github.com/cli/one\n\ngit@github.com:cli/two.git\n');
    let c = io();
    assert.equal(await runFleetCommand('add-repos', ['--org', 'cli-org', '--data', data, '--from-file', list, 'https://github.com/cli/one'], c.io), 0, c.err.join(''));
    assert.deepEqual(c.out.join('').trim().split('\n').sort(), ['added github.com/cli/one', 'added github.com/cli/two']);
    c = io();
    assert.equal(await runFleetCommand('list-repos', ['--org', 'cli-org', '--data', data, '--format', 'json'], c.io), 0);
    assert.equal(JSON.parse(c.out.join('')).repos.length, 2);

    const badFile = join(data, '..', `bad-${process.pid}.json`);
    const bad = '{\n  "insights": [{"id": "x", "title": "X",\n    "queries": ["(oops"]}]\n}';
    writeFileSync(badFile, bad);
    c = io();
    assert.equal(await runFleetCommand('create-insight', ['--org', 'cli-org', '--data', data, '--config', badFile], c.io), 1);
    const p = parseDefinitions(bad).problems[0];
    const at = lineColumn(bad, p.offset);
    assert.ok(c.err.join('').includes(`${badFile}:${at.line}:${at.column}: error: ${p.message}`), c.err.join(''));

    const good = join(data, '..', `good-${process.pid}.json`);
    writeFileSync(good, CONFIG);
    c = io();
    assert.equal(await runFleetCommand('create-insight', ['--org', 'cli-org', '--data', data, '--config', good, '--scope-repos', 'https://github.com/cli/two'], c.io), 0, c.err.join(''));
    assert.match(c.err.join(''), /computed by `code-insights org serve`/);
    c = io();
    assert.equal(await runFleetCommand('status', ['--org', 'cli-org', '--data', data, '--format', 'json'], c.io), 0);
    const s = JSON.parse(c.out.join(''));
    assert.deepEqual([s.repos, s.insights[0].total, s.insights[0].queued], [2, 1, 1]);
    c = io();
    assert.equal(await runFleetCommand('add-repos', ['--org', 'nobody', '--data', data, 'x'], c.io), 1);
    assert.match(c.err.join(''), /org "nobody" does not exist/);
    c = io();
    assert.equal(await runFleetCommand('create-insight', ['--org', 'cli-org', '--data', data, '--config', good, '--scope-regex', '('], c.io), 2);
    assert.match(c.err.join(''), /--scope-regex is not a valid regular expression/);
    for (const f of [list, badFile, good]) rmSync(f, { force: true });
  });
});
