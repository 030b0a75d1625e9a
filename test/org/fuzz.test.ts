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
        fc.asyncProperty(fc.string({ maxLength: 80 }), fc.string({ maxLength: 80 }), async (id, repo) => {
          const res = await fetch(`${srv.base}/api/v1/series/${encodeURIComponent(id)}?repo=${encodeURIComponent(repo)}`, { headers: { authorization: `Bearer ${org.read}` } });
          assert.ok(res.status < 500, `status ${res.status} for id ${JSON.stringify(id)} repo ${JSON.stringify(repo)}: ${await res.text()}`);
        }),
        { numRuns: 120 },
      );
    });
  });
}
