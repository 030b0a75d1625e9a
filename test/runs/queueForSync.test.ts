// A run with a cache queues its bucket-boundary points for `push`: the live point at `end` is
// not queued, and nothing but ids, repo identity, commits, times and numbers is stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRepo, tempDir } from '../helpers/gitRepo';
import { runInsights } from '../../server/runs/runInsights';
import { InsightsCache } from '../../server/store/cache';
import { markSent } from '../../server/sync/outbox';

test('boundary points are queued in the outbox; the end point and file contents are not', async () => {
  const repo = TestRepo.init();
  repo.git(['remote', 'add', 'origin', 'git@github.com:acme/widgets.git']);
  repo.commit('2026-01-05T10:00:00Z', { 'secret/path.ts': 'TODO secret-text\n' });
  repo.commit('2026-01-14T10:00:00Z', { 'secret/path.ts': 'TODO secret-text\nTODO more\n' });
  const cacheFile = join(tempDir(), 'cache.sqlite');
  const r = await runInsights(
    { paths: [repo.dir], series: [{ label: 'todo', query: 'TODO', literal: false, ignoreCase: false, count: 'matches', include: [], exclude: [], maxFileSize: 1 << 20 }], step: 'week', points: 3, end: new Date('2026-01-20T12:00:00Z') },
    { cacheFile },
  );
  assert.deepEqual(r.series[0].points.map((p) => p.value), [1, 2, 2]);
  const { cache } = await InsightsCache.open(cacheFile);
  const rows = cache.db.exec('SELECT series, repo, time, commit_sha, value FROM sync_outbox ORDER BY time')[0].values;
  cache.close();
  assert.deepEqual(rows.map((x) => [x[1], x[2], x[4]]), [
    ['github.com/acme/widgets', '2026-01-12T00:00:00.000Z', 1],
    ['github.com/acme/widgets', '2026-01-19T00:00:00.000Z', 2],
  ], 'the two boundaries are queued; the live end point is not');
  const raw = readFileSync(cacheFile).toString('latin1');
  assert.ok(!raw.includes('secret-text') && !raw.includes('secret/path'), 'no file content or path in the cache');
});

test('capture series are never queued: their names are matched text', async () => {
  const repo = TestRepo.init();
  repo.commit('2026-01-05T10:00:00Z', { 'package.json': '"secret-lib": "1.2.3"\n' });
  const cacheFile = join(tempDir(), 'cache.sqlite');
  const r = await runInsights(
    { paths: [repo.dir], series: [{ label: 'v', query: '"secret-lib": "(\\d+)', literal: false, ignoreCase: false, count: 'matches', include: [], exclude: [], maxFileSize: 1 << 20, capture: { limit: 5 } }], step: 'week', points: 3, end: new Date('2026-01-20T12:00:00Z') },
    { cacheFile },
  );
  assert.equal(r.series[0].capture, '1');
  const { cache } = await InsightsCache.open(cacheFile);
  const rows = cache.db.exec("SELECT count(*) FROM sqlite_master WHERE name = 'sync_outbox'")[0].values[0][0] === 1 ? cache.db.exec('SELECT * FROM sync_outbox') : [];
  cache.close();
  assert.deepEqual(rows, []);
});

test('reruns: the same points change nothing (the file stays byte for byte); sent points are not queued again; new or changed points are', async () => {
  const a = TestRepo.init();
  a.git(['remote', 'add', 'origin', 'git@github.com:acme/a.git']);
  a.commit('2026-01-05T10:00:00Z', { 'x.ts': 'TODO\n' });
  const b = TestRepo.init();
  b.git(['remote', 'add', 'origin', 'git@github.com:acme/b.git']);
  b.commit('2026-01-06T10:00:00Z', { 'y.ts': 'TODO TODO\n' });
  const cacheFile = join(tempDir(), 'cache.sqlite');
  const spec = { label: 'todo', query: 'TODO', literal: false, ignoreCase: false, count: 'matches' as const, include: [], exclude: [], maxFileSize: 1 << 20 };
  const run = (paths: string[]) => runInsights({ paths, series: [spec], step: 'week', points: 3, end: new Date('2026-01-20T12:00:00Z') }, { cacheFile });
  const outbox = async () => {
    const { cache } = await InsightsCache.open(cacheFile);
    try {
      return {
        pending: cache.db.exec('SELECT repo, time, value FROM sync_outbox ORDER BY repo, time')[0]?.values ?? [],
        acked: (cache.db.exec('SELECT count(*) FROM sync_acked')[0]?.values[0]?.[0] as number) ?? 0,
      };
    } finally {
      cache.close();
    }
  };

  await run([a.dir]);
  assert.deepEqual((await outbox()).pending, [['github.com/acme/a', '2026-01-12T00:00:00.000Z', 1], ['github.com/acme/a', '2026-01-19T00:00:00.000Z', 1]]);
  await run([a.dir]);
  const bytes = readFileSync(cacheFile);
  await run([a.dir]);
  assert.ok(readFileSync(cacheFile).equals(bytes), 'a rerun with the same points does not write the cache');

  // The points are sent (as push does), then the same points again: nothing is queued.
  const { cache } = await InsightsCache.open(cacheFile);
  const sent = cache.db.exec('SELECT series, repo, time, commit_sha, commit_time, value FROM sync_outbox')[0]!.values;
  markSent(cache.db, sent.map((v) => ({ series: String(v[0]), repo: String(v[1]), time: String(v[2]), commit: String(v[3]), commitTime: String(v[4]), value: Number(v[5]) })));
  writeFileSync(cacheFile, cache.db.export());
  cache.close();
  await run([a.dir]);
  assert.deepEqual(await outbox(), { pending: [], acked: 2 });

  // Another repository in scope: its points are queued, the sent ones are not.
  await run([a.dir, b.dir]);
  assert.deepEqual((await outbox()).pending, [['github.com/acme/b', '2026-01-12T00:00:00.000Z', 2], ['github.com/acme/b', '2026-01-19T00:00:00.000Z', 2]]);
  // A changed point (a new commit before the last boundary) is queued; the unchanged one is not.
  a.commit('2026-01-15T10:00:00Z', { 'x.ts': 'TODO\nTODO\nTODO\n' });
  await run([a.dir, b.dir]);
  assert.deepEqual((await outbox()).pending, [
    ['github.com/acme/a', '2026-01-19T00:00:00.000Z', 3],
    ['github.com/acme/b', '2026-01-12T00:00:00.000Z', 2],
    ['github.com/acme/b', '2026-01-19T00:00:00.000Z', 2],
  ]);
});
