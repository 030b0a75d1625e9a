// Hostile and malformed requests never produce a 5xx: random JSON, mutated valid batches, random
// bytes under random content types, deep nesting, odd headers. Every answer is a JSON error with a code.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { backends, definition, makeOrg, openTestDb, point, startApp, type TestDb, type TestOrg } from './helpers';

for (const backend of backends()) {
  describe(`fuzzed requests on ${backend}`, () => {
    let t: TestDb;
    let srv: Awaited<ReturnType<typeof startApp>>;
    let org: TestOrg;
    before(async () => {
      t = await openTestDb(backend);
      srv = await startApp(t.db);
      org = await makeOrg(t.db, 'fuzz');
    });
    after(async () => {
      await srv?.close();
      await t?.cleanup();
    });

    const send = async (body: string | Uint8Array, contentType: string, token = org.write, path = '/api/v1/points') => {
      const res = await fetch(`${srv.base}${path}`, { method: 'POST', headers: { 'content-type': contentType, authorization: `Bearer ${token}` }, body: typeof body === 'string' ? body : Buffer.from(body) });
      const text = await res.text();
      assert.ok(res.status < 500, `status ${res.status} for ${contentType} body ${String(body).slice(0, 200)}: ${text}`);
      if (res.status >= 400) assert.match(JSON.parse(text).error.code, /^[A-Z_]+$/);
      return res.status;
    };

    it('random JSON values as the body', async () => {
      await fc.assert(fc.asyncProperty(fc.jsonValue({ maxDepth: 6 }), async (v) => void (await send(JSON.stringify(v), 'application/json'))), { numRuns: 120 });
    });

    it('valid batches with one field replaced by anything, or an extra field', async () => {
      const valid = { definitions: [definition()], points: [point(), point({ repo: 'github.com/acme/web' })] };
      const paths: (string | number)[][] = [
        ['definitions'], ['points'], ['definitions', 0], ['points', 1],
        ...Object.keys(definition()).map((k) => ['definitions', 0, k]),
        ...Object.keys(point()).map((k) => ['points', 0, k]),
      ];
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...paths), fc.jsonValue({ maxDepth: 3 }), fc.boolean(), async (path, v, addInstead) => {
          const body = structuredClone(valid) as any;
          let o = body;
          for (const k of path.slice(0, -1)) o = o[k];
          if (addInstead && typeof o[path[path.length - 1]] === 'object') o[path[path.length - 1]].zz = v;
          else o[path[path.length - 1]] = v;
          const status = await send(JSON.stringify(body), 'application/json');
          assert.ok(status === 200 || status === 400, `status ${status}`);
        }),
        { numRuns: 150 },
      );
    });

    // The classes that got past validation to the database (issue 12): strings PostgreSQL
    // cannot store (NUL, a lone surrogate) anywhere in a string field, times it cannot hold
    // (year 0000) and integers beyond its column types, alone or mixed with ordinary text.
    it('valid batches with a field replaced by text, times or numbers the database cannot hold', async () => {
      const valid = { definitions: [definition()], points: [point(), point({ repo: 'github.com/acme/web' })] };
      const hostileText = fc
        .tuple(fc.string({ maxLength: 8 }), fc.constantFrom('\u0000', '\ud800', '\udfff', '\ud83d', '\ude00x'), fc.string({ maxLength: 8 }))
        .map(([a, h, b]) => a + h + b);
      const hostileTime = fc.integer({ min: 0, max: 11 }).map((m) => `0000-${String(m + 1).padStart(2, '0')}-01T00:00:00.000Z`);
      const hostileInt = fc.oneof(fc.constantFrom(2147483648, 2 ** 53 - 1, 2 ** 31, -0, 2 ** 63), fc.integer({ min: 2 ** 31, max: Number.MAX_SAFE_INTEGER }));
      const cases: [(string | number)[], fc.Arbitrary<unknown>][] = [
        [['points', 0, 'repo'], hostileText],
        [['definitions', 0, 'label'], hostileText],
        [['definitions', 0, 'query'], hostileText],
        [['definitions', 0, 'include', 0], hostileText],
        [['definitions', 0, 'exclude'], hostileText.map((t) => [t])],
        [['points', 0, 'time'], hostileTime],
        [['points', 1, 'commitTime'], hostileTime],
        [['definitions', 0, 'semanticsVersion'], hostileInt],
        [['definitions', 0, 'maxFileSize'], hostileInt],
        [['points', 0, 'value'], hostileInt],
      ];
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...cases.keys()), fc.context(), async (i, ctx) => {
          const [path, arb] = cases[i];
          const v = fc.sample(arb, 1)[0];
          ctx.log(JSON.stringify({ path, v }));
          const body = structuredClone(valid) as any;
          let o = body;
          for (const k of path.slice(0, -1)) o = o[k];
          o[path[path.length - 1]] = v;
          const status = await send(JSON.stringify(body), 'application/json');
          assert.ok(status === 200 || status === 400, `status ${status}`);
        }),
        { numRuns: 150 },
      );
    });

    it('random bytes under random content types and tokens, and deep nesting', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(fc.string({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 })),
          fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', ''),
          fc.constantFrom(org.write, org.read, 'cit_x', '', '\u00e9\u00e9'),
          async (body, ct, token) => void (await send(body, ct || 'application/json', token.replace(/[^\x20-\x7e]/g, '?'))),
        ),
        { numRuns: 120 },
      );
      for (const depth of [1000, 100_000]) {
        await send('{"definitions":'.repeat(depth) + '[]' + '}'.repeat(depth), 'application/json');
        await send('['.repeat(depth) + ']'.repeat(depth), 'application/json');
      }
    });

    it('random paths and query strings on the read API', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.string({ maxLength: 80 }),
          fc.oneof(
            fc.string({ maxLength: 80 }).map(encodeURIComponent),
            // A lone surrogate as WTF-8 bytes, NUL, invalid UTF-8, and what RE2 cannot run.
            fc.constantFrom('%ED%A0%80', '%00', '%ff%fe', '%C0%80', '(a)%5C1', '(%3F%3Dx)', '%5E(.*)(.*)%5C2%5C1%24'),
          ),
          async (id, repo) => {
            const res = await fetch(`${srv.base}/api/v1/series/${encodeURIComponent(id)}?repo=${repo}`, { headers: { authorization: `Bearer ${org.read}` } });
            assert.ok(res.status < 500, `status ${res.status} for id ${JSON.stringify(id)} repo ${JSON.stringify(repo)}: ${await res.text()}`);
          },
        ),
        { numRuns: 120 },
      );
    });
  });
}
