// Duplicate and out-of-order submissions converge: whatever batches the points arrive in, in
// whatever order and however often, the stored per-repo points and the per-bucket aggregate
// equal "the newest commit of each key" (property test with fast-check, on a real database),
// whether the totals' pending changes were folded before, during or after the pushes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { OrgPoint } from '../../protocol/org';
import { withOrg } from '../../org/db';
import { comparePoints, foldDeltas, ingest, MAX_REPO_LOCKS, readSeries } from '../../org/store';
import { backends, definition, makeOrg, openTestDb, sha, type TestDb } from './helpers';

const def = definition();
const REPOS = ['github.com/acme/api', 'github.com/acme/web', 'root:' + 'e'.repeat(40)];
const TIMES = ['2026-10-05T00:00:00.000Z', '2026-10-12T00:00:00.000Z'];

// A version of a key: commit times from a small range so ties on time (broken by commit id) occur.
const versionArb = fc.record({
  repo: fc.constantFrom(...REPOS),
  time: fc.constantFrom(...TIMES),
  t: fc.integer({ min: 0, max: 5 }),
  c: fc.integer({ min: 1, max: 4 }),
});

function toPoint(v: { repo: string; time: string; t: number; c: number }): OrgPoint {
  return {
    series: def.id,
    repo: v.repo,
    time: v.time,
    commit: sha(v.c),
    commitTime: new Date(Date.UTC(2026, 9, 1, v.t)).toISOString(),
    // A given commit always has the same value (counting is deterministic).
    value: ((v.c * 37 + v.t * 11) % 50) + REPOS.indexOf(v.repo),
  };
}

for (const backend of backends()) {
  describe(`convergence on ${backend}`, () => {
    let t: TestDb;
    before(async () => {
      t = await openTestDb(backend);
    });
    after(async () => t?.cleanup());

    it('any batching, order and duplication, in turn or all at once, gives the newest commit per key, and a matching aggregate', async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(versionArb, { minLength: 1, maxLength: 14 }),
          fc.array(fc.nat(), { minLength: 1, maxLength: 30 }),
          fc.integer({ min: 1, max: 5 }),
          fc.boolean(),
          fc.integer({ min: 0, max: 3 }),
          async (versions, picks, batchSize, atOnce, folds) => {
            const org = await makeOrg(t.db, `conv-${backend}-${process.pid}-${++run}`);
            const points = versions.map(toPoint);
            // Every version is sent at least once; picks add duplicates in a random order.
            const sequence = [...points, ...picks.map((i) => points[i % points.length])];
            const order = sequence.map((p, i) => ({ p, k: picks[i % picks.length] ^ (i * 2654435761) })).sort((x, y) => x.k - y.k).map((x) => x.p);
            const batches: OrgPoint[][] = [];
            for (let i = 0; i < order.length; i += batchSize) batches.push(order.slice(i, i + batchSize));
            // At once: concurrent transactions on PostgreSQL's pool (series and repositories
            // created by racing pushes, the same keys and aggregate rows written side by side).
            // Folds of the pending total changes run among them (each push may also fold).
            const fold = () => foldDeltas(t.db, org.id);
            if (atOnce) await Promise.all([...batches.map((b) => ingest(t.db, org.id, [def], b)), ...Array.from({ length: folds }, fold)]);
            else for (const [i, b] of batches.entries()) {
              await ingest(t.db, org.id, [def], b);
              if (i < folds) await fold();
            }

            const winners = new Map<string, OrgPoint>();
            for (const p of points) {
              const k = `${p.repo}|${p.time}`;
              const w = winners.get(k);
              if (!w || comparePoints(p, w) > 0) winners.set(k, p);
            }
            const stored = await withOrg(t.db, org.id, (q) =>
              q.query<{ identity: string; bucket: Date; commit: string; value: string }>(
                `SELECT r.identity, p.bucket, encode(p.commit_sha, 'hex') AS commit, p.value
                 FROM points p JOIN repos r ON r.org_id = p.org_id AND r.id = p.repo_id`,
              ),
            );
            assert.equal(stored.length, winners.size);
            for (const s of stored) {
              const w = winners.get(`${s.identity}|${new Date(s.bucket).toISOString()}`)!;
              assert.ok(w, 'a stored point for a key that was never sent');
              assert.equal(s.commit, w.commit);
              assert.equal(Number(s.value), w.value);
            }
            const expected = TIMES.map((time) => {
              const ws = [...winners.values()].filter((w) => w.time === time);
              return { time, value: ws.reduce((a, w) => a + w.value, 0), repos: ws.length };
            }).filter((e) => e.repos > 0);
            const agg = await readSeries(t.db, org.id, def.id);
            assert.deepEqual(agg!.points, expected, 'aggregate');
            const resum = await readSeries(t.db, org.id, def.id, { include: /./ });
            assert.deepEqual(resum!.points, expected, 'all repos kept: aggregate minus nothing');
            // One repo kept (summed directly) and two kept (aggregate minus the one left out).
            for (const [filter, keep] of [[{ include: /web$/ }, (r: string) => r.endsWith('web')], [{ exclude: /web$/ }, (r: string) => !r.endsWith('web')]] as const) {
              const want = TIMES.map((time) => {
                const ws = [...winners.values()].filter((w) => w.time === time && keep(w.repo));
                return { time, value: ws.reduce((a, w) => a + w.value, 0), repos: ws.length };
              }).filter((e) => e.repos > 0);
              assert.deepEqual((await readSeries(t.db, org.id, def.id, filter))!.points, want, JSON.stringify(filter));
            }
            // Folded completely: nothing pending, the same totals.
            assert.equal(await fold(), true);
            const pending = await withOrg(t.db, org.id, (q) => q.query('SELECT 1 FROM series_bucket_deltas WHERE org_id = $1', [org.id]));
            assert.equal(pending.length, 0, 'a fold leaves no pending change');
            assert.deepEqual((await readSeries(t.db, org.id, def.id))!.points, expected, 'aggregate after the fold');
          },
        ),
        { numRuns: backend === 'pglite' ? 25 : 40 },
      );
    });

    it('one batch mixing new keys, newer, older and identical versions of stored ones answers exact counts and a current aggregate', async () => {
      const org = await makeOrg(t.db, `conv-mixed-${backend}-${process.pid}`);
      const at = (repo: number, time: number, c: number, hour: number, value: number): OrgPoint => ({
        series: def.id,
        repo: REPOS[repo],
        time: TIMES[time],
        commit: sha(c),
        commitTime: new Date(Date.UTC(2026, 9, 1, hour)).toISOString(),
        value,
      });
      const first = await ingest(t.db, org.id, [def], [at(0, 0, 1, 1, 10), at(1, 0, 1, 1, 20), at(2, 0, 1, 1, 30)]);
      assert.deepEqual(first, { received: 3, accepted: 3, inserted: 3, updated: 0, unchanged: 0, definitions: 1 });
      // repo 0: newer commit (replaced); repo 1: older commit (kept as stored); repo 2: the same
      // point again; bucket 1: two new keys, one of them sent twice (the newer of the two wins).
      const second = await ingest(t.db, org.id, [def], [
        at(0, 0, 2, 2, 15),
        at(1, 0, 3, 0, 99),
        at(2, 0, 1, 1, 30),
        at(0, 1, 4, 3, 7),
        at(1, 1, 5, 3, 1),
        at(1, 1, 6, 4, 2),
      ]);
      assert.deepEqual(second, { received: 6, accepted: 5, inserted: 2, updated: 1, unchanged: 2, definitions: 1 });
      assert.deepEqual((await readSeries(t.db, org.id, def.id))!.points, [
        { time: TIMES[0], value: 15 + 20 + 30, repos: 3 },
        { time: TIMES[1], value: 7 + 2, repos: 2 },
      ]);
      assert.deepEqual((await readSeries(t.db, org.id, def.id, { include: /acme/ }))!.points, [
        { time: TIMES[0], value: 15 + 20, repos: 2 },
        { time: TIMES[1], value: 7 + 2, repos: 2 },
      ]);
    });

    it('batches of more repositories than it locks one by one race pushes of single repositories and still sum exactly', async () => {
      const org = await makeOrg(t.db, `conv-wide-${backend}-${process.pid}`);
      const n = MAX_REPO_LOCKS + 16;
      const repo = (i: number) => `github.com/wide/r${i}`;
      const point = (i: number, c: number): OrgPoint => ({
        series: def.id,
        repo: repo(i),
        time: TIMES[0],
        commit: sha(c),
        commitTime: new Date(Date.UTC(2026, 9, 1, c)).toISOString(),
        value: i + c * 1000,
      });
      // Wide batches (commits 1 and 3) over every repository, narrow pushes (commit 2) of each
      // one, all at once: for each repository the commit-3 point wins whatever the order.
      const wide = (c: number) => Array.from({ length: n }, (_, i) => point(i, c));
      await Promise.all([
        ingest(t.db, org.id, [def], wide(1)),
        ...Array.from({ length: n }, (_, i) => ingest(t.db, org.id, [def], [point(i, 2)])),
        ingest(t.db, org.id, [def], wide(3)),
        foldDeltas(t.db, org.id),
      ]);
      const want = Array.from({ length: n }, (_, i) => i + 3000).reduce((a, b) => a + b, 0);
      assert.deepEqual((await readSeries(t.db, org.id, def.id))!.points, [{ time: TIMES[0], value: want, repos: n }]);
      assert.deepEqual((await readSeries(t.db, org.id, def.id, { exclude: /r0$/ }))!.points, [{ time: TIMES[0], value: want - 3000, repos: n - 1 }]);
    });
  });
}
