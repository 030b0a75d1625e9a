// A repository's own configuration must not make the engine run programs: hostile fsmonitor,
// external diff, textconv and pager settings are planted and a marker file must not appear.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { TestRepo, tempDir } from '../helpers/gitRepo';
import { runInsights } from '../../server/runs/runInsights';

test('fsmonitor, diff.external, textconv and pager in a repo config never run', async () => {
  const dir = tempDir();
  const marker = join(dir, 'pwned');
  const evil = join(dir, 'evil.sh');
  writeFileSync(evil, `#!/bin/sh\ntouch ${marker}\necho TODO TODO TODO\n`);
  chmodSync(evil, 0o755);
  const repo = TestRepo.init(join(dir, 'repo'));
  repo.commit('2026-01-05T10:00:00Z', { 'a.txt': 'TODO\n', '.gitattributes': '*.txt diff=evil\n' });
  repo.commit('2026-01-12T10:00:00Z', { 'a.txt': 'TODO\nTODO\n' });
  for (const [k, v] of [['core.fsmonitor', evil], ['diff.external', evil], ['diff.evil.textconv', evil], ['core.pager', evil], ['pager.diff-tree', evil], ['core.hooksPath', dir]]) {
    repo.git(['config', k, v]);
  }
  const r = await runInsights(
    { paths: [repo.dir], series: [{ label: 't', query: 'TODO', literal: false, ignoreCase: false, count: 'matches', include: [], exclude: [], maxFileSize: 1 << 20 }], step: 'week', points: 3, end: new Date('2026-01-20T00:00:00Z') },
    { cacheFile: null },
  );
  assert.deepEqual(r.series[0].points.map((p) => p.value), [1, 2, 2]);
  assert.equal(existsSync(marker), false, 'a configured program ran');
});

test('a partial clone is never fetched from: its repo gets an error naming the cause', async () => {
  const dir = tempDir();
  const src = TestRepo.init(join(dir, 'src'));
  src.commit('2026-01-05T10:00:00Z', { 'a.txt': 'TODO\n' });
  src.commit('2026-01-12T10:00:00Z', { 'a.txt': 'TODO\nTODO\n' });
  src.git(['config', 'uploadpack.allowFilter', 'true']);
  const clone = join(dir, 'clone');
  execFileSync('git', ['clone', '-q', '--no-local', '--bare', '--filter=blob:none', `file://${src.dir}`, clone]);
  const blob = execFileSync('git', ['--git-dir', clone, 'rev-parse', 'HEAD:a.txt'], { encoding: 'utf8' }).trim();
  // A literal (git grep), a regex (the tree listed with sizes, blobs read) and lines per language
  // (git grep -c, sizes from the listing) each reach the missing blobs by another git command.
  const series = (query: string) => [{ label: 't', query, literal: false, ignoreCase: false, count: 'matches' as const, include: [], exclude: [], maxFileSize: 1 << 20 }];
  for (const req of [{ series: series('TODO') }, { series: series('TO+DO') }, { series: [], languages: true }]) {
    const r = await runInsights({ paths: [clone], ...req, step: 'week', points: 2, end: new Date('2026-01-20T00:00:00Z') }, { cacheFile: null });
    assert.match(r.repos[0].error ?? '', /partial clone.*never fetches/, JSON.stringify(req));
  }
  // Nothing was downloaded: the blob is still absent.
  const probe = spawnSync('git', ['--git-dir', clone, 'cat-file', '-e', blob], { env: { ...process.env, GIT_NO_LAZY_FETCH: '1' } });
  assert.notEqual(probe.status, 0, 'the blob was fetched');
});
