// `code-insights org create-alert | list-alerts | delete-alert | preview-alert`: alert rules on
// org series, against the same database as the other org commands (--database-url / DATABASE_URL
// for PostgreSQL, else PGlite in --data DIR). The operator's view: webhook URLs are shown whole.
import { makeWorkerUtils } from 'graphile-worker';
import { parseDuration, validateCreateAlertRequest, type AlertCondition, type AlertRule, type CreateAlertRequest } from '../../protocol/alerts';
import { openDb, type OrgDb } from '../db';
import { migrate } from '../migrate';
import { defaultDataDir } from '../paths';
import { orgIdByName } from '../fleet/store';
import { adminCall } from '../adminSocket';
import { DataDirInUseError, lockHolder } from '../dataDirLock';
import { OrgError } from '../store';
import { graphileDispatcher } from './runner';
import { createRule, deleteRule, listRules, previewRule, ruleHistory, type DeliveryRef } from './store';

export const ALERTS_USAGE = `  code-insights org create-alert --org NAME --series ID --kind threshold|ratchet|target --webhook URL [--format json|slack] [--pending DURATION]
        threshold: --above N and/or --below N; ratchet: [--baseline lowest|previous]; target: --target N --by YYYY-MM-DD [--direction down|up] [--window POINTS]
  code-insights org list-alerts --org NAME [--history N] [--format table|json]
  code-insights org delete-alert --org NAME ID
  code-insights org preview-alert --org NAME --series ID --kind … (as create-alert, without --webhook) [--pending DURATION] [--format table|json]`;

export const ALERT_COMMANDS = new Set(['create-alert', 'list-alerts', 'delete-alert', 'preview-alert']);

class AlertUsageError extends Error {}

export interface AlertIo {
  out(s: string): void;
  err(s: string): void;
}

const stdio: AlertIo = { out: (s) => void process.stdout.write(s), err: (s) => void process.stderr.write(s) };

function parse(argv: string[], known: string[]): { positional: string[]; flags: Map<string, string> } {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (!known.includes(name)) throw new AlertUsageError(`unknown option --${name}`);
      const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new AlertUsageError(`--${name} needs a value`);
      flags.set(name, value);
    } else positional.push(a);
  }
  return { positional, flags };
}

function number(flags: Map<string, string>, name: string): number | undefined {
  const v = flags.get(name);
  if (v === undefined) return undefined;
  if (!/^-?\d+(\.\d+)?$/.test(v)) throw new AlertUsageError(`--${name} must be a number, got "${v}"`);
  return Number(v);
}

/** The rule the flags describe, through the service's own validator. */
function ruleFromFlags(flags: Map<string, string>, webhookRequired: boolean): CreateAlertRequest {
  const kind = flags.get('kind');
  let condition: Record<string, unknown>;
  if (kind === 'threshold') condition = { kind, above: number(flags, 'above') ?? null, below: number(flags, 'below') ?? null };
  else if (kind === 'ratchet') condition = { kind, baseline: flags.get('baseline') ?? 'lowest' };
  else if (kind === 'target') {
    if (flags.get('target') === undefined || flags.get('by') === undefined) throw new AlertUsageError('--kind target needs --target N and --by YYYY-MM-DD');
    condition = { kind, target: number(flags, 'target'), by: flags.get('by'), direction: flags.get('direction') ?? 'down', window: number(flags, 'window') ?? 8 };
  } else throw new AlertUsageError(`--kind must be threshold, ratchet or target, got "${kind ?? ''}"`);
  const pendingText = flags.get('pending') ?? '0';
  const pendingSeconds = parseDuration(pendingText);
  if (pendingSeconds === undefined) throw new AlertUsageError(`--pending must be a duration such as 0, 30m, 12h, 3d or 2w, got "${pendingText}"`);
  const body: Record<string, unknown> = { series: flags.get('series'), condition: condition as unknown as AlertCondition, pendingSeconds };
  if (webhookRequired || flags.has('webhook')) body.webhook = flags.get('webhook');
  if (flags.has('format') && webhookRequired) body.format = flags.get('format');
  const v = validateCreateAlertRequest(body, webhookRequired);
  if (!v.ok) throw new AlertUsageError(v.message);
  return v.value;
}

export function describeCondition(c: AlertCondition): string {
  if (c.kind === 'threshold') return [c.above !== null ? `above ${c.above}` : '', c.below !== null ? `below ${c.below}` : ''].filter(Boolean).join(' or ');
  if (c.kind === 'ratchet') return `ratchet (${c.baseline})`;
  return `target ${c.target} by ${c.by} (${c.direction}, fit of ${c.window} points)`;
}

function ruleLine(r: AlertRule): string {
  const value = r.value === null ? 'no points yet' : `${r.value} at ${r.time!.slice(0, 10)}`;
  return `${r.id}\t${r.state}${r.since ? ` since ${r.since.slice(0, 10)}` : ''}\t${r.label ?? r.series}\t${describeCondition(r.condition)}${r.pendingSeconds ? `, pending ${r.pendingSeconds} s` : ''}\t${value}\t${r.format} → ${r.webhook}`;
}

async function open(flags: Map<string, string>): Promise<{ db: OrgDb; url?: string }> {
  const url = flags.get('database-url') ?? (process.env.DATABASE_URL || undefined);
  const db = await openDb({ databaseUrl: url, dataDir: url ? undefined : (flags.get('data') ?? defaultDataDir()) });
  await migrate(db);
  return { db, url };
}

/** Deliveries of a rule created already broken: graphile-worker jobs on PostgreSQL; on PGlite the
 *  running `org serve` sends them (they are recorded pending). */
async function hand(url: string | undefined, refs: DeliveryRef[], io: AlertIo): Promise<void> {
  if (refs.length === 0) return;
  if (!url) {
    io.err(`the series is already broken: ${refs.length} delivery recorded; \`code-insights org serve\` on this folder sends it\n`);
    return;
  }
  const utils = await makeWorkerUtils({ connectionString: url });
  try {
    await utils.migrate();
    await graphileDispatcher(utils).enqueue(refs);
  } finally {
    await utils.release();
  }
}

export async function runAlertCommand(cmd: string, argv: string[], io: AlertIo = stdio): Promise<number> {
  return runAlertCommandOn(undefined, cmd, argv, io);
}

/** The command on an open database (the admin socket of a running `serve`), or on the one its
 *  flags name (undefined). */
export async function runAlertCommandOn(openDbHere: OrgDb | undefined, cmd: string, argv: string[], io: AlertIo = stdio): Promise<number> {
  try {
    return await alertCommand(cmd, argv, io, openDbHere);
  } catch (e) {
    if (e instanceof AlertUsageError) {
      io.err(`code-insights org: ${e.message}\nusage:\n${ALERTS_USAGE}\n`);
      return 2;
    }
    const err = e as { code?: string; message?: string };
    io.err(`code-insights org: ${err.code ? `${err.code}: ` : ''}${err.message ?? String(e)}\n`);
    return 1;
  }
}

/** On PGlite, when a live service holds the folder, the command runs in it (its admin socket). */
async function throughRunningService(flags: Map<string, string>, cmd: string, argv: string[], io: AlertIo): Promise<number | undefined> {
  if (flags.get('database-url') ?? (process.env.DATABASE_URL || undefined)) return undefined;
  const dir = flags.get('data') ?? defaultDataDir();
  const pid = lockHolder(dir);
  if (pid === undefined) return undefined;
  let answer;
  try {
    answer = await adminCall(dir, { op: 'alert-command', cmd, argv });
  } catch (e) {
    throw new DataDirInUseError(dir, pid, `its admin socket did not answer (${(e as Error).message})`);
  }
  if (!answer.ok) throw new OrgError(answer.code, answer.message);
  io.out(answer.out ?? '');
  io.err(answer.err ?? '');
  return answer.exit ?? 1;
}

async function alertCommand(cmd: string, argv: string[], io: AlertIo, here?: OrgDb): Promise<number> {
  const common = ['org', 'database-url', 'data'];
  const ruleFlags = ['series', 'kind', 'above', 'below', 'baseline', 'target', 'by', 'direction', 'window', 'pending'];
  const known =
    cmd === 'create-alert' ? [...common, ...ruleFlags, 'webhook', 'format'] : cmd === 'preview-alert' ? [...common, ...ruleFlags, 'format'] : cmd === 'list-alerts' ? [...common, 'format', 'history'] : common;
  const p = parse(argv, known);
  const orgName = p.flags.get('org');
  if (!orgName) throw new AlertUsageError(`${cmd} needs --org NAME`);
  const output = cmd === 'create-alert' ? 'table' : (p.flags.get('format') ?? 'table');
  if (output !== 'table' && output !== 'json') throw new AlertUsageError(`--format must be table or json, got "${output}"`);
  if (cmd === 'delete-alert' ? p.positional.length !== 1 : p.positional.length > 0) {
    throw new AlertUsageError(cmd === 'delete-alert' ? 'delete-alert takes exactly one rule ID' : `unexpected argument "${p.positional[0]}"`);
  }
  const rule = cmd === 'create-alert' || cmd === 'preview-alert' ? ruleFromFlags(p.flags, cmd === 'create-alert') : undefined;
  const history = p.flags.has('history') ? Number(p.flags.get('history')) : 10;
  if (!Number.isInteger(history) || history < 0 || history > 1000) throw new AlertUsageError('--history must be an integer from 0 to 1000');

  if (!here) {
    const viaService = await throughRunningService(p.flags, cmd, argv, io);
    if (viaService !== undefined) return viaService;
  }
  const { db, url } = here ? { db: here, url: undefined } : await open(p.flags);
  try {
    const orgId = await orgIdByName(db, orgName);
    switch (cmd) {
      case 'create-alert': {
        const r = await createRule(db, orgId, rule!);
        await hand(url, r.deliveries, io);
        io.out(`created alert rule ${r.rule.id}: ${describeCondition(r.rule.condition)} on ${r.rule.label ?? r.rule.series}; now ${r.rule.state}\n`);
        return 0;
      }
      case 'list-alerts': {
        const rules = await listRules(db, orgId, false);
        const h = (history > 0 ? await ruleHistory(db, orgId, null, history) : null) ?? { events: [], deliveries: [] };
        if (output === 'json') {
          io.out(`${JSON.stringify({ org: orgName, rules, ...h }, null, 2)}\n`);
          return 0;
        }
        if (rules.length === 0) io.out(`org ${orgName}: no alert rules (create one with \`code-insights org create-alert\`)\n`);
        else io.out(`id\tstate\tseries\tcondition\tvalue\twebhook\n${rules.map(ruleLine).join('\n')}\n`);
        if (h.events.length) {
          io.out(`\nhistory (newest first):\n`);
          const byEvent = new Map(h.deliveries.map((d) => [d.event, d]));
          for (const e of h.events) {
            const d = byEvent.get(e.id);
            const sent = d ? `${d.state} after ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}${d.lastError ? ` (${d.lastError})` : ''}` : 'no delivery';
            io.out(`${e.at.slice(0, 19).replace('T', ' ')}\trule ${e.rule}\t${e.status}\t${e.value} at ${e.time.slice(0, 10)}\t${sent}\n`);
          }
        }
        return 0;
      }
      case 'delete-alert': {
        if (!(await deleteRule(db, orgId, p.positional[0]))) {
          io.err(`code-insights org: NOT_FOUND: org ${orgName} has no alert rule ${p.positional[0].slice(0, 40)}\n`);
          return 1;
        }
        io.out(`deleted alert rule ${p.positional[0]} and its history\n`);
        return 0;
      }
      case 'preview-alert': {
        const r = await previewRule(db, orgId, rule!);
        if (!r) {
          io.err(`code-insights org: NOT_FOUND: org ${orgName} has no series ${rule!.series}\n`);
          return 1;
        }
        if (output === 'json') io.out(`${JSON.stringify(r, null, 2)}\n`);
        else {
          io.out(`over ${r.points} stored points the rule would have fired ${r.fired} time${r.fired === 1 ? '' : 's'}; it would be ${r.state} now\n`);
          for (const f of r.firings) io.out(`  fired ${f.time.slice(0, 10)} at ${f.value}${f.resolved ? `, resolved ${f.resolved.slice(0, 10)}` : ', still firing'}\n`);
        }
        return 0;
      }
    }
    throw new AlertUsageError(`unknown command ${cmd}`);
  } finally {
    if (!here) await db.close();
  }
}
