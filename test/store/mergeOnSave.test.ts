// The merge rules of InsightsCache.save, one at a time: two caches opened on one file stand for
// two processes that each loaded it (each holds its own in-memory copy, as a process does); the
// one that saves second must keep what the first saved. concurrentProcesses.test.ts runs the
// same with real processes; here each rule is checked exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { OrgPoint } from '../../protocol/org';
import { InsightsCache } from '../../server/store/cache';
import { enqueuePoints, markFailed, markSent, retryFailed } from '../../server/sync/outbox';
import { tempDir } from '../helpers/gitRepo';
import { definition, point, sha } from '../org/helpers';

const open = async (file: string) => (await InsightsCache.open(file)).cache;

async function rows(file: string): Promise<{ outbox: string[]; acked: string[] }> {
  const c = await open(file);
  try {
    const q = (sql: string) => (c.db.exec(sql)[0]?.values ?? []).map((v) => v.join(' '));
    return {
      outbox: q('SELECT time, commit_sha, value, state FROM sync_outbox ORDER BY time'),
      acked: q('SELECT time, commit_sha, value FROM sync_acked ORDER BY time'),
    };
  } finally {
    c.close();
  }
}

const p = (n: number, over: Partial<OrgPoint> = {}): OrgPoint => point({ time: `2026-11-0${n}T00:00:00.000Z`, commit: sha(n), commitTime: `2026-10-0${n}T00:00:00.000Z`, value: n, ...over });

test('facts of both processes are kept, each under its own key (key ids differ between the copies)', async () => {
  const file = join(tempDir('ci-merge-'), 'cache.sqlite');
  (await open(file)).save();
  const a = await open(file);
  const b = await open(file);
  // Both copies number their first new key 1: the merge must map by key text, not by id.
  a.putCount('matcher-A', sha(1), '3');
  a.putCommitValue('unit-A', sha(2), '7');
  a.putBlob(sha(1), { size: 10, binary: false, lines: 2 });
  b.putCount('matcher-B', sha(1), '5');
  b.putCommitValue('unit-B', sha(2), '9');
  b.putMeta('sample:/repo', '{"b":1}');
  a.save();
  b.save();
  a.close();
  b.close();
  const c = await open(file);
  assert.equal(c.getCount('matcher-A', sha(1)), '3');
  assert.equal(c.getCount('matcher-B', sha(1)), '5');
  assert.equal(c.getCommitValue('unit-A', sha(2)), '7');
  assert.equal(c.getCommitValue('unit-B', sha(2)), '9');
  assert.deepEqual(c.getBlob(sha(1)), { size: 10, binary: false, lines: 2 });
  assert.equal(c.getMeta('sample:/repo'), '{"b":1}');
  c.close();
});

test('a run that loaded the file before a push acknowledged its points and saves after it: they stay acknowledged', async () => {
  const file = join(tempDir('ci-merge-'), 'cache.sqlite');
  const first = await open(file);
  enqueuePoints(first.db, [p(1), p(2)], [definition()]);
  first.save();
  first.close();
  const run = await open(file);
  const push = await open(file);
  markSent(push.db, [p(1), p(2)]);
  push.save();
  // The run computed point 3 and a newer commit for point 2's key.
  enqueuePoints(run.db, [p(3), p(2, { commit: sha(9), commitTime: '2026-10-09T00:00:00.000Z', value: 20 })], [definition()]);
  run.save();
  push.close();
  run.close();
  assert.deepEqual(await rows(file), {
    outbox: [`2026-11-02T00:00:00.000Z ${sha(9)} 20 pending`, `2026-11-03T00:00:00.000Z ${sha(3)} 3 pending`],
    acked: [`2026-11-01T00:00:00.000Z ${sha(1)} 1`, `2026-11-02T00:00:00.000Z ${sha(2)} 2`],
  });
});

test('a push that loaded the file before a run queued points and saves after it: they stay queued', async () => {
  const file = join(tempDir('ci-merge-'), 'cache.sqlite');
  const first = await open(file);
  enqueuePoints(first.db, [p(1), p(2)], [definition()]);
  first.save();
  first.close();
  const push = await open(file);
  const run = await open(file);
  // The run queues point 3 and a newer commit for point 2's key, and saves first.
  enqueuePoints(run.db, [p(3), p(2, { commit: sha(9), commitTime: '2026-10-09T00:00:00.000Z', value: 20 })], [definition()]);
  run.save();
  // The push sent what it had loaded: points 1 and 2 (the older commit) — one batch saved, then
  // a 4xx for nothing else; it saves after the run.
  markSent(push.db, [p(1), p(2)]);
  push.save();
  push.close();
  run.close();
  assert.deepEqual(await rows(file), {
    outbox: [`2026-11-02T00:00:00.000Z ${sha(9)} 20 pending`, `2026-11-03T00:00:00.000Z ${sha(3)} 3 pending`],
    acked: [`2026-11-01T00:00:00.000Z ${sha(1)} 1`, `2026-11-02T00:00:00.000Z ${sha(2)} 2`],
  });
});

test('an older acknowledgement saved later does not replace a newer one; a failure marks only the point sent', async () => {
  const file = join(tempDir('ci-merge-'), 'cache.sqlite');
  const first = await open(file);
  enqueuePoints(first.db, [p(1), p(4)], [definition()]);
  first.save();
  first.close();
  const slow = await open(file);
  const fast = await open(file);
  const newer = p(1, { commit: sha(8), commitTime: '2026-10-08T00:00:00.000Z', value: 80 });
  enqueuePoints(fast.db, [newer], [definition()]);
  markSent(fast.db, [newer]);
  enqueuePoints(fast.db, [p(4, { commit: sha(7), commitTime: '2026-10-07T00:00:00.000Z', value: 70 })], [definition()]);
  fast.save();
  markSent(slow.db, [p(1)]);
  markFailed(slow.db, [p(4)], 'HTTP 400: rejected');
  slow.save();
  fast.close();
  slow.close();
  assert.deepEqual(await rows(file), {
    outbox: [`2026-11-04T00:00:00.000Z ${sha(7)} 70 pending`],
    acked: [`2026-11-01T00:00:00.000Z ${sha(8)} 80`],
  });
});

test('retrying failed points puts back exactly those; a later save of the same process merges again', async () => {
  const file = join(tempDir('ci-merge-'), 'cache.sqlite');
  const first = await open(file);
  enqueuePoints(first.db, [p(1), p(2)], [definition()]);
  markFailed(first.db, [p(1), p(2)], 'HTTP 400: x');
  first.save();
  first.close();
  const a = await open(file);
  const b = await open(file);
  enqueuePoints(b.db, [p(3)], [definition()]);
  b.save();
  assert.equal(retryFailed(a.db), 2);
  a.save();
  // `a` now lacks b's point 3 in memory; its next save must still keep it.
  markSent(a.db, [p(1)]);
  a.save();
  a.close();
  b.close();
  assert.deepEqual(await rows(file), {
    outbox: [`2026-11-02T00:00:00.000Z ${sha(2)} 2 pending`, `2026-11-03T00:00:00.000Z ${sha(3)} 3 pending`],
    acked: [`2026-11-01T00:00:00.000Z ${sha(1)} 1`],
  });
});
