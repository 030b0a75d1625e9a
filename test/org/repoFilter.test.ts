// `?repo=` filters run in linear time (RE2 semantics, matched in Node) on both backends: what
// would backtrack for minutes on PostgreSQL's engine (and stall PGlite, which ignores
// statement_timeout) is either run in linear time or refused with a 400 that says why.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends, definition, get, makeOrg, openTestDb, point, post, startApp, type TestDb, type TestOrg } from './helpers';

const S = definition().id;
// 512-character repository names: the longest the service stores, the worst case for a backtracker.
const longRepo = (i: number) => `github.com/acme/${String(i).padStart(3, '0')}${'a'.repeat(512 - 'github.com/acme/'.length - 3)}`;

for (const backend of backends()) {
  describe(`repository filters on ${backend}`, () => {
    let t: TestDb;
    let srv: Awaited<ReturnType<typeof startApp>>;
    let org: TestOrg;
    before(async () => {
      t = await openTestDb(backend);
      srv = await startApp(t.db);
      org = await makeOrg(t.db, 'filters');
      const points = Array.from({ length: 40 }, (_, i) => point({ repo: longRepo(i), value: i + 1 }));
      points.push(point({ repo: 'github.com/acme/api', value: 1000 }));
      const r = await post(srv.base, org.write, { definitions: [definition()], points });
      assert.equal(r.status, 200);
    });
    after(async () => {
      await srv?.close();
      await t?.cleanup();
    });

    const read = (filter: string) => get(srv.base, `/api/v1/series/${S}?repo=${encodeURIComponent(filter)}`, org.read);

    it('refuses backreferences with a 400 that says why, instead of backtracking', { timeout: 120_000 }, async () => {
      const r = await read('^(.*)(.*)(.*)(.*)(.*)(.*)(.*)(.*)(.*)\\9\\8\\7\\6\\5\\4\\3\\2\\1$');
      assert.equal(r.status, 400);
      assert.equal(r.json.error.code, 'BAD_REQUEST');
      assert.match(r.json.error.message, /\?repo=: backreferences .* not supported: filters are matched in linear time/);
      assert.equal((await get(srv.base, '/healthz')).status, 200);
    });

    it('refuses lookarounds with a 400 that says why', async () => {
      for (const f of ['^(?=github)', 'acme(?!/api)', '(?<=acme/)api', '(?<!x)api']) {
        const r = await read(f);
        assert.equal(r.status, 400, f);
        assert.match(r.json.error.message, /lookarounds .* not supported/, f);
      }
    });

    it('runs nested stars over the longest names (RE2 semantics: a match anywhere)', { timeout: 120_000 }, async () => {
      // Nine nested groups that never match: a backtracking engine tries every split of 512 characters.
      const none = await read('^(.*)(.*)(.*)(.*)(.*)(.*)(.*)(.*)(.*)z$');
      assert.equal(none.status, 200);
      assert.deepEqual(none.json.points, []);
      const all = await read('^(a*)*(.*)(.*)a$');
      assert.equal(all.status, 200);
      assert.equal(all.json.points[0].value, (40 * 41) / 2);
      // RE2 syntax that JavaScript and PostgreSQL spell differently works as documented.
      const api = await read('(?i)ACME/API$');
      assert.deepEqual(api.json.points.map((p: { value: number }) => p.value), [1000]);
      const exclude = await get(srv.base, `/api/v1/series/${S}?repo=acme&exclude=${encodeURIComponent('a{100}')}`, org.read);
      assert.deepEqual(exclude.json.points.map((p: { value: number }) => p.value), [1000]);
    });
  });
}
