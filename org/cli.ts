// `code-insights org …`: serve the org service, create orgs and tokens.
// The CLI entry (server/cli/main.ts) calls runOrgCommand(argv) with the arguments after `org`.
import pino from 'pino';
import { buildApp, DEFAULT_SERVER_LIMITS } from './app';
import { createLogger } from './logging';
import { adminCall, startAdminSocket } from './adminSocket';
import { DataDirInUseError, lockHolder } from './dataDirLock';
import { FLEET_COMMANDS, FLEET_USAGE, runFleetCommand, serveFleetRequest } from './fleet/cli';
import { startServeFleet } from './fleet/serve';
import { ALERT_COMMANDS, ALERTS_USAGE, runAlertCommand } from './alerts/cli';
import { startAlertSender } from './alerts/runner';
import { evaluateAfterIngest } from './alerts/store';
import { openDb, type OrgDb } from './db';
import { migrate } from './migrate';
import { defaultDataDir } from './paths';
import { createOrg, createToken, OrgError, type Scope } from './store';

const USAGE = `usage:
  code-insights org serve [--port N] [--host ADDR] [--database-url URL] [--data DIR] [--rate-limit PER_SECOND] [--max-connections N]
  code-insights org create-org NAME [--database-url URL] [--data DIR]
  code-insights org create-token --org NAME --scope read|write|admin [--database-url URL] [--data DIR]
${FLEET_USAGE}
${ALERTS_USAGE}

The database is PostgreSQL when --database-url or DATABASE_URL is given, else embedded PGlite in
--data DIR (default ${defaultDataDir()}). A PGlite folder is opened by one process at a time:
while \`serve\` runs on it, create-org/create-token and the fleet commands (add-repos, status, …)
are sent to that service (its admin socket in the folder).`;

class UsageError extends Error {}

interface Parsed {
  positional: string[];
  flags: Map<string, string>;
}

function parse(argv: string[], known: string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (!known.includes(name)) throw new UsageError(`unknown option --${name}`);
      const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      flags.set(name, value);
    } else positional.push(a);
  }
  return { positional, flags };
}

function intFlag(p: Parsed, name: string, def: number, min: number, max: number): number {
  const v = p.flags.get(name);
  if (v === undefined) return def;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got "${v}"`);
  return Number(v);
}

async function open(p: Parsed, log?: pino.Logger): Promise<OrgDb> {
  const databaseUrl = p.flags.get('database-url') ?? process.env.DATABASE_URL ?? undefined;
  const db = await openDb({
    databaseUrl: databaseUrl || undefined,
    dataDir: databaseUrl ? undefined : (p.flags.get('data') ?? defaultDataDir()),
    onPoolError: (err) => log?.warn({ err: err.message }, 'idle database connection lost'),
  });
  await migrate(db);
  return db;
}

/** On PGlite, when a live service holds the folder, an admin command goes to it over its admin
 *  socket (a second opener of the folder is refused). Undefined: run it on the database here. */
async function throughRunningService(p: Parsed, cmd: Parameters<typeof adminCall>[1]): Promise<{ name?: string; token?: string } | undefined> {
  const databaseUrl = p.flags.get('database-url') ?? process.env.DATABASE_URL ?? undefined;
  if (databaseUrl) return undefined;
  const dir = p.flags.get('data') ?? defaultDataDir();
  const pid = lockHolder(dir);
  if (pid === undefined) return undefined;
  let answer;
  try {
    answer = await adminCall(dir, cmd);
  } catch (e) {
    throw new DataDirInUseError(dir, pid, `its admin socket did not answer (${(e as Error).message})`);
  }
  if (!answer.ok) throw new OrgError(answer.code, answer.message);
  return answer;
}

export async function runOrgCommand(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'serve':
        return await serve(parse(rest, ['port', 'host', 'database-url', 'data', 'rate-limit', 'max-connections']));
      case 'create-org': {
        const p = parse(rest, ['database-url', 'data']);
        if (p.positional.length !== 1) throw new UsageError('create-org takes exactly one NAME');
        const viaService = await throughRunningService(p, { op: 'create-org', name: p.positional[0] });
        if (viaService) {
          process.stdout.write(`created org ${viaService.name} (through the running service)\n`);
          return 0;
        }
        const db = await open(p);
        try {
          const org = await createOrg(db, p.positional[0]);
          process.stdout.write(`created org ${org.name}\n`);
        } finally {
          await db.close();
        }
        return 0;
      }
      case 'create-token': {
        const p = parse(rest, ['org', 'scope', 'database-url', 'data']);
        const org = p.flags.get('org');
        const scope = p.flags.get('scope');
        if (!org) throw new UsageError('create-token needs --org NAME');
        if (scope !== 'read' && scope !== 'write' && scope !== 'admin') throw new UsageError('create-token needs --scope read, write or admin (admin: the fleet\'s changes)');
        if (p.positional.length) throw new UsageError(`unexpected argument "${p.positional[0]}"`);
        const viaService = await throughRunningService(p, { op: 'create-token', org, scope: scope as Scope });
        if (viaService) {
          process.stdout.write(`${viaService.token}\n`);
          process.stderr.write(`a ${scope} token for org ${org} (created through the running service): it is shown only this once\n`);
          return 0;
        }
        const db = await open(p);
        try {
          const { token } = await createToken(db, org, scope as Scope);
          process.stdout.write(`${token}\n`);
          process.stderr.write(`a ${scope} token for org ${org}: it is shown only this once (the service keeps only its hash)\n`);
        } finally {
          await db.close();
        }
        return 0;
      }
      case undefined:
      case 'help':
      case '--help':
        process.stdout.write(`${USAGE}\n`);
        return cmd === undefined ? 2 : 0;
      default:
        if (FLEET_COMMANDS.has(cmd)) return await runFleetCommand(cmd, rest);
        if (ALERT_COMMANDS.has(cmd)) return await runAlertCommand(cmd, rest);
        throw new UsageError(`unknown org command "${cmd}"`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`code-insights org: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    if (e instanceof DataDirInUseError) {
      process.stderr.write(`code-insights org: ${e.code}: ${e.message}\n`);
      return 1;
    }
    if (e instanceof OrgError) {
      process.stderr.write(`code-insights org: ${e.code}: ${e.message}\n`);
      return 1;
    }
    const err = e as { code?: string; message?: string };
    process.stderr.write(`code-insights org: ${err.code ? `${err.code}: ` : ''}${err.message ?? String(e)}\n`);
    return 1;
  }
}

async function serve(p: Parsed): Promise<number> {
  if (p.positional.length) throw new UsageError(`unexpected argument "${p.positional[0]}"`);
  const port = intFlag(p, 'port', 8787, 0, 65535);
  const host = p.flags.get('host') ?? '127.0.0.1';
  const rate = intFlag(p, 'rate-limit', 50, 1, 1_000_000);
  const maxConnections = intFlag(p, 'max-connections', DEFAULT_SERVER_LIMITS.maxConnections, 1, 1_000_000);
  const log = createLogger();
  const db = await open(p, log);
  const alerts = await startAlertSender(db, p.flags.get('database-url') ?? process.env.DATABASE_URL, log);
  const fleet = await startServeFleet(db, p.flags.get('database-url') ?? process.env.DATABASE_URL, log, (org, keys) => evaluateAfterIngest(db, org, keys, alerts.dispatcher));
  const { app } = await buildApp({
    db,
    logger: log,
    rateLimit: { perSecond: rate, burst: rate * 2 },
    limits: { maxConnections },
    fleet: fleet.options,
    alerts: { dispatcher: alerts.dispatcher },
  });
  await app.listen({ port, host });
  // PGlite: this process owns the folder; admin commands run meanwhile come in through here.
  const dataDir = db.kind === 'pglite' ? (p.flags.get('data') ?? defaultDataDir()) : undefined;
  const admin = dataDir ? await startAdminSocket(db, dataDir, (request) => serveFleetRequest(db, request, fleet.options.onQueued)) : undefined;
  if (admin) log.info({ socket: admin.path }, 'admin socket: create-org/create-token and the fleet commands on this folder go through this service');
  const addr = app.server.address();
  const actualPort = typeof addr === 'object' && addr ? addr.port : port;
  log.info({ port: actualPort, host, db: db.kind }, 'listening');

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down: finishing in-flight requests');
      // close() stops accepting connections and waits for in-flight requests to finish.
      app
        .close()
        .then(() => admin?.close())
        .then(() => fleet.close())
        .then(() => alerts.stop())
        .then(() => db.close())
        .then(
          () => {
            log.info('stopped');
            resolve(0);
          },
          (err) => {
            log.error({ err }, 'shutdown failed');
            resolve(1);
          },
        );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
