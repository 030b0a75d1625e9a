// Mirror affinity (org/fleet/queue.ts): which graphile-worker task a run's job gets. The routing
// function alone, then on a real PostgreSQL with graphile-worker's own schema: a repository whose
// home has a beating worker gets that home's task, any other the generic one, always under the
// run's job key (queuing again replaces, and switches the task); the waiting jobs of a home
// whose worker stopped beating are re-added as generic jobs under the same key; a successful
// job records its worker's home on the repository (in the org's transaction, both backends).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { COMPUTE_TASK, defaultHome, HOME_NAME, homeTask, jobKey, openQueue, rerouteOrphanedHomeJobs, routeRuns, runOfKey, type FleetQueue } from '../../../org/fleet/queue';
import { addRepos, markDone, markRunning, type RunKey } from '../../../org/fleet/store';
import { backends, makeOrg, openTestDb, type TestDb } from '../helpers';

describe('routing a run to its repository\'s home', () => {
  it('routes to the live home of the repository, else generic, with the run\'s key', () => {
    const runs: RunKey[] = [
      { org: '1', insight: '7', repo: '10' },
      { org: '1', insight: '7', repo: '11' },
      { org: '2', insight: '8', repo: '10' },
    ];
    const routed = routeRuns(runs, new Map([['1:10', 'host-a']]));
    assert.deepEqual(
      routed.map((r) => [r.identifier, r.jobKey]),
      [
        ['fleet_compute_h_host-a', 'fleet:1:7:10'],
        [COMPUTE_TASK, 'fleet:1:7:11'],
        [COMPUTE_TASK, 'fleet:2:8:10'], // the same repository id in another org is another repository
      ],
    );
    // The key names the run (a re-routed job's payload is read back from it).
    assert.deepEqual(runOfKey(jobKey(runs[0])), runs[0]);
    assert.equal(runOfKey('fleet_refresh'), undefined);
  });

  it('derives a stable home from the host and the absolute mirror folder, valid as a task name', () => {
    const a = defaultHome('build-7.example.com', '/var/lib/ci/mirrors');
    assert.equal(a, defaultHome('build-7.example.com', '/var/lib/ci/mirrors'), 'a restarted worker on the same folder has the same home');
    assert.notEqual(a, defaultHome('build-7.example.com', '/var/lib/ci/mirrors-2'));
    assert.notEqual(a, defaultHome('build-8.example.com', '/var/lib/ci/mirrors'));
    assert.match(a, HOME_NAME);
    const odd = defaultHome('höst name/with:odd chars'.repeat(10), '/m');
    assert.match(odd, HOME_NAME);
    assert.ok(homeTask(odd).length <= 128, 'graphile-worker task identifiers are at most 128 characters');
    assert.match(defaultHome('', '/m'), HOME_NAME);
  });
});

for (const backend of backends()) {
  describe(`a successful job records its home on ${backend}`, () => {
    let t: TestDb;
    before(async () => (t = await openTestDb(backend)));
    after(async () => t?.cleanup());

    it('sets fleet_repos.home in the org\'s transaction; without a home (PGlite\'s runner) leaves it', async () => {
      const org = await makeOrg(t.db);
      const { added } = await addRepos(t.db, org.id, ['https://example.com/a/one.git', 'https://example.com/a/two.git']);
      const [one, two] = added.map((r) => r.id);
      await markRunning(t.db, { org: org.id, insight: '1', repo: one }, 1);
      await markDone(t.db, { org: org.id, insight: '1', repo: one }, null, 'host-a');
      await markDone(t.db, { org: org.id, insight: '1', repo: two }, null);
      const rows = await t.db.query<{ id: string; home: string | null }>('SELECT id, home FROM fleet_repos WHERE org_id = $1 ORDER BY id', [org.id]);
      assert.deepEqual(rows.map((r) => [String(r.id), r.home]), [[one, 'host-a'], [two, null]]);
    });
  });
}

describe('routing on PostgreSQL with graphile-worker', { skip: !process.env.DATABASE_URL && 'needs DATABASE_URL' }, () => {
  let t: TestDb;
  let queue: FleetQueue;
  before(async () => {
    t = await openTestDb('postgres');
    queue = await openQueue(t.url!);
  });
  after(async () => {
    await queue?.close();
    await t?.cleanup();
  });

  const jobs = async () =>
    new Map(
      (await t.db.query<{ key: string; task_identifier: string }>("SELECT key, task_identifier FROM graphile_worker.jobs WHERE key LIKE 'fleet:%'")).map((r) => [r.key, r.task_identifier]),
    );

  it('gives a live home\'s task, re-routes a dead home\'s waiting jobs under the same key, and routes back', async () => {
    const org = await makeOrg(t.db);
    const { added } = await addRepos(t.db, org.id, ['https://example.com/r/1.git', 'https://example.com/r/2.git', 'https://example.com/r/3.git']);
    const [r1, r2, r3] = added.map((r) => r.id);
    // r1's mirror is on host-a (beating), r2's on host-b (no worker at all), r3 has none yet.
    await t.db.query("UPDATE fleet_repos SET home = CASE id WHEN $2::bigint THEN 'host-a' WHEN $3::bigint THEN 'host-b' END WHERE org_id = $1", [org.id, r1, r2]);
    await t.db.query("INSERT INTO fleet_workers (worker_id, host, pid, home, lock_timeout_s) VALUES ('pool-a', 'h', 1, 'host-a', 60)");
    const runs = [r1, r2, r3].map((repo) => ({ org: org.id, insight: '5', repo }));
    await queue.add(runs);
    assert.deepEqual(
      [...(await jobs())].sort(),
      [
        [jobKey(runs[0]), 'fleet_compute_h_host-a'],
        [jobKey(runs[1]), COMPUTE_TASK],
        [jobKey(runs[2]), COMPUTE_TASK],
      ],
    );
    assert.equal(await rerouteOrphanedHomeJobs(queue.utils), 0, 'a live home keeps its jobs');

    // host-a stops beating (older than its own lock timeout): its waiting job becomes generic,
    // still one job under the same key, its run time kept.
    const runAt = (await t.db.query<{ run_at: Date }>('SELECT run_at FROM graphile_worker.jobs WHERE key = $1', [jobKey(runs[0])]))[0].run_at;
    await t.db.query("UPDATE fleet_workers SET heartbeat_at = now() - interval '61 seconds' WHERE worker_id = 'pool-a'");
    assert.equal(await rerouteOrphanedHomeJobs(queue.utils), 1);
    const after1 = await jobs();
    assert.equal(after1.size, 3);
    assert.equal(after1.get(jobKey(runs[0])), COMPUTE_TASK);
    const runAt2 = (await t.db.query<{ run_at: Date }>('SELECT run_at FROM graphile_worker.jobs WHERE key = $1', [jobKey(runs[0])]))[0].run_at;
    assert.equal(new Date(runAt2).getTime(), new Date(runAt).getTime());
    // Queued while host-a is gone: generic at once.
    await queue.add([runs[0]]);
    assert.equal((await jobs()).get(jobKey(runs[0])), COMPUTE_TASK);

    // host-a beats again (a restarted worker on the same folder): queuing again replaces the
    // generic job by a home job, never a second job.
    await t.db.query("UPDATE fleet_workers SET heartbeat_at = now() WHERE worker_id = 'pool-a'");
    await queue.add(runs);
    const after2 = await jobs();
    assert.equal(after2.size, 3);
    assert.equal(after2.get(jobKey(runs[0])), 'fleet_compute_h_host-a');

    // A job held by a worker is not touched by the re-routing (the heartbeat check frees it first).
    await t.db.query("UPDATE fleet_workers SET heartbeat_at = now() - interval '61 seconds' WHERE worker_id = 'pool-a'");
    await t.db.query("UPDATE graphile_worker._private_jobs SET locked_at = now(), locked_by = 'pool-a' WHERE key = $1", [jobKey(runs[0])]);
    assert.equal(await rerouteOrphanedHomeJobs(queue.utils), 0);
    await queue.utils.forceUnlockWorkers(['pool-a']);
    assert.equal(await rerouteOrphanedHomeJobs(queue.utils), 1);
    assert.equal((await jobs()).get(jobKey(runs[0])), COMPUTE_TASK);
  });
});
