// The administrator's door into a running service on PGlite: `org serve` owns its PGlite folder
// (one process at a time, see dataDirLock.ts), so `org create-org` / `create-token` run while it
// serves are sent to it over a Unix socket in that folder (a named pipe on Windows), readable
// by the folder's owner only. Whoever can use the socket could open the folder itself, so it
// grants nothing new. On PostgreSQL no socket is needed: every process opens the database.
import { createHash } from 'node:crypto';
import { chmodSync, rmSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { OrgDb } from './db';
import { createOrg, createToken, OrgError } from './store';
import { ALERT_COMMANDS, runAlertCommandOn } from './alerts/cli';

export function adminSocketPath(dataDir: string): string {
  const hash = createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 16);
  if (process.platform === 'win32') return `\\\\.\\pipe\\code-insights-org-${hash}`;
  const inDir = join(dataDir, 'admin.sock');
  // Unix socket paths are limited to about 104 bytes.
  return Buffer.byteLength(inDir) <= 100 ? inDir : join(tmpdir(), `code-insights-org-${hash}.sock`);
}

type AdminCommand =
  | { op: 'create-org'; name: string }
  | { op: 'create-token'; org: string; scope: 'read' | 'write' }
  /** An alert command (org/alerts/cli.ts) run on the service's database; its output comes back. */
  | { op: 'alert-command'; cmd: string; argv: string[] };
type AdminAnswer = { ok: true; name?: string; token?: string; out?: string; err?: string; exit?: number } | { ok: false; code: string; message: string };

async function run(db: OrgDb, cmd: AdminCommand): Promise<AdminAnswer> {
  try {
    if (cmd.op === 'create-org') return { ok: true, name: (await createOrg(db, String(cmd.name))).name };
    if (cmd.op === 'create-token') return { ok: true, token: (await createToken(db, String(cmd.org), cmd.scope)).token };
    if (cmd.op === 'alert-command' && ALERT_COMMANDS.has(String(cmd.cmd)) && Array.isArray(cmd.argv) && cmd.argv.every((a) => typeof a === 'string')) {
      let out = '';
      let err = '';
      const exit = await runAlertCommandOn(db, String(cmd.cmd), cmd.argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
      return { ok: true, out, err, exit };
    }
    return { ok: false, code: 'BAD_COMMAND', message: 'unknown admin command' };
  } catch (e) {
    if (e instanceof OrgError) return { ok: false, code: e.code, message: e.message };
    throw e;
  }
}

/** Serves admin commands on the folder's socket until the returned close() is called. */
export async function startAdminSocket(db: OrgDb, dataDir: string): Promise<{ path: string; close(): Promise<void> }> {
  const path = adminSocketPath(dataDir);
  if (process.platform !== 'win32') rmSync(path, { force: true }); // left by a killed service (we hold the folder's lock)
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
      if (body.length > 10_000) req.destroy();
    });
    req.on('end', () => {
      let cmd: AdminCommand;
      try {
        cmd = JSON.parse(body) as AdminCommand;
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, code: 'BAD_COMMAND', message: 'not JSON' }));
        return;
      }
      run(db, cmd).then(
        (a) => res.writeHead(a.ok ? 200 : 400, { 'content-type': 'application/json' }).end(JSON.stringify(a)),
        (e) => res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, code: 'INTERNAL', message: (e as Error).message })),
      );
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(path, () => ok());
  });
  if (process.platform !== 'win32') chmodSync(path, 0o600);
  return {
    path,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

/** Sends one command to the service holding `dataDir`. Rejects when no service answers there. */
export function adminCall(dataDir: string, cmd: AdminCommand): Promise<AdminAnswer> {
  const body = JSON.stringify(cmd);
  return new Promise((ok, fail) => {
    const req = request({ socketPath: adminSocketPath(dataDir), method: 'POST', path: '/', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        try {
          ok(JSON.parse(text) as AdminAnswer);
        } catch {
          fail(new Error(`the service's admin socket answered ${res.statusCode} without JSON`));
        }
      });
    });
    req.on('error', fail);
    req.setTimeout(30_000, () => req.destroy(new Error('the service did not answer on its admin socket within 30 s')));
    req.end(body);
  });
}
