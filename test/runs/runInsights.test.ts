// The run layer (server/runs/runInsights.ts) around the pure engine: what the engine wrote to
// the cache is saved once the repositories are found, even when the run is cancelled, and a
// run that fails before that (no repository at the path) leaves no cache file behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TestRepo, tempDir } from '../helpers/gitRepo';
import { runInsights } from '../../server/runs/runInsights';
import type { ComputeRequest } from '../../server/engine/api';

const spec = { label: 'todo', query: 'TODO', literal: false, ignoreCase: false, count: 'matches' as const, include: [], exclude: [], maxFileSize: 1 << 20 };
const request = (paths: string[]): ComputeRequest => ({ paths, series: [spec], step: 'week', points: 3, end: new Date('2026-01-20T12:00:00Z') });

test('a run that finds no repository writes no cache file', async () => {
  const cacheFile = join(tempDir(), 'cache.sqlite');
  await assert.rejects(runInsights(request([tempDir()]), { cacheFile }), { name: 'InsightsError' });
  assert.equal(existsSync(cacheFile), false);
});

test('a run cancelled after one repository finished keeps that repository in the cache', async () => {
  const parent = tempDir();
  for (const name of ['a', 'b']) {
    const r = TestRepo.init(join(parent, name));
    r.commit('2026-01-05T10:00:00Z', { [`${name}.ts`]: 'TODO one\n' });
    r.commit('2026-01-14T10:00:00Z', { [`${name}.ts`]: 'TODO one\nTODO two\n', 'more.ts': `// ${name} TODO\n` });
  }
  const cacheFile = join(tempDir(), 'cache.sqlite');
  const ac = new AbortController();
  let finished: string | undefined;
  const run = runInsights(request([parent]), {
    cacheFile,
    concurrency: 1,
    signal: ac.signal,
    onPartial: (p) => {
      finished = p.repos[0].path;
      ac.abort();
    },
  });
  await assert.rejects(run, { name: 'AbortedError' });
  assert.ok(finished, 'one repository finished before the cancel');
  const again = await runInsights(request([finished]), { cacheFile });
  assert.equal(again.stats.blobsRead, 0, 'its blobs come from the saved cache');
  assert.deepEqual(again.series[0].points.map((p) => p.value), [1, 3, 3]);
});
