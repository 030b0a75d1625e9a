// A run with a cache queues its bucket-boundary points for `push`: the live point at `end` is
// not queued, and nothing but ids, repo identity, commits, times and numbers is stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRepo, tempDir } from '../helpers/gitRepo';
import { computeInsights } from '../../server/engine/computeInsights';
import { InsightsCache } from '../../server/store/cache';

test('boundary points are queued in the outbox; the end point and file contents are not', async () => {
  const repo = TestRepo.init();
  repo.git(['remote', 'add', 'origin', 'git@github.com:acme/widgets.git']);
  repo.commit('2026-01-05T10:00:00Z', { 'secret/path.ts': 'TODO secret-text\n' });
  repo.commit('2026-01-14T10:00:00Z', { 'secret/path.ts': 'TODO secret-text\nTODO more\n' });
  const cacheFile = join(tempDir(), 'cache.sqlite');
  const r = await computeInsights(
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
  const r = await computeInsights(
    { paths: [repo.dir], series: [{ label: 'v', query: '"secret-lib": "(\\d+)', literal: false, ignoreCase: false, count: 'matches', include: [], exclude: [], maxFileSize: 1 << 20, capture: { limit: 5 } }], step: 'week', points: 3, end: new Date('2026-01-20T12:00:00Z') },
    { cacheFile },
  );
  assert.equal(r.series[0].capture, '1');
  const { cache } = await InsightsCache.open(cacheFile);
  const rows = cache.db.exec("SELECT count(*) FROM sqlite_master WHERE name = 'sync_outbox'")[0].values[0][0] === 1 ? cache.db.exec('SELECT * FROM sync_outbox') : [];
  cache.close();
  assert.deepEqual(rows, []);
});
