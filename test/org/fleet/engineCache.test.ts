// Each mirror keeps its own engine cache: a job opens and saves only its repository's rows, a second
// insight over the same repository reads no blob again, a new commit reads only its new blob, the
// cache counts in the mirror budget and goes when its mirror is evicted. Real git repositories,
// real PGlite, the worker's own task (runComputeJob) and mirror folder.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { ENGINE_CACHE_NAME, MirrorStore } from '../../../org/fleet/mirrors';
import { addRepos, createInsights } from '../../../org/fleet/store';
import { runComputeJob, type RunOutcome, type TaskContext } from '../../../org/fleet/task';
import { makeOrg, openTestDb, type TestDb, type TestOrg } from '../helpers';
import { addCommit, generateRepos } from './fleetOrg';

// Regular expressions, so every blob is read into the engine (no git grep shortcut) and counted.
const debt = (id: string) => ({ id, title: id, queries: [{ query: 'TODO\\s+\\w+ \\d' }, { query: 'FIXME \\d', label: 'fixme' }], step: 'week', points: 10, end: '2026-03-09' });

describe('fleet: one engine cache per mirror', () => {
  let t: TestDb;
  let work: string;
  let org: TestOrg;
  let repos: string[];

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'ci-fleet-cache-'));
    repos = generateRepos(join(work, 'repos'), 2).map((n) => join(work, 'repos', n));
    t = await openTestDb('pglite');
    org = await makeOrg(t.db, 'cached');
  });
  after(async () => {
    await t?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const ctxWith = (mirrors: MirrorStore): TaskContext => ({ db: t.db, mirrors, engineCache: true, log: pino({ level: 'silent' }) });
  const done = (r: RunOutcome) => {
    assert.equal(r.outcome, 'done');
    return r as Extract<RunOutcome, { outcome: 'done' }>;
  };

  it('a second insight reads no blob; a new commit reads only its blob; the cache is in the budget and leaves with its mirror', async () => {
    const mirrors = new MirrorStore(join(work, 'mirrors'), 0);
    const ctx = ctxWith(mirrors);
    const { runs: none } = await addRepos(t.db, org.id, repos);
    assert.equal(none.length, 0);
    const first = await createInsights(t.db, org.id, JSON.stringify({ insights: [debt('debt-a')] }), { kind: 'all' });
    const [runA, runB] = first.runs;

    const a1 = done(await runComputeJob(ctx, runA, { n: 1, max: 1 }));
    assert.ok(a1.cloned);
    assert.ok(a1.blobsRead > 0, 'the first job reads the blobs');
    const cacheA = join(mirrors.pathOf(repos[0]), ENGINE_CACHE_NAME);
    assert.ok(existsSync(cacheA), 'the cache is inside the mirror');
    assert.ok(!existsSync(join(mirrors.pathOf(repos[1]), ENGINE_CACHE_NAME)), 'no other mirror has one yet');
    assert.ok(mirrors.totalBytes() >= statSync(cacheA).size, 'the budget counts the cache');

    // The same queries in another insight: everything is in this mirror's cache.
    const second = await createInsights(t.db, org.id, JSON.stringify({ insights: [debt('debt-b')] }), { kind: 'list', repos: [repos[0]] });
    const a2 = done(await runComputeJob(ctx, second.runs[0], { n: 1, max: 1 }));
    assert.ok(!a2.cloned);
    assert.equal(a2.blobsRead, 0); // (answered from the per-commit values or per-blob counts of the cache)
    // The same queries are the same org series: the same points, none inserted or changed.
    assert.deepEqual([a2.points, a2.inserted, a2.updated], [a1.points, 0, 0]);

    // A new commit inside the window: only its new blob is read.
    addCommit(repos[0], new Date('2026-03-01T12:00:00Z'), 3);
    const a3 = done(await runComputeJob(ctx, runA, { n: 1, max: 1 }));
    assert.equal(a3.blobsRead, 1);
    assert.ok(a3.fetchedBytes > 0);

    // B's job on a store whose budget is one byte: A's mirror (least recently used) goes, cache and all.
    const tight = new MirrorStore(join(work, 'mirrors'), 1);
    const b1 = done(await runComputeJob(ctxWith(tight), runB, { n: 1, max: 1 }));
    assert.ok(b1.blobsRead > 0, "B's job did not read A's cache");
    assert.ok(!existsSync(mirrors.pathOf(repos[0])), "A's mirror was evicted");
    assert.ok(!existsSync(cacheA));
  });

  it('without an engine cache nothing is written into the mirror', async () => {
    const mirrors = new MirrorStore(join(work, 'bare-mirrors'), 0);
    const third = await createInsights(t.db, org.id, JSON.stringify({ insights: [debt('debt-c')] }), { kind: 'list', repos: [repos[1]] });
    const r = done(await runComputeJob({ ...ctxWith(mirrors), engineCache: false }, third.runs[0], { n: 1, max: 1 }));
    assert.ok(r.blobsRead > 0);
    assert.ok(!existsSync(join(mirrors.pathOf(repos[1]), ENGINE_CACHE_NAME)));
  });
});
