// The cache file across versions: a file in the earlier layout (text ids) is upgraded in place,
// keeping the points waiting to be pushed and what it remembers of repositories; a file a newer
// version wrote is moved aside, not overwritten.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { TestRepo, tempDir } from '../helpers/gitRepo';
import { runInsights } from '../../server/runs/runInsights';
import { InsightsCache, loadSqlJs } from '../../server/store/cache';
import { outboxCounts } from '../../server/sync/outbox';
import type { ComputeRequest } from '../../server/engine/api';

function request(dir: string): ComputeRequest {
  return {
    paths: [dir],
    series: [{ label: 'todo', query: 'TODO', literal: false, ignoreCase: false, count: 'matches', include: [], exclude: [], maxFileSize: 1 << 20 }],
    languages: true,
    step: 'week',
    points: 3,
    end: new Date('2026-01-20T12:00:00Z'),
  };
}

function repo(): TestRepo {
  const r = TestRepo.init();
  r.git(['remote', 'add', 'origin', 'git@github.com:acme/widgets.git']);
  r.commit('2026-01-05T10:00:00Z', { 'a.ts': 'TODO one\n' });
  r.commit('2026-01-14T10:00:00Z', { 'a.ts': 'TODO one\nTODO two\n', 'b.py': 'x = 1\n' });
  return r;
}

/** Rewrites a cache file into the first layout (text ids, as version 1 wrote it), with one row of each kind. */
async function toFirstLayout(file: string): Promise<void> {
  const SQL = await loadSqlJs();
  const db = new SQL.Database(readFileSync(file));
  db.run(`
    DROP TABLE keys; DROP TABLE blobs; DROP TABLE blob_counts; DROP TABLE commit_values;
    CREATE TABLE blobs (oid TEXT PRIMARY KEY, size INTEGER NOT NULL, binary INTEGER NOT NULL, lines INTEGER) WITHOUT ROWID;
    CREATE TABLE blob_counts (matcher TEXT NOT NULL, oid TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (matcher, oid)) WITHOUT ROWID;
    CREATE TABLE commit_values (unit TEXT NOT NULL, oid TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (unit, oid)) WITHOUT ROWID;
    INSERT INTO blobs VALUES ('${'a'.repeat(40)}', 10, 0, 1);
    INSERT INTO blob_counts VALUES ('${'b'.repeat(32)}', '${'a'.repeat(40)}', '7,7,1');
    INSERT INTO commit_values VALUES ('${'c'.repeat(32)}', '${'d'.repeat(40)}', '99');
    UPDATE meta SET value = '1' WHERE key = 'schema';
  `);
  writeFileSync(file, db.export());
  db.close();
}

test('a cache in the earlier layout is upgraded: queued points and memos kept, results computed again and right', async () => {
  const r = repo();
  const file = join(tempDir(), 'cache.sqlite');
  const fresh = await runInsights(request(r.dir), { cacheFile: null });
  await runInsights(request(r.dir), { cacheFile: file });
  let { cache } = await InsightsCache.open(file);
  const queued = outboxCounts(cache.db);
  const memos = cache.db.exec(`SELECT key, value FROM meta WHERE key LIKE 'root:%' OR key LIKE 'sample:%' ORDER BY key`)[0]?.values ?? [];
  cache.close();
  assert.equal(queued.pending, 2, 'two boundary points wait to be pushed');
  await toFirstLayout(file);

  const opened = await InsightsCache.open(file);
  assert.match(opened.warning ?? '', /earlier version.*sync queue is kept/);
  assert.deepEqual(outboxCounts(opened.cache.db), queued);
  assert.deepEqual(opened.cache.db.exec(`SELECT key, value FROM meta WHERE key LIKE 'root:%' OR key LIKE 'sample:%' ORDER BY key`)[0]?.values ?? [], memos);
  opened.cache.save();
  opened.cache.close();

  const again = await runInsights(request(r.dir), { cacheFile: file });
  assert.deepEqual(again.series, fresh.series, 'nothing from the old layout is read as a result');
  assert.deepEqual(again.languages, fresh.languages);
  assert.ok(again.stats.blobsRead + again.stats.blobsCountedByGit > 0, 'the results were computed again');
  ({ cache } = await InsightsCache.open(file));
  assert.deepEqual(outboxCounts(cache.db), queued, 'the same points, not queued twice');
  cache.close();
  const reopened = await InsightsCache.open(file);
  assert.equal(reopened.warning, undefined);
  reopened.cache.close();
});

test('a cache a newer version wrote is moved aside intact, and a new one is used', async () => {
  const r = repo();
  const file = join(tempDir(), 'cache.sqlite');
  await runInsights(request(r.dir), { cacheFile: file });
  const SQL = await loadSqlJs();
  const db = new SQL.Database(readFileSync(file));
  db.run(`UPDATE meta SET value = '99' WHERE key = 'schema'`);
  const newer = Buffer.from(db.export());
  db.close();
  writeFileSync(file, newer);

  const res = await runInsights(request(r.dir), { cacheFile: file });
  const warning = res.repos.find((s) => s.repo === '(cache)')?.warning ?? '';
  assert.match(warning, /newer version of Code Insights \(layout 99\); moved it to /);
  const aside = readdirSync(dirname(file)).filter((f) => f.startsWith(`${basename(file)}.newer-`));
  assert.equal(aside.length, 1, readdirSync(dirname(file)).join(', '));
  assert.ok(readFileSync(join(dirname(file), aside[0])).equals(newer), 'the newer file is kept byte for byte');
  assert.ok(existsSync(file));
  assert.deepEqual(res.series, (await runInsights(request(r.dir), { cacheFile: null })).series);
});
