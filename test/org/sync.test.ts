// The sync client: the engine's results on a real git repository go through the outbox in the
// local sql.js cache to a real org service (PGlite). The payloads are inspected on the way out:
// nothing but definitions, repo identity, commit ids, times and numbers leaves the machine.
// Failure handling runs against a scripted local HTTP server (the only way to make a real
// socket answer 503/429/reset on cue).
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AddressInfo } from 'node:net';
import type { Database } from 'sql.js';
import { runInsights } from '../../server/runs/runInsights';
import { parseDefinitions } from '../../server/engine/definitions';
import type { SeriesSpec } from '../../server/engine/api';
import { InsightsCache, loadSqlJs } from '../../server/store/cache';
import { enqueuePoints, outboxCounts, outboxFailures, retryFailed } from '../../server/sync/outbox';
import { pushOutbox } from '../../server/sync/push';
import { syncableSeries } from '../../server/sync/fromResults';
import { runPush, saveAtomically } from '../../server/sync/cli';
import { TestRepo, tempDir } from '../helpers/gitRepo';
import { definition, get, makeOrg, openTestDb, point, sha, startApp, type TestDb, type TestOrg } from './helpers';

async function memDb(): Promise<Database> {
  const SQL = await loadSqlJs();
  return new SQL.Database();
}

const SECRETS = ['alice', 'hunter2', 'passwords', 'secret-dir', 'rotate', 'const key'];

describe('sync client', () => {
  let t: TestDb;
  let srv: Awaited<ReturnType<typeof startApp>>;
  let org: TestOrg;
  let repo: TestRepo;
  const spec: SeriesSpec = { label: 'Named TODOs', query: 'TODO\\(\\w+\\)', literal: false, ignoreCase: false, count: 'matches', include: [], exclude: [], maxFileSize: 1 << 20 };

  before(async () => {
    t = await openTestDb('pglite');
    srv = await startApp(t.db);
    org = await makeOrg(t.db, 'sync');
    repo = TestRepo.init();
    repo.git(['remote', 'add', 'origin', 'git@github.com:acme/vault.git']);
    repo.commit('2026-09-01T10:00:00Z', { 'src/secret-dir/passwords.ts': '// TODO(alice): rotate\nconst key = "hunter2";\n' });
    repo.commit('2026-09-09T10:00:00Z', { 'src/secret-dir/passwords.ts': '// TODO(alice): rotate\n// TODO(alice): hunter2 again\nconst key = "hunter2";\n' });
    repo.commit('2026-09-16T10:00:00Z', { 'lib/other.ts': '// TODO(bob) x\n' });
  });
  after(async () => {
    await srv?.close();
    await t?.cleanup();
    rmSync(repo.dir, { recursive: true, force: true });
  });

  it('pushes engine results; the payload holds only ids, identity, times and numbers', async () => {
    const res = await runInsights({ paths: [repo.dir], series: [spec], step: 'week', points: 4, end: new Date('2026-09-20T00:00:00Z') }, { cacheFile: null });
    // What a run queues (server/sync/queueForSync.ts takes the same series), sent by hand here.
    const synced = syncableSeries(res.series, [spec]);
    const batch = { definitions: synced.map((s) => s.definition), points: synced.flatMap((s) => s.points) };
    assert.equal(batch.definitions.length, 1);
    // Boundary weeks with a commit (none before 2026-09-01); the live point at `end` (value 3) is not synced.
    assert.equal(res.series[0].points.at(-1)!.value, 3);
    assert.deepEqual(batch.points.map((p) => [p.time, p.value]), [
      ['2026-09-07T00:00:00.000Z', 1],
      ['2026-09-14T00:00:00.000Z', 2],
    ]);
    const db = await memDb();
    assert.deepEqual(enqueuePoints(db, batch.points, batch.definitions), { queued: batch.points.length, alreadySent: 0, superseded: 0 });

    const bodies: string[] = [];
    const tap: typeof fetch = async (input, init) => {
      bodies.push(String(init?.body));
      return fetch(input, init);
    };
    const r = await pushOutbox(db, { server: srv.base, token: org.write, fetchImpl: tap });
    assert.equal(r.sent, batch.points.length);
    assert.deepEqual(outboxCounts(db), { pending: 0, failed: 0 });

    assert.equal(bodies.length, 1);
    const body = JSON.parse(bodies[0]);
    assert.deepEqual(Object.keys(body).sort(), ['definitions', 'points']);
    for (const p of body.points) assert.deepEqual(Object.keys(p).sort(), ['commit', 'commitTime', 'repo', 'series', 'time', 'value']);
    assert.deepEqual(Object.keys(body.definitions[0]).sort(), ['count', 'exclude', 'id', 'ignoreCase', 'include', 'kind', 'label', 'literal', 'maxFileSize', 'query', 'semanticsVersion']);
    assert.equal(body.points[0].repo, 'github.com/acme/vault');
    for (const s of SECRETS) assert.ok(!bodies[0].includes(s), `payload leaks "${s}": ${bodies[0]}`);
    assert.ok(!bodies[0].includes('TODO(alice)') && !bodies[0].includes('TODO(bob)'), 'matched text leaked');

    // What the service now shows is what the engine computed for the boundary points.
    const s = await get(srv.base, `/api/v1/series/${batch.definitions[0].id}`, org.read);
    assert.deepEqual(s.json.points.map((p: { time: string; value: number }) => [p.time, p.value]), batch.points.map((p) => [p.time, p.value]));

    // Queuing the same results again sends nothing: the service already acknowledged them.
    assert.deepEqual(enqueuePoints(db, batch.points, batch.definitions), { queued: 0, alreadySent: batch.points.length, superseded: 0 });
    assert.equal((await pushOutbox(db, { server: srv.base, token: org.write })).sent, 0);
  });

  it('syncs structural series with their language; the org lists it and sums the same points; command series stay local', async () => {
    const structural: SeriesSpec = { ...spec, label: 'console.log calls', query: 'console.log($$$)', structural: { language: 'typescript' } };
    const dir = TestRepo.init();
    try {
      dir.git(['remote', 'add', 'origin', 'git@github.com:acme/ast.git']);
      // A comment and a string never match a structural pattern: only the calls count.
      dir.commit('2026-09-01T10:00:00Z', { 'a.ts': '// console.log(x)\nconsole.log(1);\nconst s = "console.log(2)";\n' });
      dir.commit('2026-09-09T10:00:00Z', { 'a.ts': 'console.log(1);\nconsole.log(a, b);\n' });
      const command: SeriesSpec = { ...spec, label: 'files', query: 'ls | wc -l', command: { inputs: [], checkout: true, timeoutMs: 10_000 } };
      const res = await runInsights({ paths: [dir.dir], series: [structural, command], step: 'week', points: 3, end: new Date('2026-09-20T00:00:00Z') }, { cacheFile: null });
      const synced = syncableSeries(res.series, [structural, command]);
      assert.equal(synced.length, 1, 'the command series is not synced');
      const def = synced[0].definition;
      assert.equal(def.kind, 'structural');
      assert.equal(def.language, 'typescript');
      assert.deepEqual(synced[0].points.map((p) => [p.time, p.value]), [
        ['2026-09-07T00:00:00.000Z', 1],
        ['2026-09-14T00:00:00.000Z', 2],
      ]);
      const db = await memDb();
      enqueuePoints(db, synced[0].points, [def]);
      assert.equal((await pushOutbox(db, { server: srv.base, token: org.write })).sent, 2);
      const s = await get(srv.base, `/api/v1/series/${def.id}`, org.read);
      assert.deepEqual(s.json.points.map((p: { time: string; value: number }) => [p.time, p.value]), [
        ['2026-09-07T00:00:00.000Z', 1],
        ['2026-09-14T00:00:00.000Z', 2],
      ]);
      const list = await get(srv.base, '/api/v1/series', org.read);
      const listed = list.json.series.find((x: { id: string }) => x.id === def.id);
      assert.equal(listed.kind, 'structural');
      assert.equal(listed.language, 'typescript');
      assert.equal(listed.query, 'console.log($$$)');
      // The service refuses a structural definition without a language, and a language on another kind.
      const bad = await fetch(`${srv.base}/api/v1/points`, {
        method: 'POST',
        headers: { authorization: `Bearer ${org.write}`, 'content-type': 'application/json' },
        body: JSON.stringify({ definitions: [{ ...def, language: undefined }], points: [] }),
      });
      assert.equal(bad.status, 400);
      assert.match(((await bad.json()) as { error: { message: string } }).error.message, /language must be one of/);
      const bad2 = await fetch(`${srv.base}/api/v1/points`, {
        method: 'POST',
        headers: { authorization: `Bearer ${org.write}`, 'content-type': 'application/json' },
        body: JSON.stringify({ definitions: [{ ...def, kind: 'series' }], points: [] }),
      });
      assert.equal(bad2.status, 400);
      assert.match(((await bad2.json()) as { error: { message: string } }).error.message, /language applies to structural series only/);
    } finally {
      rmSync(dir.dir, { recursive: true, force: true });
    }
  });

  it('refuses to queue anything but the contract (a path, text, a bad id) before storing a thing', async () => {
    const db = await memDb();
    assert.throws(() => enqueuePoints(db, [{ ...point(), path: 'src/a.ts' } as never], [definition()]), /unknown field "path"/);
    assert.throws(() => enqueuePoints(db, [point()], [{ ...definition(), matches: ['x'] } as never]), /unknown field "matches"/);
    assert.throws(() => enqueuePoints(db, [point({ series: 'f'.repeat(16) })], [definition()]), /has no definition/);
    assert.deepEqual(outboxCounts(db), { pending: 0, failed: 0 });
  });

  it('refuses locally, in the definitions file, what the service would refuse', () => {
    const text = JSON.stringify({ insights: [
      { id: 'nul', title: 'NUL', queries: ['TODO\u0000?'] },
      { id: 'half', title: 'Half a pair', queries: [{ query: 'x', label: '\ud800' }] },
      { id: 'glob', title: 'Glob', queries: ['TODO'], include: ['src/\u0000'] },
      { id: 'fine', title: 'Fine', queries: ['TODO'] },
    ] });
    const parsed = parseDefinitions(text);
    assert.deepEqual(parsed.insights.map((i) => i.id), ['fine']);
    const messages = parsed.problems.filter((x) => x.severity === 'error').map((x) => x.message).join('\n');
    assert.match(messages, /query 1 must not contain the NUL character/);
    assert.match(messages, /"label" must not contain a lone UTF-16 surrogate/);
    assert.match(messages, /"include" entry 1 must not contain the NUL character/);
  });

  it('push sends the other series when one definition is refused, names it, keeps it; --drop-refused drops it', async () => {
    const dir = tempDir('ci-push-refused-');
    const file = join(dir, 'cache.sqlite');
    const { cache } = await InsightsCache.open(file);
    const good = definition({ id: 'c0ffee0000000001', label: 'Good' });
    enqueuePoints(cache.db, [point({ series: good.id, repo: 'github.com/acme/good', value: 3 })], [good]);
    // An outbox written before today's checks: the bad definition got in (the "TODO\u0000?").
    const bad = definition({ id: 'baadf00d00000001', label: 'Bad', query: 'TODO\u0000?' });
    cache.db.run('INSERT INTO sync_definitions (id, json) VALUES (?, ?)', [bad.id, JSON.stringify(bad)]);
    cache.db.run(`INSERT INTO sync_outbox (series, repo, time, commit_sha, commit_time, value) VALUES (?, 'github.com/acme/bad', '2026-11-02T00:00:00.000Z', ?, '2026-11-01T12:00:00.000Z', 1)`, [bad.id, sha(1)]);
    saveAtomically(cache.db, file);
    cache.close();
    const out: string[] = [];
    const io = { out: (x: string) => out.push(x), err: (x: string) => out.push(x) };
    assert.equal(await runPush(['--server', srv.base, '--token', org.write, '--cache', file], io), 1);
    assert.match(out.join(''), /pushed 1 points in 1 batches; 1 points rejected/);
    assert.match(out.join(''), /1 points not accepted: series baadf00d00000001 "Bad": .*query must not contain the NUL character/);
    assert.match(out.join(''), /--drop-refused/);
    assert.deepEqual((await get(srv.base, `/api/v1/series/${good.id}`, org.read)).json.points.map((p: { value: number }) => p.value), [3]);
    const kept = await InsightsCache.open(file);
    assert.deepEqual(outboxCounts(kept.cache.db), { pending: 0, failed: 1 });
    kept.cache.close();
    out.length = 0;
    assert.equal(await runPush(['--server', srv.base, '--token', org.write, '--cache', file, '--drop-refused'], io), 0, out.join(''));
    assert.match(out.join(''), /dropped 1 refused points/);
    const dropped = await InsightsCache.open(file);
    assert.deepEqual(outboxCounts(dropped.cache.db), { pending: 0, failed: 0 });
    dropped.cache.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the newest commit per key in the outbox', async () => {
    const db = await memDb();
    enqueuePoints(db, [point({ commit: sha(2), commitTime: '2026-11-01T13:00:00.000Z', value: 9 })], [definition()]);
    const r = enqueuePoints(db, [point({ commit: sha(1), commitTime: '2026-11-01T12:00:00.000Z', value: 5 })], [definition()]);
    assert.equal(r.superseded, 1);
    assert.equal(outboxCounts(db).pending, 1);
  });

  it('push writes the cache file atomically and empties the outbox (code-insights push)', async () => {
    const dir = tempDir('ci-push-');
    const file = join(dir, 'cache.sqlite');
    const { cache } = await InsightsCache.open(file);
    enqueuePoints(cache.db, [point({ repo: 'github.com/acme/cli', value: 4 }), point({ repo: 'github.com/acme/cli', time: '2026-11-09T00:00:00.000Z', value: 6 })], [definition()]);
    saveAtomically(cache.db, file);
    cache.close();
    const out: string[] = [];
    const code = await runPush(['--server', srv.base, '--token', org.write, '--cache', file], { out: (s) => out.push(s), err: (s) => out.push(s) });
    assert.equal(code, 0, out.join(''));
    assert.match(out.join(''), /pushed 2 points in 1 batches/);
    assert.ok(!existsSync(`${file}.tmp-${process.pid}`));
    const again = await InsightsCache.open(file);
    assert.deepEqual(outboxCounts(again.cache.db), { pending: 0, failed: 0 });
    again.cache.close();
    // A read-only token: exit code 1, the service's message and what to do; the points stay
    // pending (not failed), so the next push with a write token sends them.
    const c2 = await InsightsCache.open(file);
    enqueuePoints(c2.cache.db, [point({ repo: 'github.com/acme/cli2' })], [definition()]);
    saveAtomically(c2.cache.db, file);
    c2.cache.close();
    const err: string[] = [];
    assert.equal(await runPush(['--server', srv.base, '--token', org.read, '--cache', file], { out: (s) => err.push(s), err: (s) => err.push(s) }), 1);
    assert.match(err.join(''), /HTTP 403 FORBIDDEN.*a write token is needed.*the points stay queued/);
    const c3 = await InsightsCache.open(file);
    assert.deepEqual(outboxCounts(c3.cache.db), { pending: 1, failed: 0 });
    c3.cache.close();
    const ok: string[] = [];
    assert.equal(await runPush(['--server', srv.base, '--token', org.write, '--cache', file], { out: (s) => ok.push(s), err: (s) => ok.push(s) }), 0, ok.join(''));
    assert.match(ok.join(''), /pushed 1 points/);
    assert.equal(await runPush(['--server', 'ftp://x', '--token', 'x', '--cache', file], { out: () => {}, err: () => {} }), 2);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('sync client against failing servers', () => {
  // A scripted server: each request takes the next step; 'reset' destroys the socket.
  type Answer = 'reset' | { status: number; headers?: Record<string, string>; body?: unknown };
  type Step = Answer | ((body: string) => Answer);
  let steps: Step[] = [];
  const seen: { at: number; body: string }[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ at: Date.now(), body });
      const next = steps.shift() ?? { status: 200, body: {} };
      const step = typeof next === 'function' ? next(body) : next;
      if (step === 'reset') return req.socket.destroy();
      res.writeHead(step.status, { 'content-type': 'application/json', ...step.headers });
      res.end(JSON.stringify(step.body ?? {}));
    });
  });
  let base = '';
  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  async function queued(n: number): Promise<Database> {
    const db = await memDb();
    enqueuePoints(db, Array.from({ length: n }, (_, i) => point({ repo: `github.com/acme/r${i}` })), [definition()]);
    return db;
  }

  it('retries network errors, 5xx and 429 (honouring Retry-After), deletes only after a 2xx', async () => {
    const db = await queued(3);
    steps = ['reset', { status: 503 }, { status: 429, headers: { 'retry-after': '1' } }, { status: 500 }, { status: 200, body: { received: 3 } }];
    seen.length = 0;
    const retries: string[] = [];
    const r = await pushOutbox(db, { server: base, token: 'cit_x', baseDelayMs: 5, onRetry: (x) => retries.push(x.reason) });
    assert.equal(seen.length, 5);
    assert.equal(r.sent, 3);
    assert.deepEqual(outboxCounts(db), { pending: 0, failed: 0 });
    assert.match(retries[0], /network error/);
    assert.match(retries[1], /HTTP 503/);
    assert.match(retries[2], /HTTP 429/);
    assert.ok(seen[3].at - seen[2].at >= 1000, `Retry-After: 1 honoured (waited ${seen[3].at - seen[2].at} ms)`);
    assert.ok(seen.every((s) => s.body === seen[0].body), 'each retry sends the same batch');
  });

  it('never retries another 4xx: points stay, marked failed with the message; nothing lost', async () => {
    const db = await queued(2);
    steps = [{ status: 400, body: { error: { code: 'INVALID_BODY', message: 'points[0].value is wrong' } } }];
    seen.length = 0;
    const r = await pushOutbox(db, { server: base, token: 'cit_x', baseDelayMs: 5 });
    assert.equal(seen.length, 1);
    assert.equal(r.failed, 2);
    const named = `series ${definition().id} "TODO comments": HTTP 400 INVALID_BODY: points[0].value is wrong`;
    assert.deepEqual(r.errors, [named]);
    assert.deepEqual(outboxCounts(db), { pending: 0, failed: 2 });
    assert.deepEqual(outboxFailures(db), [{ error: named, points: 2 }]);
    assert.equal(retryFailed(db), 2);
    steps = [];
    assert.equal((await pushOutbox(db, { server: base, token: 'cit_x' })).sent, 2);
  });

  it('a batch refused for one series is sent again series by series: the rest goes through', async () => {
    const db = await memDb();
    const defs = ['1111111111111111', '2222222222222222', '3333333333333333'].map((id, i) => definition({ id, label: `S${i}` }));
    enqueuePoints(db, defs.map((d) => point({ series: d.id })), defs);
    // The service refuses any batch holding series 2 (as a newer service would refuse a definition).
    const answer = (body: string) => (body.includes('2222222222222222') ? { status: 400, body: { error: { code: 'INVALID_BODY', message: 'definitions[0].query is refused' } } } : { status: 200, body: {} });
    steps = [answer, answer, answer, answer];
    seen.length = 0;
    const r = await pushOutbox(db, { server: base, token: 'cit_x', baseDelayMs: 1 });
    assert.equal(seen.length, 4, 'the batch, then each series alone');
    assert.equal(r.sent, 2);
    assert.equal(r.failed, 1);
    assert.deepEqual(r.errors, ['series 2222222222222222 "S1": HTTP 400 INVALID_BODY: definitions[0].query is refused']);
    assert.deepEqual(outboxCounts(db), { pending: 0, failed: 1 });
  });

  it('gives up after maxAttempts with every point still pending, and splits into batches', async () => {
    const db = await queued(5);
    steps = [{ status: 503 }, { status: 503 }];
    seen.length = 0;
    const r = await pushOutbox(db, { server: base, token: 'cit_x', baseDelayMs: 1, maxAttempts: 2, batchSize: 2 });
    assert.match(r.gaveUp ?? '', /gave up after 2 attempts: HTTP 503/);
    assert.equal(r.pending, 5);
    steps = [];
    seen.length = 0;
    const ok = await pushOutbox(db, { server: base, token: 'cit_x', batchSize: 2 });
    assert.equal(ok.batches, 3);
    assert.deepEqual(seen.map((s) => JSON.parse(s.body).points.length), [2, 2, 1]);
  });

  it('stops waiting when cancelled', async () => {
    const db = await queued(1);
    steps = [{ status: 503, headers: { 'retry-after': '60' } }];
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    await assert.rejects(pushOutbox(db, { server: base, token: 'cit_x', signal: ac.signal }), /cancelled/);
    assert.equal(outboxCounts(db).pending, 1);
  });
});
