// Sync from the insights server to a real org service, over the real protocol: the server
// process computes an insight over a real git repository, queues its boundary points, and sends
// them when asked (insights/sync). Every HTTP body on the wire is recorded by a small proxy in
// front of the service, to prove that no file content, path or matched text leaves the machine.
// The org service is the real one (org/app.ts) on PGlite in a temp folder, or on the PostgreSQL
// at DATABASE_URL when it is set.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CancellationTokenSource, LogMessageNotification, LSPErrorCodes, ResponseError, WorkDoneProgress, type WorkDoneProgressBegin, type WorkDoneProgressEnd, type WorkDoneProgressReport } from 'vscode-languageserver-protocol/node';
import { ComputeInsightsRequest, SyncRequest, SyncStatusRequest, VerifyOrgRequest, type InsightResult } from '../../protocol/lsp';
import type { SeriesResponse } from '../../protocol/org';
import { get, makeOrg, openTestDb, startApp, type TestDb, type TestOrg } from '../org/helpers';
import { TestRepo, tempDir } from '../helpers/gitRepo';
import { startServer, type StartedServer } from './lspClient';

// Distinctive strings: the matched text (the query is a pattern that does not contain it), the
// path of the file and of the folders, and other content of the file.
const MATCHED = 'zq48213xk';
const QUERY = 'zq[0-9]+xk';
const FILE_DIR = 'secretdir_qv73';
const FILE_NAME = 'confidential_file_wj92.ts';
const OTHER_CONTENT = 'PRIVATE_CONTENT_ab12cd';
const FOLDER = 'workspace_folder_mx55';

let tdb: TestDb;
let org: TestOrg;
let service: { base: string; close(): Promise<void> };
let proxy: Server;
let proxyBase: string;
let holdBatches = false;
const held: ServerResponse[] = [];
const wire: { method: string; url: string; auth: string; body: string; status: number; response: string }[] = [];
let root: string;
let ws: string;
let cacheFile: string;

before(async () => {
  tdb = await openTestDb(process.env.DATABASE_URL ? 'postgres' : 'pglite');
  org = await makeOrg(tdb.db);
  service = await startApp(tdb.db);
  // The recording proxy: forwards every request to the service and keeps both bodies.
  const target = new URL(service.base);
  proxy = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      // Holding a batch (not the empty check) open lets a test cancel a sync in flight.
      if (holdBatches && body.length > 40) {
        held.push(res);
        return;
      }
      const fwd = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
        const back: Buffer[] = [];
        up.on('data', (c: Buffer) => back.push(c));
        up.on('end', () => {
          const response = Buffer.concat(back);
          wire.push({ method: req.method!, url: req.url!, auth: String(req.headers.authorization ?? ''), body: body.toString('utf8'), status: up.statusCode!, response: response.toString('utf8') });
          res.writeHead(up.statusCode!, up.headers);
          res.end(response);
        });
      });
      fwd.on('error', (e) => {
        res.writeHead(502);
        res.end(String(e));
      });
      fwd.end(body);
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyBase = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

  root = tempDir('ci-sync-');
  ws = join(root, FOLDER);
  const repo = TestRepo.init(join(ws, 'alpha'));
  const path = `${FILE_DIR}/${FILE_NAME}`;
  repo.commit('2025-12-10T10:00:00Z', { [path]: `// ${OTHER_CONTENT}\nconst a = "${MATCHED}";\n` });
  repo.commit('2026-01-15T10:00:00Z', { [path]: `// ${OTHER_CONTENT}\nconst a = "${MATCHED}";\nconst b = "${MATCHED} ${MATCHED}";\n` });
  repo.commit('2026-02-20T10:00:00Z', { [path]: `// ${OTHER_CONTENT}\n${MATCHED}\n${MATCHED} ${MATCHED} ${MATCHED} ${MATCHED}\n` });
  mkdirSync(join(ws, '.vscode'));
  writeFileSync(join(ws, '.vscode', 'insights.json'), JSON.stringify({
    insights: [{ id: 'markers', title: 'Markers', queries: [{ query: QUERY, label: 'markers' }], step: 'month', points: 4, end: '2026-03-15T00:00:00Z' }],
  }));
  cacheFile = join(root, 'cache', 'cache.sqlite');
});

after(async () => {
  await new Promise<void>((r) => proxy.close(() => r()));
  await service.close();
  await tdb.cleanup();
  rmSync(root, { recursive: true, force: true });
});

async function withServer(fn: (s: StartedServer, logs: string[]) => Promise<void>): Promise<void> {
  const s = await startServer([ws], { cacheFile }, { workDoneProgress: true });
  const logs: string[] = [];
  s.conn.onNotification(LogMessageNotification.type, (m) => { logs.push(m.message); });
  try {
    await fn(s, logs);
  } catch (err) {
    if (s.stderr()) console.error('server stderr:\n' + s.stderr());
    throw err;
  } finally {
    await s.stop();
  }
  // The token never reaches a log line, on either channel.
  for (const t of [org.write, org.read]) {
    assert.ok(!logs.some((l) => l.includes(t)), 'no token in the server log');
    assert.ok(!s.stderr().includes(t), 'no token on stderr');
  }
}

test('sync sends the computed boundary points, and nothing but ids, times and numbers', async () => {
  await withServer(async ({ conn }, logs) => {
    const { results } = await conn.sendRequest(ComputeInsightsRequest.type, {});
    const result: InsightResult = results[0];
    assert.equal(result.error, undefined);
    const series = result.series[0];
    // The live point at `end` is local only; the boundary points (1st of the month) are queued.
    assert.deepEqual(series.points.map((p) => [p.time, p.value]), [
      ['2026-01-01T00:00:00.000Z', 1],
      ['2026-02-01T00:00:00.000Z', 3],
      ['2026-03-01T00:00:00.000Z', 5],
      ['2026-03-15T00:00:00.000Z', 5],
    ]);
    assert.deepEqual(await conn.sendRequest(SyncStatusRequest.type, {}), { pending: 3, failed: 0, failures: [] });

    // Wrong token: 401, said so, nothing leaves the outbox or is marked failed.
    const bad = await conn.sendRequest(SyncRequest.type, { serverUrl: proxyBase, token: 'cit_not_a_real_token_0000' });
    assert.equal(bad.error?.code, 'UNAUTHORIZED');
    assert.match(bad.error!.message, /does not accept this token.*Connect to Org Server.*3 points stay queued/s);
    assert.deepEqual([bad.sent, bad.pending], [0, 3]);
    // A read token: 403, "read token" in the message.
    const ro = await conn.sendRequest(SyncRequest.type, { serverUrl: proxyBase, token: org.read });
    assert.equal(ro.error?.code, 'FORBIDDEN');
    assert.match(ro.error!.message, /read token/);
    assert.deepEqual(await conn.sendRequest(SyncStatusRequest.type, {}), { pending: 3, failed: 0, failures: [] });

    // Checks before saving a connection: bad URL, nothing listening, a server that is not ours.
    assert.equal((await conn.sendRequest(VerifyOrgRequest.type, { serverUrl: 'ftp://example.com', token: org.write })).error?.code, 'BAD_URL');
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const unreachable = await conn.sendRequest(SyncRequest.type, { serverUrl: `http://127.0.0.1:${deadPort}`, token: org.write });
    assert.equal(unreachable.error?.code, 'UNREACHABLE');
    assert.match(unreachable.error!.message, /cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED.*3 points stay queued/s);
    assert.equal((await conn.sendRequest(VerifyOrgRequest.type, { serverUrl: `${service.base}/healthz/`, token: org.write })).error?.code, 'NOT_ORG_SERVICE');
    assert.deepEqual(await conn.sendRequest(VerifyOrgRequest.type, { serverUrl: proxyBase, token: org.write }), { ok: true });

    // The real sync, with progress.
    const progress: (WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd)[] = [];
    conn.onProgress(WorkDoneProgress.type, 'sync-1', (v) => { progress.push(v); });
    wire.length = 0;
    const ok = await conn.sendRequest(SyncRequest.type, { serverUrl: proxyBase, token: org.write, workDoneToken: 'sync-1' });
    assert.equal(ok.error, undefined);
    assert.deepEqual([ok.sent, ok.failed, ok.pending], [3, 0, 0]);
    assert.ok(ok.syncedAt && !Number.isNaN(Date.parse(ok.syncedAt)));
    assert.equal(progress[0]?.kind, 'begin');
    assert.equal(progress.at(-1)?.kind, 'end');
    assert.ok(progress.some((p) => p.kind === 'report' && /sent 3 of 3 points/.test(p.message ?? '')), JSON.stringify(progress));
    assert.deepEqual(await conn.sendRequest(SyncStatusRequest.type, {}), { pending: 0, failed: 0, failures: [] });
    assert.ok(logs.some((l) => /sync to http:\/\/127\.0\.0\.1:\d+: sent 3 points/.test(l)), logs.join('\n'));

    // The org service holds exactly the computed boundary points.
    const read = await get(service.base, `/api/v1/series/${series.id}`, org.read);
    assert.equal(read.status, 200);
    const body = read.json as SeriesResponse;
    assert.deepEqual(body.points.map((p) => [p.time, p.value]), series.points.slice(0, -1).map((p) => [p.time, p.value]));

    // What went over the wire: the check (an empty batch) and one batch of 3 points.
    const posts = wire.filter((w) => w.method === 'POST');
    assert.deepEqual(posts.map((w) => [w.url, w.status]), [['/api/v1/points', 200], ['/api/v1/points', 200]]);
    assert.deepEqual(JSON.parse(posts[0].body), { definitions: [], points: [] });
    const batch = JSON.parse(posts[1].body);
    assert.equal(batch.points.length, 3);
    assert.equal(batch.definitions[0].query, QUERY, 'the definition carries the query as written (a pattern), not what it matched');
    assert.ok(posts[1].body.includes(series.id), 'the recorded body is the batch');
    assert.ok(posts.every((w) => w.auth === `Bearer ${org.write}`));
  });

  // Every byte sent by the sync client in this test, including the failed attempts.
  const sent = wire.map((w) => `${w.url}\n${w.body}`).join('\n');
  for (const secret of [MATCHED, FILE_DIR, FILE_NAME, OTHER_CONTENT, FOLDER, root, 'alpha']) {
    assert.ok(!sent.includes(secret), `"${secret}" must not leave the machine`);
  }
});

test('a sync cancelled in flight answers RequestCancelled and keeps every point queued', async () => {
  // A cache of its own, with the points queued but not sent.
  const before = cacheFile;
  cacheFile = join(root, 'cache-cancel', 'cache.sqlite');
  try {
    await withServer(async ({ conn }) => {
      await conn.sendRequest(ComputeInsightsRequest.type, {});
      assert.equal((await conn.sendRequest(SyncStatusRequest.type, {})).pending, 3);
      holdBatches = true;
      held.length = 0;
      const cts = new CancellationTokenSource();
      const sync = conn.sendRequest(SyncRequest.type, { serverUrl: proxyBase, token: org.write }, cts.token);
      while (held.length === 0) await new Promise((r) => setTimeout(r, 50));
      cts.cancel();
      await assert.rejects(sync, (e) => e instanceof ResponseError && e.code === LSPErrorCodes.RequestCancelled);
      assert.deepEqual(await conn.sendRequest(SyncStatusRequest.type, {}), { pending: 3, failed: 0, failures: [] });
    });
  } finally {
    holdBatches = false;
    for (const r of held) r.destroy();
    cacheFile = before;
  }
});

test('recomputing queues nothing already acknowledged; a second sync sends no batch', async () => {
  await withServer(async ({ conn }) => {
    // Recomputing the same history queues nothing new: the points were acknowledged.
    await conn.sendRequest(ComputeInsightsRequest.type, {});
    assert.deepEqual(await conn.sendRequest(SyncStatusRequest.type, {}), { pending: 0, failed: 0, failures: [] });
    wire.length = 0;
    const again = await conn.sendRequest(SyncRequest.type, { serverUrl: proxyBase, token: org.write });
    assert.deepEqual([again.sent, again.pending, again.error], [0, 0, undefined]);
    assert.equal(wire.filter((w) => w.method === 'POST').length, 1, 'only the check, no batch');
  });
});
