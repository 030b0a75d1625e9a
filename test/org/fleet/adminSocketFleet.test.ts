// The service end of the admin socket for fleet commands, in process on a real socket and a real
// PGlite database: a request that is not the CLI's shape is refused with BAD_COMMAND (exit 1)
// without touching the database, an oversized one gets 413 TOO_LARGE instead of a cut
// connection, and a service without a fleet handler says it does not run fleet commands.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN_MAX_BODY, adminCall, startAdminSocket } from '../../../org/adminSocket';
import { serveFleetRequest } from '../../../org/fleet/cli';
import { listRepos } from '../../../org/fleet/store';
import { makeOrg, openTestDb, type TestDb, type TestOrg } from '../helpers';

describe('admin socket: fleet requests', () => {
  let t: TestDb;
  let org: TestOrg;
  let dir: string;
  let sock: Awaited<ReturnType<typeof startAdminSocket>>;
  before(async () => {
    t = await openTestDb('pglite');
    org = await makeOrg(t.db, 'acme');
    dir = mkdtempSync(join(tmpdir(), 'ci-admin-sock-'));
    sock = await startAdminSocket(t.db, dir, (request) => serveFleetRequest(t.db, request));
  });
  after(async () => {
    await sock?.close();
    await t?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs a well-formed request and answers with output and exit code', async () => {
    const a = await adminCall(dir, { op: 'fleet', request: { cmd: 'add-repos', org: 'acme', format: 'table', urls: ['https://github.com/acme/api'], scope: { kind: 'all' } } });
    assert.deepEqual(a, { ok: true, out: 'added github.com/acme/api\n', err: '1 added, 0 already in org acme; 0 computation(s) queued\n', code: 0 });
    assert.equal((await listRepos(t.db, org.id)).length, 1);
  });

  it('refuses requests not of the CLI shape, changing nothing', async () => {
    const bad = [
      { cmd: 'worker', org: 'acme', format: 'table', urls: [] },
      { cmd: 'drop-everything', org: 'acme', format: 'table', urls: [] },
      { cmd: 'add-repos', org: 'acme', format: 'table', urls: ['--upload-pack=touch /tmp/x'] },
      { cmd: 'create-insight', org: 'acme', format: 'table', urls: [], config: { path: 1, text: 'x' } },
      { cmd: 'status', org: 'acme', format: 'table', urls: [], scope: { kind: 'regex', regex: '(' } },
      null,
    ];
    for (const request of bad) {
      const a = await adminCall(dir, { op: 'fleet', request });
      assert.ok(a.ok, JSON.stringify(a));
      assert.equal(a.code, 1, JSON.stringify(request));
      assert.match(a.err!, /^code-insights org: BAD_COMMAND: fleet request: /);
    }
    assert.equal((await listRepos(t.db, org.id)).length, 1);
  });

  it('answers 413 to a request over the limit', async () => {
    const a = await adminCall(dir, { op: 'fleet', request: { cmd: 'add-repos', org: 'acme', format: 'table', urls: ['x'.repeat(ADMIN_MAX_BODY)] } });
    assert.equal(a.ok, false);
    assert.equal((a as { code: string }).code, 'TOO_LARGE');
  });

  it('a service without a fleet handler refuses fleet commands by name', async () => {
    const other = mkdtempSync(join(tmpdir(), 'ci-admin-sock-'));
    const s = await startAdminSocket(t.db, other);
    try {
      const a = await adminCall(other, { op: 'fleet', request: {} });
      assert.deepEqual(a, { ok: false, code: 'BAD_COMMAND', message: 'unknown admin command' });
    } finally {
      await s.close();
      rmSync(other, { recursive: true, force: true });
    }
  });
});
