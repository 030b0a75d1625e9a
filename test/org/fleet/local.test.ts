// The fleet on the embedded default: the org service on PGlite computes the runs its API queues,
// in process, with the same task as a worker; the points equal `code-insights series` over the
// same repositories, and a repository that cannot be cloned fails with git's reason.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { buildApp } from '../../../org/app';
import { startLocalFleet, type LocalFleet } from '../../../org/fleet/local';
import { BIN, ensureBuilt } from '../../cli/cliHarness';
import { GIT_ENV } from '../../helpers/gitRepo';
import { get, makeOrg, openTestDb, type TestDb, type TestOrg } from '../helpers';
import { generateRepos, INSIGHT, SERIES_ARGS } from './fleetOrg';

async function post(base: string, path: string, token: string, body: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  return { status: r.status, json: await r.json() };
}

describe('fleet in process on PGlite (org serve)', () => {
  let t: TestDb;
  let work: string;
  let org: TestOrg;
  let fleet: LocalFleet;
  let app: Awaited<ReturnType<typeof buildApp>>['app'];
  let base: string;
  let repos: string[];

  before(async () => {
    ensureBuilt();
    work = mkdtempSync(join(tmpdir(), 'ci-fleet-local-'));
    repos = generateRepos(join(work, 'repos'), 3).map((n) => join(work, 'repos', n));
    t = await openTestDb('pglite');
    org = await makeOrg(t.db, 'solo');
    fleet = startLocalFleet(t.db, { mirrorDir: join(work, 'mirrors'), mirrorBudget: 0, refreshInterval: 3600, idleWait: 200, engineCache: true, log: pino({ level: 'silent' }) });
    ({ app } = await buildApp({ db: t.db, logger: false, rateLimit: { perSecond: 100_000, burst: 100_000 }, fleet: { onQueued: () => fleet.wake(), allowLocalPaths: true } }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  after(async () => {
    await fleet?.stop();
    await app?.close();
    await t?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** The fleet status of an insight once every run of it is done or failed. */
  async function settled(name: string) {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const s = (await get(base, '/api/v1/fleet/status', org.read)).json.insights.find((i: { name: string }) => i.name === name);
      if (s.done + s.failed === s.total) return s;
      assert.ok(Date.now() < deadline, `timed out: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it('computes queued runs with the engine; points equal the CLI; an unclonable repository fails with its reason', async () => {
    process.env.CODE_INSIGHTS_FLEET_MAX_ATTEMPTS = '1';
    const added = await post(base, '/api/v1/fleet/repos', org.admin, { urls: [...repos, join(work, 'nowhere.git')] });
    assert.equal(added.status, 200, JSON.stringify(added.json));
    const made = await post(base, '/api/v1/fleet/insights', org.admin, { config: JSON.stringify({ insights: [INSIGHT] }), scope: { kind: 'all' } });
    assert.equal(made.json.queued, 4);
    const s = await settled(INSIGHT.id);
    delete process.env.CODE_INSIGHTS_FLEET_MAX_ATTEMPTS;
    assert.deepEqual([s.total, s.done, s.failed], [4, 3, 1]);
    assert.match(s.failures[0].error, /git clone .*nowhere\.git: fatal: .*nowhere\.git/);

    const cli = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [BIN, 'series', ...repos, ...SERIES_ARGS, '--format', 'json', '--no-cache'], { env: GIT_ENV }, (err, out, errOut) => (err ? reject(new Error(errOut)) : resolve(out))),
    );
    for (const series of JSON.parse(cli).series) {
      const got = (await get(base, `/api/v1/series/${series.id}`, org.read)).json;
      assert.deepEqual(
        got.points.map((p: { time: string; value: number }) => [p.time, p.value]),
        series.points.slice(0, -1).filter((p: { repos: unknown[] }) => p.repos.length > 0).map((p: { time: string; value: number }) => [p.time, p.value]),
      );
    }
  });

  it('computes a structural insight (ast-grep pattern) on the same repositories; points equal the CLI with --structural', async () => {
    const structural = { id: 'consts', title: 'Exported constants', kind: 'structural', language: 'typescript', queries: [{ pattern: 'export const $A = $B' }], step: 'week', points: 10, end: '2026-03-09' };
    const made = await post(base, '/api/v1/fleet/insights', org.admin, { config: JSON.stringify({ insights: [structural] }), scope: { kind: 'regex', regex: 'repo-' } });
    assert.equal(made.status, 200, JSON.stringify(made.json));
    assert.equal(made.json.queued, 3);
    const s = await settled('consts');
    assert.deepEqual([s.total, s.done, s.failed], [3, 3, 0], JSON.stringify(s.failures));
    const cli = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [BIN, 'series', ...repos, '-q', 'export const $A = $B', '--structural', 'typescript', '--step', 'week', '--points', '10', '--end', '2026-03-09', '--format', 'json', '--no-cache'], { env: GIT_ENV }, (err, out, errOut) =>
        err ? reject(new Error(errOut)) : resolve(out),
      ),
    );
    const [series] = JSON.parse(cli).series;
    const got = (await get(base, `/api/v1/series/${series.id}`, org.read)).json;
    const want = series.points.slice(0, -1).filter((p: { repos: unknown[] }) => p.repos.length > 0).map((p: { time: string; value: number }) => [p.time, p.value]);
    assert.ok(want.length > 0 && want.some((p: [string, number]) => p[1] > 0), 'the CLI found matches');
    assert.deepEqual(got.points.map((p: { time: string; value: number }) => [p.time, p.value]), want);
  });

  it('refuses org-defined command and external insights, saying where they are computed', async () => {
    for (const def of [
      { id: 'cmd', title: 'Cmd', kind: 'command', command: 'echo 1' },
      { id: 'cov', title: 'Coverage', kind: 'external', unit: '%' },
    ]) {
      const r = await post(base, '/api/v1/fleet/insights', org.admin, { config: JSON.stringify({ insights: [def] }), scope: { kind: 'all' } });
      assert.equal(r.status, 400, JSON.stringify(r.json));
      assert.match(JSON.stringify(r.json), new RegExp(`DEF_KIND_NOT_SUPPORTED.*"${def.kind}\\\\" is computed only in the editor and the CLI`));
    }
  });
});
