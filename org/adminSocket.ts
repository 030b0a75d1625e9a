// The administrator's door into a running service on PGlite: `org serve` owns its PGlite folder
// (one process at a time, see dataDirLock.ts), so `org create-org` / `create-token` and the
// fleet's commands (`add-repos`, `status`, … : org/fleet/cli.ts) run while it serves are sent to
// it over a Unix socket in that folder (a named pipe on Windows), readable
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
  | { op: 'create-token'; org: string; scope: 'read' | 'write' | 'admin' }
  /** A fleet command, parsed where it was typed (org/fleet/cli.ts's FleetRequest). */
  | { op: 'fleet'; request: unknown }
  /** An alert command (org/alerts/cli.ts) run on the service's database; its output comes back. */
  | { op: 'alert-command'; cmd: string; argv: string[] };
/** `code` is a fleet command's exit code, `exit` an alert command's. */
type AdminAnswer = { ok: true; name?: string; token?: string; out?: string; err?: string; code?: number; exit?: number } | { ok: false; code: string; message: string };

/** What the service does with a fleet command: its output and exit code, as the CLI's. */
export type FleetHandler = (request: unknown) => Promise<{ out: string; err: string; code: number }>;

/** The largest command accepted: a fleet command carries an insights file (1 MiB at most) or a
 *  list of clone URLs (`add-repos --from-file`). */
export const ADMIN_MAX_BODY = 32 * 1024 * 1024;

async function run(db: OrgDb, cmd: AdminCommand, fleet?: FleetHandler): Promise<AdminAnswer> {
  try {
    if (cmd.op === 'create-org') return { ok: true, name: (await createOrg(db, String(cmd.name))).name };
    if (cmd.op === 'create-token') return { ok: true, token: (await createToken(db, String(cmd.org), cmd.scope)).token };
    if (cmd.op === 'fleet' && fleet) return { ok: true, ...(await fleet(cmd.request)) };
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
export async function startAdminSocket(db: OrgDb, dataDir: string, fleet?: FleetHandler): Promise<{ path: string; close(): Promise<void> }> {
  const path = adminSocketPath(dataDir);
  if (process.platform !== 'win32') rmSync(path, { force: true }); // left by a killed service (we hold the folder's lock)
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    let tooLarge = false;
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      if (tooLarge) return;
      body += c;
      if (body.length > ADMIN_MAX_BODY) {
        tooLarge = true;
        body = '';
        res.writeHead(413, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify({ ok: false, code: 'TOO_LARGE', message: `the command is larger than ${ADMIN_MAX_BODY} bytes; split it (for add-repos, several --from-file files)` }));
      }
    });
    req.on('end', () => {
      if (tooLarge) return;
      let cmd: AdminCommand;
      try {
        cmd = JSON.parse(body) as AdminCommand;
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, code: 'BAD_COMMAND', message: 'not JSON' }));
        return;
      }
      run(db, cmd, fleet).then(
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
export function adminCall(dataDir: string, cmd: AdminCommand, timeoutMs = 30_000): Promise<AdminAnswer> {
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
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`the service did not answer on its admin socket within ${Math.round(timeoutMs / 1000)} s`)));
    req.end(body);
  });
}
