// `code-insights org add-repos | list-repos | remove-repos | create-insight | update-insight |
// delete-insight | status |
// retry-failed | worker`: the fleet's commands, against the same database as the other org
// commands (--database-url / DATABASE_URL for PostgreSQL, else PGlite in --data DIR).
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import pino from 'pino';
import type { FleetScope, FleetStatusResponse } from '../../protocol/fleet';
import { repoUrlProblem, scopeRegexProblem, validateScope } from '../../protocol/fleet';
import { adminCall } from '../adminSocket';
import { DataDirInUseError, lockHolder } from '../dataDirLock';
import { openDb, type OrgDb } from '../db';
import { migrate } from '../migrate';
import { defaultDataDir } from '../paths';
import { OrgError } from '../store';
import { listCodeHostRepos, TOKEN_ENV, tokenFromEnv, type CodeHostKind } from './codeHost';
import { repoRef } from './identity';
import { defaultHome, HOME_NAME, openQueue } from './queue';
import { addRepos, createInsights, deleteInsights, FleetDefinitionsError, updateInsights, fleetStatus, listRepos, orgIdByName, removeRepos, retryFailed, type RunKey } from './store';
import { startWorker } from './worker';

export const FLEET_USAGE = `  code-insights org add-repos --org NAME URL|PATH... [--from-file FILE]
                              [--github-org NAME | --gitlab-group PATH] [--api-url URL] [--max-pages N]
  code-insights org list-repos --org NAME [--format table|json]
  code-insights org remove-repos --org NAME URL|IDENTITY...
  code-insights org create-insight --org NAME --config insights.json [--scope-regex REGEX | --scope-repos URL,URL...]
  code-insights org update-insight --org NAME --config insights.json [--scope-all | --scope-regex REGEX | --scope-repos URL,URL...]
  code-insights org delete-insight --org NAME ID...
  code-insights org status --org NAME [--format table|json]
  code-insights org retry-failed --org NAME
  code-insights org worker [--concurrency N] [--mirror-dir DIR] [--mirror-budget BYTES] [--refresh-interval SECONDS]
                           [--lock-timeout SECONDS] [--poll-interval MS] [--metrics-port N [--metrics-host ADDR]] [--home NAME]
                           [--database-url URL]     (PostgreSQL only)
  (each also takes --database-url URL or --data DIR)`;

export const FLEET_COMMANDS = new Set(['add-repos', 'list-repos', 'remove-repos', 'create-insight', 'update-insight', 'delete-insight', 'status', 'retry-failed', 'worker']);

class FleetUsageError extends Error {}

interface Parsed {
  positional: string[];
  flags: Map<string, string>;
}

/** `switches`: options that take no value (recorded as "true"). */
function parse(argv: string[], known: string[], switches: string[] = []): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (switches.includes(name)) {
        if (eq > 0) throw new FleetUsageError(`--${name} takes no value`);
        flags.set(name, 'true');
        continue;
      }
      if (!known.includes(name)) throw new FleetUsageError(`unknown option --${name}`);
      const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new FleetUsageError(`--${name} needs a value`);
      flags.set(name, value);
    } else positional.push(a);
  }
  return { positional, flags };
}

function intFlag(p: Parsed, name: string, def: number, min: number, max: number): number {
  const v = p.flags.get(name);
  if (v === undefined) return def;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new FleetUsageError(`--${name} must be an integer from ${min} to ${max}, got "${v}"`);
  return Number(v);
}

/** Bytes with an optional K/M/G/T suffix (powers of 1024): 500M, 20G. */
function bytesFlag(p: Parsed, name: string, def: number): number {
  const v = p.flags.get(name);
  if (v === undefined) return def;
  const m = /^(\d+)([KMGT]?)i?B?$/i.exec(v);
  if (!m) throw new FleetUsageError(`--${name} must be a number of bytes such as 5000000000, 500M or 20G, got "${v}"`);
  return Number(m[1]) * 1024 ** ' KMGT'.indexOf((m[2] || ' ').toUpperCase());
}

function databaseUrl(p: Parsed): string | undefined {
  return p.flags.get('database-url') ?? (process.env.DATABASE_URL || undefined);
}

async function open(p: Parsed): Promise<OrgDb> {
  const url = databaseUrl(p);
  const db = await openDb({ databaseUrl: url, dataDir: url ? undefined : (p.flags.get('data') ?? defaultDataDir()) });
  await migrate(db);
  return db;
}

function needOrg(p: Parsed, cmd: string): string {
  const org = p.flags.get('org');
  if (!org) throw new FleetUsageError(`${cmd} needs --org NAME`);
  return org;
}

/** Hands the runs to the queue (PostgreSQL), or says who computes them (PGlite). */
async function enqueue(db: OrgDb, p: Parsed, runs: RunKey[], err: (s: string) => void): Promise<void> {
  if (runs.length === 0) return;
  if (db.kind !== 'postgres') {
    err(`${runs.length} computation(s) recorded as queued; on the embedded database they are computed by \`code-insights org serve\`. Workers on other machines need PostgreSQL (--database-url).\n`);
    return;
  }
  const queue = await openQueue(databaseUrl(p)!);
  try {
    await queue.add(runs);
  } finally {
    await queue.close();
  }
}

function readUrls(p: Parsed): string[] {
  const urls = [...p.positional];
  const file = p.flags.get('from-file');
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new OrgError('FILE_UNREADABLE', `cannot read --from-file ${file}: ${(e as Error).message}`);
    }
    // One URL a line; blank lines and lines starting with # are skipped.
    for (const line of text.split(/\r?\n/)) if (line.trim() && !line.trim().startsWith('#')) urls.push(line.trim());
  }
  urls.forEach((u, i) => {
    const problem = repoUrlProblem(u);
    if (problem) throw new OrgError('BAD_REPO_URL', `repository ${i + 1} ${problem}`);
  });
  return urls;
}

/** `--github-org NAME` / `--gitlab-group PATH`: the clone URLs of the organisation's or group's
 *  repositories, listed over the host's API (token from the environment). */
async function hostRepos(p: Parsed, io: FleetIo): Promise<string[]> {
  const gh = p.flags.get('github-org');
  const gl = p.flags.get('gitlab-group');
  if (gh !== undefined && gl !== undefined) throw new FleetUsageError('give --github-org or --gitlab-group, not both');
  if (gh === undefined && gl === undefined) {
    if (p.flags.has('api-url') || p.flags.has('max-pages')) throw new FleetUsageError('--api-url and --max-pages go with --github-org or --gitlab-group');
    return [];
  }
  const kind: CodeHostKind = gh !== undefined ? 'github' : 'gitlab';
  const name = (gh ?? gl)!;
  const token = tokenFromEnv(kind);
  const repos = await listCodeHostRepos({ kind, name, apiUrl: p.flags.get('api-url'), token, maxPages: intFlag(p, 'max-pages', 1000, 1, 100_000) });
  const archived = repos.filter((r) => r.archived).length;
  io.err(
    `listed ${repos.length} repositories of ${kind === 'github' ? 'GitHub organisation' : 'GitLab group'} ${name}${archived ? ` (${archived} archived)` : ''}` +
      `${token ? '' : `; no token in ${TOKEN_ENV[kind].join(' or ')}: public repositories only`}\n`,
  );
  for (const r of repos) {
    const problem = repoUrlProblem(r.url);
    if (problem) throw new OrgError('BAD_REPO_URL', `the code host listed a repository whose URL ${problem}`);
  }
  return repos.map((r) => r.url);
}

function statusTable(s: FleetStatusResponse): string {
  const lines = [`org ${s.org}: ${s.repos} repositories`];
  if (s.insights.length === 0) lines.push('no org-defined insights: add one with `code-insights org create-insight`');
  for (const i of s.insights) {
    const eta = i.etaSeconds === null ? '' : `, ETA ${i.etaSeconds < 120 ? `${i.etaSeconds} s` : `${Math.round(i.etaSeconds / 60)} min`}`;
    lines.push(`${i.name} (${i.title}): ${i.done}/${i.total} done, ${i.queued} queued, ${i.running} running, ${i.failed} failed${i.pending ? `, ${i.pending} not queued` : ''}; backfill started ${i.backfillStartedAt}${eta}`);
    for (const f of i.failures) lines.push(`  failed ${f.repo}: ${f.error}`);
  }
  return lines.join('\n');
}

export interface FleetIo {
  out(s: string): void;
  err(s: string): void;
}

const stdio: FleetIo = { out: (s) => void process.stdout.write(s), err: (s) => void process.stderr.write(s) };

/** A fleet command as typed, parsed and with its files read where it was typed (paths are the
 *  caller's): what runs on the database, in this process or, on a PGlite folder a running
 *  `org serve` holds, in that service (through its admin socket). Plain JSON. */
export interface FleetRequest {
  cmd: string;
  org: string;
  format: 'table' | 'json';
  urls: string[];
  config?: { path: string; text: string };
  /** Absent for update-insight without a scope flag: each insight keeps its own. */
  scope?: FleetScope;
  /** delete-insight: the insight ids. */
  names?: string[];
}

/** What a command's database part does with the runs it queued. */
export type Enqueue = (runs: RunKey[], err: (s: string) => void) => Promise<void>;

/** Errors as the CLI reports them: the message on stderr and the exit code (2: usage). */
async function reported(io: FleetIo, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof FleetUsageError) {
      io.err(`code-insights org: ${e.message}\nusage:\n${FLEET_USAGE}\n`);
      return 2;
    }
    if (e instanceof FleetDefinitionsError) {
      io.err(`code-insights org: ${e.code}: the insights file has errors; nothing was created\n`);
      return 1;
    }
    const err = e as { code?: string; message?: string };
    io.err(`code-insights org: ${err.code ? `${err.code}: ` : ''}${err.message ?? String(e)}\n`);
    return 1;
  }
}

export async function runFleetCommand(cmd: string, argv: string[], io: FleetIo = stdio): Promise<number> {
  return reported(io, async () => {
    if (cmd === 'worker') return worker(parse(argv, ['database-url', 'concurrency', 'mirror-dir', 'mirror-budget', 'refresh-interval', 'lock-timeout', 'poll-interval', 'metrics-port', 'metrics-host', 'home']), io);
    const { p, req } = await prepare(cmd, argv, io);
    const viaService = await throughRunningService(p, req);
    if (viaService) {
      io.out(viaService.out);
      io.err(viaService.err);
      return viaService.code;
    }
    const db = await open(p);
    try {
      return await execute(db, req, io, (runs, err) => enqueue(db, p, runs, err));
    } finally {
      await db.close();
    }
  });
}

/** On PGlite, when a live `org serve` holds the folder: the command runs in that service (the
 *  same execute() as here) and its output and exit code come back. Undefined: run it here. */
async function throughRunningService(p: Parsed, req: FleetRequest): Promise<{ out: string; err: string; code: number } | undefined> {
  if (databaseUrl(p)) return undefined;
  const dir = p.flags.get('data') ?? defaultDataDir();
  const pid = lockHolder(dir);
  if (pid === undefined) return undefined;
  let answer;
  try {
    answer = await adminCallWhenReady(dir, pid, { op: 'fleet', request: req });
  } catch (e) {
    throw new DataDirInUseError(dir, pid, `its admin socket did not answer (${(e as Error).message})`);
  }
  if (!answer.ok) throw new OrgError(answer.code, answer.message);
  if (typeof answer.code !== 'number') throw new DataDirInUseError(dir, pid, 'its admin socket does not run fleet commands (an older version?)');
  return { out: answer.out ?? '', err: answer.err ?? '', code: answer.code };
}

/** The service takes its folder's lock before it opens its admin socket (migrations run
 *  between): while the holder lives and the socket is not there yet, try again for up to 20 s. */
async function adminCallWhenReady(dir: string, pid: number, cmd: Parameters<typeof adminCall>[1]): ReturnType<typeof adminCall> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return await adminCall(dir, cmd, 300_000);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ECONNREFUSED') || Date.now() > deadline || lockHolder(dir) !== pid) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** A relative local path is the caller's: made absolute here, where it was typed, so the service
 *  (another working folder) reads the same repository. URLs stay as given, and so do identities
 *  (`github.com/acme/web`: a first segment with a dot that is no folder here) where one is accepted. */
function absolutise(input: string): string {
  const s = input.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s) || /^[^/\s]+@[^/\s]+:/.test(s) || isAbsolute(s)) return s;
  if (existsSync(s) || s.startsWith('.') || !s.split('/')[0].includes('.')) return resolve(s);
  return s;
}

async function prepare(cmd: string, argv: string[], io: FleetIo): Promise<{ p: Parsed; req: FleetRequest }> {
  const common = ['org', 'database-url', 'data'];
  const p = parse(
    argv,
    cmd === 'add-repos' ? [...common, 'from-file', 'github-org', 'gitlab-group', 'api-url', 'max-pages'] : cmd === 'create-insight' || cmd === 'update-insight' ? [...common, 'config', 'scope-regex', 'scope-repos'] : cmd === 'status' || cmd === 'list-repos' ? [...common, 'format'] : common,
    cmd === 'update-insight' ? ['scope-all'] : [],
  );
  const orgName = needOrg(p, cmd);
  const format = p.flags.get('format') ?? 'table';
  if (format !== 'table' && format !== 'json') throw new FleetUsageError(`--format must be table or json, got "${format}"`);
  let urls: string[] = [];
  let names: string[] | undefined;
  let config: { path: string; text: string } | undefined;
  let scope: FleetScope | undefined = cmd === 'create-insight' ? { kind: 'all' } : undefined;
  if (cmd === 'add-repos' || cmd === 'remove-repos') {
    // add-repos: what the database would store (repoRef resolves a path against this folder).
    urls = cmd === 'add-repos' ? [...readUrls(p), ...(await hostRepos(p, io))].map((u) => repoRef(u).url) : p.positional.map(absolutise);
    if (urls.length === 0) throw new FleetUsageError(`${cmd} needs at least one repository URL or path${cmd === 'add-repos' ? ' (or --from-file FILE, --github-org NAME, --gitlab-group PATH)' : ''}`);
  } else if (cmd === 'delete-insight') {
    names = p.positional;
    if (names.length === 0) throw new FleetUsageError('delete-insight needs the id of at least one org-defined insight (see `code-insights org status`)');
  } else if (p.positional.length) throw new FleetUsageError(`unexpected argument "${p.positional[0]}"`);
  if (cmd === 'create-insight' || cmd === 'update-insight') {
    const path = p.flags.get('config');
    if (!path) throw new FleetUsageError(`${cmd} needs --config FILE (an insights.json file, the format of .vscode/insights.json${cmd === 'update-insight' ? '; its ids name the insights to replace' : ''})`);
    try {
      config = { path: resolve(path), text: readFileSync(path, 'utf8') };
    } catch (e) {
      throw new OrgError('DEF_NOT_FOUND', `cannot read --config ${path}: ${(e as Error).message}`);
    }
    const re = p.flags.get('scope-regex');
    const list = p.flags.get('scope-repos');
    const all = p.flags.get('scope-all');
    if ([re, list, all].filter((x) => x !== undefined).length > 1) throw new FleetUsageError('give one of --scope-all, --scope-regex, --scope-repos');
    if (all !== undefined) {
      scope = { kind: 'all' };
    } else if (re !== undefined) {
      const problem = scopeRegexProblem(re);
      if (problem) throw new FleetUsageError(`--scope-regex ${problem}`);
      scope = { kind: 'regex', regex: re };
    } else if (list !== undefined) {
      const repos = list.split(',').map((r) => r.trim()).filter(Boolean).map(absolutise);
      if (repos.length === 0) throw new FleetUsageError('--scope-repos needs a comma-separated list of repository URLs or identities');
      scope = { kind: 'list', repos };
    }
  }
  return { p, req: { cmd, org: orgName, format, urls, config, scope, names } };
}

/** The `org serve` end of the admin socket: runs a fleet command sent by the CLI on the
 *  service's database, with the CLI's output and exit code. Runs it queues wake `onQueued`. */
export async function serveFleetRequest(db: OrgDb, request: unknown, onQueued?: (runs: RunKey[]) => void): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  const io: FleetIo = { out: (s) => void (out += s), err: (s) => void (err += s) };
  const code = await reported(io, async () => {
    const req = checkRequest(request);
    return execute(db, req, io, async (runs, e) => {
      if (runs.length === 0) return;
      onQueued?.(runs);
      e(`${runs.length} computation(s) handed to the running \`org serve\`, which computes them\n`);
    });
  });
  return { out, err, code };
}

/** The request as the socket received it: the shape the CLI sends, or a clear refusal. */
function checkRequest(v: unknown): FleetRequest {
  const r = v as Partial<FleetRequest> | null;
  const bad = (what: string) => new OrgError('BAD_COMMAND', `fleet request: ${what}`);
  if (typeof r !== 'object' || r === null) throw bad('not an object');
  if (typeof r.cmd !== 'string' || !FLEET_COMMANDS.has(r.cmd) || r.cmd === 'worker') throw bad(`unknown command "${String(r.cmd)}"`);
  if (typeof r.org !== 'string' || r.org === '') throw bad('no org');
  if (r.format !== 'table' && r.format !== 'json') throw bad('format must be table or json');
  if (!Array.isArray(r.urls) || r.urls.some((u) => repoUrlProblem(u) !== null)) throw bad('urls must be clone URLs or paths');
  if (r.config !== undefined && (typeof r.config?.path !== 'string' || typeof r.config.text !== 'string')) throw bad('config must be {path, text}');
  const scope = r.scope === undefined ? undefined : validateScope(r.scope);
  if (scope && !scope.ok) throw bad(scope.message);
  if (r.names !== undefined && (!Array.isArray(r.names) || r.names.some((n) => typeof n !== 'string'))) throw bad('names must be insight ids');
  return { cmd: r.cmd, org: r.org, format: r.format, urls: r.urls, config: r.config, scope: scope?.value, names: r.names };
}

/** The database part of a fleet command: the same wherever it runs. */
async function execute(db: OrgDb, req: FleetRequest, io: FleetIo, enqueue: Enqueue): Promise<number> {
  const { cmd, urls, config, scope, format } = req;
  const orgName = req.org;
  const orgId = await orgIdByName(db, orgName);
  switch (cmd) {
    case 'add-repos': {
      const r = await addRepos(db, orgId, urls);
      await enqueue(r.runs, io.err);
      for (const x of r.added) io.out(`added ${x.identity}\n`);
      for (const x of r.existing) io.out(`already there ${x.identity}\n`);
      io.err(`${r.added.length} added, ${r.existing.length} already in org ${orgName}; ${r.runs.length} computation(s) queued\n`);
      return 0;
    }
    case 'list-repos': {
      const repos = await listRepos(db, orgId);
      if (format === 'json') io.out(`${JSON.stringify({ org: orgName, repos }, null, 2)}\n`);
      else for (const x of repos) io.out(`${x.identity}\t${x.url}\t${x.status}${x.headSeen ? `\t${x.headSeen.slice(0, 12)}` : ''}${x.lastError ? `\t${x.lastError}` : ''}\n`);
      return 0;
    }
    case 'remove-repos': {
      const r = await removeRepos(db, orgId, urls);
      io.err(`${r.removed} removed from org ${orgName}\n`);
      for (const u of r.unknown) io.err(`not in org ${orgName}: ${u}\n`);
      return r.unknown.length ? 1 : 0;
    }
    case 'create-insight': {
      let r;
      try {
        r = await createInsights(db, orgId, config!.text, scope ?? { kind: 'all' });
      } catch (e) {
        if (e instanceof FleetDefinitionsError) {
          for (const x of e.problems) io.err(`${config!.path}:${x.line}:${x.column}: ${x.severity}: ${x.message}\n`);
        }
        throw e;
      }
      for (const x of r.problems) io.err(`${config!.path}:${x.line}:${x.column}: ${x.severity}: ${x.message}\n`);
      await enqueue(r.runs, io.err);
      for (const i of r.insights) io.out(`created insight ${i.name} (${i.title})\n`);
      io.err(`${r.runs.length} computation(s) queued\n`);
      return 0;
    }
    case 'update-insight': {
      let r;
      try {
        r = await updateInsights(db, orgId, config!.text, scope);
      } catch (e) {
        if (!(e instanceof FleetDefinitionsError)) throw e;
        for (const x of e.problems) io.err(`${config!.path}:${x.line}:${x.column}: ${x.severity}: ${x.message}\n`);
        io.err(`code-insights org: ${e.code}: the insights file has errors; nothing was changed\n`);
        return 1;
      }
      for (const x of r.problems) io.err(`${config!.path}:${x.line}:${x.column}: ${x.severity}: ${x.message}\n`);
      await enqueue(r.runs, io.err);
      for (const i of r.insights) io.out(`updated insight ${i.name} (${i.title})${i.recomputed ? '' : ': definition unchanged'}\n`);
      io.err(`${r.runs.length} computation(s) queued\n`);
      return 0;
    }
    case 'delete-insight': {
      const r = await deleteInsights(db, orgId, req.names ?? []);
      for (const n of r.deleted) io.out(`deleted insight ${n}\n`);
      for (const n of r.unknown) io.err(`no insight ${n} in org ${orgName}\n`);
      io.err(`${r.deleted.length} deleted; the points they computed stay\n`);
      return r.unknown.length ? 1 : 0;
    }
    case 'status': {
      const s = await fleetStatus(db, orgId);
      const body: FleetStatusResponse = { org: orgName, ...s };
      io.out(format === 'json' ? `${JSON.stringify(body, null, 2)}\n` : `${statusTable(body)}\n`);
      return 0;
    }
    case 'retry-failed': {
      const runs = await retryFailed(db, orgId);
      await enqueue(runs, io.err);
      io.err(`${runs.length} failed computation(s) queued again\n`);
      return 0;
    }
  }
  throw new FleetUsageError(`unknown org command "${cmd}"`);
}

async function worker(p: Parsed, io: { err: (s: string) => void }): Promise<number> {
  if (p.positional.length) throw new FleetUsageError(`unexpected argument "${p.positional[0]}"`);
  const url = databaseUrl(p);
  if (!url) throw new FleetUsageError('a worker needs PostgreSQL: give --database-url URL or set DATABASE_URL (on the embedded database, `org serve` computes the org\'s insights itself)');
  const mirrorDir = resolve(p.flags.get('mirror-dir') ?? join(dirname(defaultDataDir()), 'mirrors'));
  const home = p.flags.get('home') ?? defaultHome(hostname(), mirrorDir);
  if (!HOME_NAME.test(home)) throw new FleetUsageError(`--home ${JSON.stringify(home.slice(0, 120))}: a home is 1 to 100 letters, digits, "_", "." or "-"`);
  const log = pino({ name: 'code-insights-worker' });
  const w = await startWorker({
    databaseUrl: url,
    concurrency: intFlag(p, 'concurrency', 1, 1, 256),
    mirrorDir,
    home,
    mirrorBudget: bytesFlag(p, 'mirror-budget', 10 * 1024 ** 3),
    refreshInterval: intFlag(p, 'refresh-interval', 300, 1, 7 * 86400),
    lockTimeout: intFlag(p, 'lock-timeout', 60, 1, 86400),
    pollInterval: intFlag(p, 'poll-interval', 2000, 50, 600_000),
    metricsPort: p.flags.has('metrics-port') ? intFlag(p, 'metrics-port', 0, 0, 65535) : undefined,
    metricsHost: p.flags.get('metrics-host'),
    log,
  });
  return new Promise<number>((done) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'stopping: finishing running jobs');
      w.stop().then(
        () => done(0),
        (err) => {
          io.err(`code-insights org worker: ${(err as Error).message}\n`);
          done(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
