// Several real processes on one cache file at once: `code-insights series` runs with different
// queries, a `code-insights push` to a real org service (org/app.ts on PGlite), and an insights
// server (as a VS Code window runs it) that computes its own insight and syncs, started
// together, round after round as new commits arrive. Each process loads the whole sql.js file
// and writes it whole; none may drop what another saved. Afterwards every run's values are in
// the cache (a rerun reads no blob), and every point a run queued is pending or acknowledged:
// none lost, none the service acknowledged put back to pending. A process killed with -9 loses
// only its own work and blocks no one, even while it holds the lock; one that waits says so.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ComputeInsightsRequest, SyncRequest } from '../../protocol/lsp';
import type { OrgPoint } from '../../protocol/org';
import { InsightsCache } from '../../server/store/cache';
import { withFileLock } from '../../server/store/fileLock';
import { GIT_ENV, TestRepo, tempDir } from '../helpers/gitRepo';
import { makeOrg, openTestDb, startApp, type TestDb, type TestOrg } from '../org/helpers';
import { BIN, ensureBuilt, ROOT, type SeriesOutput } from '../cli/cliHarness';
import { startServer } from '../server/lspClient';

const QUERIES = ['TODO[0-9]*', 'FIXME[0-9]*', 'HACK[0-9]*'];
/** The insights server's query (the CLI reruns it to check its rows were kept). */
const WINDOW_QUERY = 'TODO[0-9] [a-z]';
const ROUNDS = 3;
const endOf = (round: number) => `2026-03-${String(11 + round).padStart(2, '0')}T12:00:00Z`;
const window = (round: number) => ['--step', 'day', '--points', '12', '--end', endOf(round)];

let tdb: TestDb;
let org: TestOrg;
let service: { base: string; close(): Promise<void> };
let proxy: Server;
let proxyBase: string;
/** Every point the service answered 2xx for: it holds them. */
const acknowledged = new Set<string>();
let repo: TestRepo;

const pointKey = (p: { series: string; repo: string; time: string; commit: string; value: number }) => `${p.series} ${p.repo} ${p.time} ${p.commit} ${p.value}`;

before(async () => {
  ensureBuilt();
  tdb = await openTestDb('pglite');
  org = await makeOrg(tdb.db);
  service = await startApp(tdb.db);
  // Forwards to the service and notes which points it acknowledged.
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => void (async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      try {
        const up = await fetch(`${service.base}${req.url}`, { method: req.method, headers: { 'content-type': 'application/json', authorization: String(req.headers.authorization ?? '') }, body: req.method === 'POST' ? body : undefined });
        const text = await up.text();
        if (up.ok && req.method === 'POST') for (const p of (JSON.parse(body) as { points: OrgPoint[] }).points) acknowledged.add(pointKey(p));
        res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/json' });
        res.end(text);
      } catch (e) {
        res.writeHead(502);
        res.end(String(e));
      }
    })());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyBase = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

  repo = TestRepo.init();
  const files: Record<string, string> = {};
  for (let i = 0; i < 40; i++) files[`src/f${i}.ts`] = `// file ${i}\n${'TODO1 x\n'.repeat(i % 3)}${'FIXME2 y\n'.repeat(i % 4)}${i % 5 === 0 ? 'HACK3\n' : ''}`;
  repo.commit('2026-03-02T10:00:00Z', files);
  for (let d = 3; d <= 9; d++) {
    const change: Record<string, string> = {};
    for (let i = d; i < 40; i += 7) change[`src/f${i}.ts`] = `// day ${d}\n${'TODO1 a\n'.repeat(d % 4)}${'HACK3 b\n'.repeat(i % 3)}${'FIXME2\n'.repeat(d % 2)}`;
    repo.commit(`2026-03-0${d}T10:00:00Z`, change);
  }
  // The insights server's definitions file lives in the working tree, outside the history.
  writeFileSync(join(repo.dir, '.git', 'info', 'exclude'), '.vscode/\n');
});

/** A VS Code window's insights server: computes its insight into the cache, then syncs it. */
async function windowRound(cache: string, round: number): Promise<[string, number][]> {
  mkdirSync(join(repo.dir, '.vscode'), { recursive: true });
  writeFileSync(join(repo.dir, '.vscode', 'insights.json'), JSON.stringify({
    insights: [{ id: 'markers', title: 'Markers', queries: [{ query: WINDOW_QUERY, label: 'markers' }], step: 'day', points: 12, end: endOf(round) }],
  }));
  const s = await startServer([repo.dir], { cacheFile: cache });
  try {
    const { results } = await s.conn.sendRequest(ComputeInsightsRequest.type, {});
    assert.equal(results[0]?.error, undefined, `round ${round}: the window's compute: ${JSON.stringify(results[0]?.error)}`);
    const sync = await s.conn.sendRequest(SyncRequest.type, { serverUrl: proxyBase, token: org.write });
    assert.equal(sync.error, undefined, `round ${round}: the window's sync: ${JSON.stringify(sync.error)}`);
    return results[0].series[0].points.map((p) => [p.time, p.value]);
  } catch (e) {
    throw new Error(`${(e as Error).message}\nserver stderr: ${s.stderr()}`);
  } finally {
    await s.stop();
  }
}

after(async () => {
  proxy?.close();
  await service?.close();
  await tdb?.cleanup();
});

interface Started {
  child: ChildProcess;
  stderr(): string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

function start(args: string[], env: NodeJS.ProcessEnv = {}): Started {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...GIT_ENV, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  child.stderr!.on('data', (d) => (err += String(d)));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: err })),
  );
  return { child, stderr: () => err, done };
}

async function until(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function series(cache: string, query: string, round: number, extra: string[] = []): Promise<SeriesOutput> {
  const r = await start(['series', repo.dir, '-q', query, ...window(round), '--cache', cache, '--format', 'json', ...extra]).done;
  assert.equal(r.code, 0, `series -q ${query} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as SeriesOutput;
}

/** A rerun that must answer from the cache file itself (the run memo beside it removed). */
async function rerunFromCache(cache: string, query: string, round: number): Promise<SeriesOutput> {
  rmSync(`${cache}.runs.json`, { force: true });
  return series(cache, query, round);
}

const values = (o: SeriesOutput) => o.series.map((s) => s.points.map((p) => [p.time, p.value, p.repos.map((r) => [r.repo, r.commit, r.value])]));

async function outbox(cache: string): Promise<{ pending: Set<string>; failed: number; acked: Set<string> }> {
  const { cache: c } = await InsightsCache.open(cache);
  try {
    const rows = (sql: string) => (c.db.exec(sql)[0]?.values ?? []).map((v) => pointKey({ series: String(v[0]), repo: String(v[1]), time: String(v[2]), commit: String(v[3]), value: Number(v[4]) }));
    return {
      pending: new Set(rows(`SELECT series, repo, time, commit_sha, value FROM sync_outbox WHERE state = 'pending'`)),
      failed: Number(c.db.exec(`SELECT count(*) FROM sync_outbox WHERE state = 'failed'`)[0].values[0][0]),
      acked: new Set(rows('SELECT series, repo, time, commit_sha, value FROM sync_acked')),
    };
  } finally {
    c.close();
  }
}

/** The points a run queues: every repository's value at each bucket boundary (the last point, at `end`, is not one). */
function boundaryPoints(o: SeriesOutput): string[] {
  return o.series.flatMap((s) => s.points.slice(0, -1).flatMap((p) => p.repos.map((r) => pointKey({ series: s.id, repo: r.repo, time: p.time, commit: r.commit, value: r.value }))));
}

test('series runs and a push started together, round after round: no process drops another\'s rows', async () => {
  const cache = join(tempDir('ci-conc-'), 'cache.sqlite');
  // What the last round's processes answered (each computed it, mostly fresh): the oracle for the reruns.
  let lastOutputs: SeriesOutput[] = [];
  let lastWindow: [string, number][] = [];
  for (let round = 0; round < ROUNDS; round++) {
    if (round > 0) repo.commit(`2026-03-${String(10 + round).padStart(2, '0')}T10:00:00Z`, { [`src/new${round}.ts`]: `TODO${round}\nFIXME${round}\nHACK${round}\n` });
    const runs = QUERIES.map((q) => start(['series', repo.dir, '-q', q, ...window(round), '--cache', cache, '--format', 'json']));
    const push = start(['push', '--server', proxyBase, '--token', org.write, '--cache', cache]);
    const windowDone = windowRound(cache, round);
    const outs = await Promise.all(runs.map((x) => x.done));
    for (const [i, r] of outs.entries()) assert.equal(r.code, 0, `round ${round}: series -q ${QUERIES[i]}: ${r.stderr}`);
    lastOutputs = outs.map((r) => JSON.parse(r.stdout) as SeriesOutput);
    const p = await push.done;
    assert.ok(p.code === 0 || p.code === 1, `round ${round}: push exited ${p.code}: ${p.stderr}`);
    assert.doesNotMatch(p.stderr, /rejected|not accepted|NETWORK|Error/, `round ${round}: push: ${p.stderr}`);
    lastWindow = await windowDone;
  }
  assert.ok(acknowledged.size > 0, 'the pushes sent points while runs saved');

  const last = ROUNDS - 1;
  const state = await outbox(cache);
  assert.equal(state.failed, 0);
  rmSync(`${cache}.runs.json`, { force: true });
  const all = [...QUERIES, WINDOW_QUERY];
  const reruns = await Promise.all(all.map((q) => series(cache, q, last)));
  // One run without the cache computes every query from git: the independent oracle.
  const exact = await start(['series', repo.dir, ...all.flatMap((q) => ['-q', q]), ...window(last), '--no-cache', '--format', 'json']).done;
  assert.equal(exact.code, 0, exact.stderr);
  const fresh = (JSON.parse(exact.stdout) as SeriesOutput).series;
  for (const [i, q] of all.entries()) {
    const again = reruns[i];
    assert.equal(again.stats?.blobsRead, 0, `-q ${q}: every value of its runs is in the cache, so a rerun reads no blob`);
    assert.deepEqual(values(again), values({ series: [fresh[i]] }), `-q ${q}: the cached values are exact`);
    if (i < QUERIES.length) assert.deepEqual(values(again), values(lastOutputs[i]), `-q ${q}: and the ones its last concurrent run answered`);
    else assert.deepEqual(again.series[0].points.map((p) => [p.time, p.value]), lastWindow, 'the window\'s cached values are the ones it computed');
    for (const k of boundaryPoints(again)) {
      assert.ok(state.pending.has(k) || state.acked.has(k), `-q ${q}: point ${k} was queued and is neither pending nor acknowledged: lost`);
    }
  }
  for (const k of state.pending) assert.ok(!acknowledged.has(k), `point ${k} was acknowledged by the service but is pending again: an acknowledgement was lost`);
  for (const k of acknowledged) assert.ok(state.acked.has(k) || !state.pending.has(k), `point ${k}`);
});

test('a process killed with -9, even while it holds the lock, blocks no one and loses only its own work', async () => {
  const dir = tempDir('ci-kill-');
  const cache = join(dir, 'cache.sqlite');
  await series(cache, QUERIES[0], 0);

  // Killed while holding the cache's lock: the lock file stays behind, naming a dead process.
  const holder = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'holdCacheLock.ts'), cache, join(dir, 'never')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let said = '';
  holder.stdout!.on('data', (d) => (said += String(d)));
  await until('the holder to hold the lock', () => said.includes('held'));
  const gone = new Promise((r) => holder.on('close', r));
  holder.kill('SIGKILL');
  await gone;
  assert.ok(existsSync(`${cache}.lock`), 'the killed holder left its lock file');

  // Killed mid-run (after loading the cache) beside two runs that finish.
  const victim = start(['series', repo.dir, '-q', QUERIES[2], ...window(0), '--cache', cache, '--format', 'json'], { CODE_INSIGHTS_TRACE: '1' });
  const others = [QUERIES[0], QUERIES[1]].map((q) => start(['series', repo.dir, '-q', q, ...window(0), '--cache', cache, '--format', 'json']));
  await until('the victim to load the cache', () => /store open/.test(victim.stderr()));
  victim.child.kill('SIGKILL');
  for (const r of await Promise.all(others.map((o) => o.done))) assert.equal(r.code, 0, r.stderr);
  assert.equal((await victim.done).signal, 'SIGKILL');
  assert.ok(!existsSync(`${cache}.lock`), 'the stale lock was taken over and released');

  rmSync(`${cache}.runs.json`, { force: true });
  const [a, b, killed, exact] = await Promise.all([series(cache, QUERIES[0], 0), series(cache, QUERIES[1], 0), series(cache, QUERIES[2], 0), series(cache, QUERIES[2], 0, ['--no-cache'])]);
  assert.equal(a.stats?.blobsRead, 0, `-q ${QUERIES[0]} kept its rows`);
  assert.equal(b.stats?.blobsRead, 0, `-q ${QUERIES[1]} kept its rows`);
  // The killed run's work is simply not there: its rerun computes it, exact.
  assert.deepEqual(values(killed), values(exact));
});

test('a run that waits for another process writing the cache says so on stderr, then saves', async () => {
  const dir = tempDir('ci-wait-');
  const cache = join(dir, 'cache.sqlite');
  const release = join(dir, 'release');
  const holder = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'holdCacheLock.ts'), cache, release], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let said = '';
  holder.stdout!.on('data', (d) => (said += String(d)));
  const holderDone = new Promise((r) => holder.on('close', r));
  await until('the holder to hold the lock', () => said.includes('held'));

  const run = start(['series', repo.dir, '-q', QUERIES[1], ...window(0), '--cache', cache, '--format', 'json']);
  try {
    await until('the wait message', () => run.stderr().includes('waiting for another code-insights process'));
  } finally {
    writeFileSync(release, ''); // a failing test leaves no process behind
  }
  assert.match(run.stderr(), new RegExp(`code-insights: waiting for another code-insights process \\(pid ${holder.pid}\\) writing the cache .*cache\\.sqlite`));
  const r = await run.done;
  await holderDone;
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await rerunFromCache(cache, QUERIES[1], 0)).stats?.blobsRead, 0, 'it saved once the holder let go');
});

test('a lock held by a live process for too long gives up with a message naming the holder and the lock file', async () => {
  const dir = tempDir('ci-lockto-');
  const cache = join(dir, 'cache.sqlite');
  const release = join(dir, 'release');
  const holder = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'holdCacheLock.ts'), cache, release], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let said = '';
  holder.stdout!.on('data', (d) => (said += String(d)));
  const holderDone = new Promise((r) => holder.on('close', r));
  await until('the holder to hold the lock', () => said.includes('held'));
  const notices: string[] = [];
  try {
    assert.throws(
      () => withFileLock(cache, `the cache ${cache}`, () => assert.fail('must not get the lock'), { timeoutMs: 300, noticeAfterMs: 100, onWait: (m) => notices.push(m) }),
      (e: Error & { code?: string }) => e.code === 'CACHE_LOCKED' && e.message.includes(`pid ${holder.pid}`) && e.message.includes(`delete ${cache}.lock`),
    );
    assert.equal(notices.length, 1, 'one wait notice');
  } finally {
    writeFileSync(release, '');
    await holderDone;
  }
});
