// The insights server: a separate Node process that vscode-languageclient starts over IPC (or
// a test over stdio). It reads the definitions, publishes their problems as diagnostics, and runs
// the engine on request with progress, partial results and cancellation. It never imports vscode.
import {
  createConnection,
  DiagnosticSeverity,
  LSPErrorCodes,
  ProposedFeatures,
  ResponseError,
  TextDocuments,
  TextDocumentSyncKind,
  type CancellationToken,
  type Diagnostic,
  type WorkDoneProgressReporter,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import {
  CancelComputeRequest,
  ComputeInsightsRequest,
  DrillDownRequest,
  EditDefinitionsRequest,
  ExportInsightRequest,
  GetSeriesRequest,
  InsightsChangedNotification,
  InsightsErrorCodes,
  ListInsightsRequest,
  PartialResultNotification,
  SeriesQueryRequest,
  SettingsNotification,
  SyncRequest,
  SyncStatusRequest,
  VerifyOrgRequest,
  CheckGoalsRequest,
  WorkingTreeGoalsRequest,
  type InsightResult,
  type InsightsErrorData,
  type ServerSettings,
  validateServerSettings,
} from '../../protocol/lsp';
import { InsightsError, seriesId, type ComputeResult } from '../engine/index';
import { runInsights } from '../runs/runInsights';
import { readExternalSeries } from '../runs/externalSeries';
import { toComputeRequest, toSeriesSpecs } from '../engine/definitions';
import { drillDownInsight } from '../engine/drillDown';
import { languagesCsv, seriesCsv } from '../cli/format';
import { definitionsUri, folderFromUri, InsightsWorkspace, type LoadedInsight, type WorkspaceFolderInfo } from './insightsWorkspace';
import type { GoalCheckResult, SeriesGoalState } from '../../protocol/goals';
import type { GoalVerdict } from '../../protocol/insights';
import { defaultCacheFile } from '../store/cache';
import { onCacheLockWait } from '../store/fileLock';
import { outboxStatus, PushAbortedError, syncCacheFile, verifyOrg } from '../sync/session';
import { checkGoals, goalStates } from '../runs/checkGoals';
import { ratchetInsights, workingTreeMarks } from '../runs/workingTreeGoals';
import { fileURLToPath } from 'node:url';
import { hasGoals } from '../engine/goals';
import { checkText } from '../cli/check';
import { runGitRaw } from '../engine/git';
import { discoverRepos } from '../engine/discoverRepos';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

/** A user-facing refusal: the client shows `message`; the typed `data.code` says which. */
function refuse(kind: keyof typeof InsightsErrorCodes, code: string, message: string): ResponseError<InsightsErrorData> {
  return new ResponseError<InsightsErrorData>(InsightsErrorCodes[kind], message, { code });
}

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);
const ws = new InsightsWorkspace();
let settings: ServerSettings = { insights: [], autoCompute: true, trusted: true };
let canCreateProgress = false;
const running = new Set<AbortController>();
const log = (msg: string) => connection.console.log(msg);
// A save waiting for another process's (the wait blocks this process): stderr shows it in the
// output channel at once, the log once the wait is over.
onCacheLockWait((m) => {
  process.stderr.write(`${m}\n`);
  log(m);
});

/**
 * Reloads run one after another, and requests wait for the ones already queued: a request sent
 * after a change notification always sees that change.
 */
let reloads: Promise<unknown> = Promise.resolve();
function queueReload(fn: () => Promise<void>): Promise<void> {
  const next = reloads.then(fn).catch((err) => log(`reloading definitions failed: ${describe(err)}`));
  reloads = next;
  return next;
}

function isDefinitionsUri(uri: string): boolean {
  return /\/\.vscode\/insights\.json$/.test(uri);
}

connection.onInitialize((params) => {
  const folders = params.workspaceFolders?.map((f) => folderFromUri(f.uri, f.name))
    ?? (params.rootUri ? [folderFromUri(params.rootUri)] : []);
  void queueReload(() => ws.setFolders(folders));
  applySettings(params.initializationOptions);
  canCreateProgress = params.capabilities.window?.workDoneProgress === true;
  return {
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Full,
      workspace: { workspaceFolders: { supported: true, changeNotifications: true } },
    },
    serverInfo: { name: 'code-insights-server' },
  };
});

connection.onInitialized(async () => {
  await reloads;
  try {
    connection.workspace.onDidChangeWorkspaceFolders((e) => {
      const removed = new Set(e.removed.map((f) => f.uri));
      void queueReload(async () => {
        await ws.setFolders([...ws.getFolders().filter((f) => !removed.has(f.uri)), ...e.added.map((f) => folderFromUri(f.uri, f.name))]);
        definitionsChanged();
      });
    });
  } catch {
    /* the client does not send folder changes */
  }
  log(`insights server ready: ${ws.getFolders().length} workspace folder(s), ${ws.insights().length} insight(s)`);
  definitionsChanged();
});

/** Takes settings from the client; settings that are not of the declared shape change nothing. */
function applySettings(raw: unknown): void {
  let s: Partial<ServerSettings>;
  try {
    s = raw === undefined || raw === null ? {} : validateServerSettings(raw);
  } catch (err) {
    log(`settings ignored: ${(err as Error).message}`);
    return;
  }
  settings = { ...settings, ...s };
  ws.setSettingsInsights(settings.insights);
}

connection.onNotification(SettingsNotification.type, (s) => {
  void queueReload(async () => {
    applySettings(s);
    definitionsChanged();
  });
});

// Definitions edited in the editor (unsaved) or on disk: re-read, re-publish, recompute.
// Unsaved text is listed and diagnosed at once but computes nothing until it is saved. Text that
// is the file's own does compute: the editor reloaded it after a change on disk, which may
// arrive after the file watcher's event (which then found the editor's older text), or it was
// just saved. Closing the editor leaves the file's text, which computes too.
documents.onDidChangeContent((e) => {
  if (!isDefinitionsUri(e.document.uri)) return;
  const text = e.document.getText();
  void queueReload(async () => {
    if (await ws.setOpenText(e.document.uri, text)) definitionsChanged(await ws.isSavedText(e.document.uri, text));
  });
});
documents.onDidClose((e) => {
  if (!isDefinitionsUri(e.document.uri)) return;
  void queueReload(async () => {
    if (await ws.setOpenText(e.document.uri, undefined)) definitionsChanged();
  });
});
connection.onDidChangeWatchedFiles((e) => {
  void queueReload(async () => {
    let any = false;
    for (const c of e.changes) if (isDefinitionsUri(c.uri)) any = (await ws.reloadUri(c.uri)) || any;
    if (any) definitionsChanged();
  });
});

/** Publishes diagnostics and the insight list; recomputes insights that have no result yet. */
let lastDefinitions = new Map<string, string>();
function definitionsChanged(compute = true): void {
  publishDiagnostics();
  notifyList();
  if (!compute || !settings.autoCompute || !settings.trusted) return;
  // Only insights whose definition is new or changed: an edit to one insight leaves the others alone.
  const now = new Map(ws.insights().map((i) => [i.key, JSON.stringify(i.def)]));
  // An insight without a result is computed unless a computation of it is already under way
  // (a settings change during the first computation started a second one of the same insight).
  const stale = [...now].filter(([k, d]) => lastDefinitions.get(k) !== d || (!ws.result(k) && !queued.has(k))).map(([k]) => k);
  lastDefinitions = now;
  if (stale.length) void runCompute(stale, undefined, undefined).catch((err) => log(`automatic compute failed: ${describe(err)}`));
}

function publishDiagnostics(): void {
  for (const { uri, text, problems } of ws.problems()) {
    const doc = TextDocument.create(uri, 'jsonc', 0, text);
    const diagnostics: Diagnostic[] = problems.map((p) => ({
      range: { start: doc.positionAt(p.offset), end: doc.positionAt(p.offset + p.length) },
      message: p.message,
      code: p.code,
      severity: p.severity === 'error' ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
      source: 'code-insights',
    }));
    void connection.sendDiagnostics({ uri, diagnostics });
  }
  for (const p of ws.settingsProblems()) log(`settings codeInsights.insights: ${p.message} [${p.code}]`);
}

function notifyList(): void {
  void connection.sendNotification(InsightsChangedNotification.type, { insights: ws.summaries() });
}

connection.onRequest(ListInsightsRequest.type, async () => {
  await reloads;
  return { insights: ws.summaries() };
});

connection.onRequest(GetSeriesRequest.type, async ({ key }) => {
  await reloads;
  return ws.result(key) ?? null;
});

connection.onRequest(CancelComputeRequest.type, () => {
  const cancelled = running.size;
  for (const ac of running) ac.abort();
  return { cancelled };
});

connection.onRequest(DrillDownRequest.type, async (q, token) => {
  if (!settings.trusted) throw refuse('untrusted', 'UNTRUSTED', 'Drill-down is disabled in a restricted workspace: it runs git on the repositories of this folder.');
  await reloads;
  const insight = ws.find(q.key);
  const result = ws.result(q.key);
  if (!insight || !result) throw refuse('user', 'NOT_COMPUTED', `"${q.key}" has no computed result; refresh the dashboard`);
  const ac = new AbortController();
  token.onCancellationRequested(() => ac.abort());
  try {
    return await drillDownInsight(insight.def, result, q, ac.signal);
  } catch (err) {
    throw userError(err);
  }
});

connection.onRequest(SeriesQueryRequest.type, async ({ key, seriesId: id }) => {
  await reloads;
  const insight = ws.find(key);
  const series = ws.result(key)?.series.find((s) => s.id === id);
  if (!insight || !series) return null;
  const spec = toSeriesSpecs(insight.def).find((s) => seriesId(s, series.capture) === id);
  // A command is no text to find in the editor.
  return spec && !spec.command ? { query: spec.query, literal: spec.literal, ignoreCase: spec.ignoreCase } : null;
});

connection.onRequest(ExportInsightRequest.type, ({ key, format }) => {
  const r = ws.result(key);
  if (!r) throw refuse('user', 'NOT_COMPUTED', `"${key}" has not been computed yet; run Refresh first`);
  // Exactly what `code-insights series|capture|languages --format csv|json` prints for the same definition.
  const langs = r.kind === 'languages';
  if (format === 'csv') return { text: langs ? languagesCsv(r.languages ?? []) : seriesCsv(r.series) };
  const body = langs ? { languages: r.languages ?? [] } : { series: r.series };
  return { text: JSON.stringify({ ...body, repos: r.repos, stats: r.stats }, null, 2) + '\n' };
});

connection.onRequest(EditDefinitionsRequest.type, async ({ folderUri, add, remove, text }) => {
  await reloads;
  try {
    if (text !== undefined && typeof text !== 'string') throw new InsightsError('BAD_REQUEST', 'text must be a string');
    return await ws.editDefinitions(folderUri, add, remove, text);
  } catch (err) {
    throw userError(err);
  }
});

connection.onRequest(ComputeInsightsRequest.type, async (params, token) => {
  if (!settings.trusted) {
    throw refuse('untrusted', 'UNTRUSTED', 'Computing insights is disabled in a restricted workspace: it runs git on the repositories of this folder. Trust the workspace to enable it.');
  }
  await reloads;
  const keys = params.keys ?? ws.insights().map((i) => i.key);
  const unknown = keys.filter((k) => !ws.find(k));
  if (unknown.length) throw refuse('user', 'UNKNOWN_INSIGHT', `unknown insight ${unknown.map((k) => `"${k}"`).join(', ')}`);
  const reporter = params.workDoneToken !== undefined ? connection.window.attachWorkDoneProgress(params.workDoneToken) : undefined;
  return { results: await runCompute(keys, token, reporter) };
});

/**
 * Computes insights one after another. Cancellation (the request's token, the progress UI's
 * cancel button, or insights/cancel) aborts the engine through an AbortSignal; a cancelled
 * request answers RequestCancelled and keeps the previous results.
 */
/** Insights a runCompute call will compute or is computing, with how many calls have them. */
const queued = new Map<string, number>();

async function runCompute(keys: string[], token: CancellationToken | undefined, reporter: WorkDoneProgressReporter | undefined): Promise<InsightResult[]> {
  const ac = new AbortController();
  running.add(ac);
  for (const k of keys) queued.set(k, (queued.get(k) ?? 0) + 1);
  const unqueue = (k: string) => {
    const n = (queued.get(k) ?? 0) - 1;
    if (n > 0) queued.set(k, n);
    else queued.delete(k);
  };
  const left = new Set(keys);
  token?.onCancellationRequested(() => ac.abort());
  const results: InsightResult[] = [];
  try {
    if (!reporter && canCreateProgress) reporter = await connection.window.createWorkDoneProgress().catch(() => undefined);
    reporter?.begin('Code Insights', 0, `computing ${keys.length} insight(s)`, true);
    (reporter as { token?: CancellationToken } | undefined)?.token?.onCancellationRequested(() => ac.abort());
    for (const [i, key] of keys.entries()) {
      if (ac.signal.aborted) break;
      const insight = ws.find(key);
      if (!insight) continue;
      ws.setState(key, 'computing');
      notifyList();
      const result = await computeOne(insight, ac.signal, (fraction, message) => {
        reporter?.report(Math.floor(((i + fraction) / keys.length) * 100), `${insight.def.title}: ${message}`);
      });
      if (ac.signal.aborted) {
        ws.setState(key, ws.result(key) ? 'done' : 'idle');
        break;
      }
      ws.setResult(result);
      ws.setState(key, result.error ? 'failed' : 'done', result.error?.message);
      left.delete(key);
      unqueue(key);
      results.push(result);
      notifyList();
    }
  } finally {
    for (const k of left) unqueue(k);
    running.delete(ac);
    reporter?.done();
  }
  if (ac.signal.aborted) {
    notifyList();
    throw new ResponseError(LSPErrorCodes.RequestCancelled, 'cancelled');
  }
  return results;
}

async function computeOne(insight: LoadedInsight, signal: AbortSignal, progress: (fraction: number, message: string) => void): Promise<InsightResult> {
  const { key, def } = insight;
  const base = { key, id: def.id, title: def.title, kind: def.kind };
  let reposDone = 0;
  let reposTotal = 0;
  const started = Date.now();
  try {
    // Values CI recorded (`code-insights record`): read from the cache, nothing to compute.
    if (def.kind === 'external') {
      const series = await sharedCache(() => readExternalSeries([def], cacheFile()));
      const goals = withCheckVerdicts(goalStates(def, series));
      return { ...base, series, repos: [], decimals: def.decimals ?? 0, ...(def.unit !== undefined ? { unit: def.unit } : {}), ...(goals.length ? { goals } : {}) };
    }
    const res: ComputeResult = await sharedCache(() => runInsights(toComputeRequest(def, ws.folderPaths()), {
      signal,
      ...(settings.cacheFile ? { cacheFile: settings.cacheFile } : {}),
      onProgress: (p) => {
        reposDone = p.reposDone;
        reposTotal = p.reposTotal;
        const fraction = p.reposTotal ? p.reposDone / p.reposTotal : 0;
        progress(fraction, p.message ?? `${p.phase} (${p.reposDone}/${p.reposTotal} repositories)`);
      },
      onPartial: (partial) => {
        ws.setState(key, 'partial');
        void connection.sendNotification(PartialResultNotification.type, {
          result: { ...base, series: partial.series, languages: partial.languages, repos: partial.repos, partial: true },
          reposDone,
          reposTotal,
        });
      },
    }));
    log(`computed "${key}" in ${Date.now() - started} ms: ${res.stats.repos} repositories, ${res.stats.commitsSampled} commits, ${res.stats.blobsRead} blobs read`);
    for (const r of res.repos) if (r.error || r.warning) log(`  ${r.path}: ${r.error ?? r.warning}`);
    const goals = withCheckVerdicts(goalStates(def, res.series));
    return { ...base, series: res.series, ...(res.languages ? { languages: res.languages } : {}), repos: res.repos, stats: res.stats, ...(goals.length ? { goals } : {}) };
  } catch (err) {
    if (signal.aborted) return { ...base, series: [], repos: [], error: { code: 'ABORTED', message: 'cancelled' } };
    log(`computing "${key}" failed: ${describe(err)}`);
    const code = err instanceof InsightsError ? err.code : 'INTERNAL';
    const message = err instanceof InsightsError ? err.message : `internal error: ${(err as Error)?.message ?? String(err)} (see the log)`;
    return { ...base, series: [], repos: [], error: { code, message } };
  }
}

// ------------------------------------------------------------------------------- org sync
// Computing and syncing both load the whole cache file, change it in memory and write it back:
// a sync waits for running computations and computations wait for a running sync, so neither
// overwrites what the other wrote. (Computations may overlap each other, as before.)
let activeComputes = 0;
const computesIdle: (() => void)[] = [];
let exclusive: Promise<void> | undefined;

async function sharedCache<T>(fn: () => Promise<T>): Promise<T> {
  while (exclusive) await exclusive;
  activeComputes++;
  try {
    return await fn();
  } finally {
    if (--activeComputes === 0) computesIdle.splice(0).forEach((r) => r());
  }
}

async function exclusiveCache<T>(fn: () => Promise<T>): Promise<T> {
  while (exclusive) await exclusive;
  let release!: () => void;
  exclusive = new Promise((r) => (release = r));
  try {
    if (activeComputes > 0) await new Promise<void>((r) => computesIdle.push(r));
    return await fn();
  } finally {
    exclusive = undefined;
    release();
  }
}

const cacheFile = () => settings.cacheFile || defaultCacheFile();

// The token arrives in the request and is used for this request only: never stored, never logged.
connection.onRequest(VerifyOrgRequest.type, async ({ serverUrl, token }, cancel) => {
  const ac = new AbortController();
  cancel.onCancellationRequested(() => ac.abort());
  try {
    return await verifyOrg({ serverUrl, token }, ac.signal);
  } catch (err) {
    if (err instanceof PushAbortedError) throw new ResponseError(LSPErrorCodes.RequestCancelled, 'cancelled');
    throw userError(err);
  }
});

// Reads the file as last saved (saves are atomic renames), without waiting for a computation.
connection.onRequest(SyncStatusRequest.type, () => outboxStatus(cacheFile()));

connection.onRequest(SyncRequest.type, async (params, cancel) => {
  const ac = new AbortController();
  cancel.onCancellationRequested(() => ac.abort());
  let reporter: WorkDoneProgressReporter | undefined =
    params.workDoneToken !== undefined ? connection.window.attachWorkDoneProgress(params.workDoneToken) : undefined;
  if (!reporter && canCreateProgress) reporter = await connection.window.createWorkDoneProgress().catch(() => undefined);
  (reporter as { token?: CancellationToken } | undefined)?.token?.onCancellationRequested(() => ac.abort());
  reporter?.begin('Code Insights: sync', 0, 'waiting for running computations', true);
  const origin = (() => {
    try {
      return new URL(params.serverUrl).origin;
    } catch {
      return params.serverUrl;
    }
  })();
  try {
    const res = await exclusiveCache(() =>
      syncCacheFile(cacheFile(), { serverUrl: params.serverUrl, token: params.token }, {
        signal: ac.signal,
        onProgress: (p) => reporter?.report(p.total ? Math.floor((p.sent / p.total) * 100) : 0, p.message),
      }),
    );
    log(res.error ? `sync to ${origin}: ${res.error.code}: ${res.error.message}` : `sync to ${origin}: sent ${res.sent} points; ${res.pending} pending, ${res.failed} rejected`);
    return res;
  } catch (err) {
    if (err instanceof PushAbortedError || ac.signal.aborted) {
      log(`sync to ${origin} cancelled; unsent points stay queued`);
      throw new ResponseError(LSPErrorCodes.RequestCancelled, 'cancelled');
    }
    throw userError(err);
  } finally {
    reporter?.done();
  }
});

// ------------------------------------------------------------------------------- goals
// "Check Goals": `code-insights check` in a workspace folder's repository, through the same run
// layer and cache; each line that added matches to a broken series becomes a diagnostic.
let goalDiagnosticUris: string[] = [];
/** The last Check Goals' verdict of each series it did not find ok (a ratchet needs a base: only a check judges it). */
const checkVerdicts = new Map<string, { verdict: GoalVerdict; reasons: string[] }>();

/** Card goals with the last check's verdicts: the worse of the two, with both reasons. */
function withCheckVerdicts(goals: SeriesGoalState[]): SeriesGoalState[] {
  const rank = { ok: 0, warn: 1, broken: 2 } as const;
  return goals.map((g) => {
    const c = checkVerdicts.get(g.seriesId);
    if (!c) return g;
    return { ...g, verdict: rank[c.verdict] > rank[g.verdict] ? c.verdict : g.verdict, reasons: [...g.reasons, ...c.reasons.filter((r) => !g.reasons.includes(r)).map((r) => `Check Goals: ${r}`)] };
  });
}

/** After a check: its verdicts reach the stored results (and so the dashboard's cards). */
function rememberCheck(results: GoalCheckResult[], insights: LoadedInsight[]): void {
  for (const s of results.flatMap((r) => r.series)) checkVerdicts.delete(s.seriesId);
  for (const s of results.flatMap((r) => r.series)) {
    if (s.verdict === 'ok') continue;
    const had = checkVerdicts.get(s.seriesId);
    checkVerdicts.set(s.seriesId, { verdict: had?.verdict === 'broken' ? 'broken' : s.verdict, reasons: [...(had?.reasons ?? []), ...s.reasons] });
  }
  for (const i of insights) {
    const r = ws.result(i.key);
    if (!r) continue;
    const goals = withCheckVerdicts(goalStates(i.def, r.series));
    const { goals: _old, ...rest } = r;
    ws.setResult(goals.length ? { ...rest, goals } : rest);
  }
}

connection.onRequest(CheckGoalsRequest.type, async (params, cancel) => {
  if (!settings.trusted) throw refuse('untrusted', 'UNTRUSTED', 'Checking goals is disabled in a restricted workspace: it runs git on the repositories of this folder.');
  await reloads;
  const fromFolder = (f: WorkspaceFolderInfo) => ws.insights().filter((i) => i.source.uri === definitionsUri(f));
  const folder = params.folderUri !== undefined ? ws.getFolders().find((f) => f.uri === params.folderUri) : ws.getFolders().find((f) => fromFolder(f).some((i) => hasGoals(i.def)));
  if (!folder) throw refuse('user', 'NO_GOALS', params.folderUri !== undefined ? `${params.folderUri} is not a folder of this workspace` : 'No insight of this workspace sets a goal: add "goal": {"max": N} or {"ratchet": true} to an insight in .vscode/insights.json');
  const ac = new AbortController();
  cancel.onCancellationRequested(() => ac.abort());
  try {
    const defs = fromFolder(folder).map((i) => i.def);
    // The folder's own repository, else each working tree found in it (a folder of repositories).
    const inside = await runGitRaw(undefined, ['rev-parse', '--show-toplevel'], { cwd: folder.path, signal: ac.signal });
    const paths = inside.code === 0 ? [folder.path] : (await discoverRepos([folder.path], { signal: ac.signal })).filter((l) => !l.bare).map((l) => l.path);
    if (paths.length === 0) throw new InsightsError('NOT_A_REPO', `${folder.path} holds no git working tree to check`);
    const results: GoalCheckResult[] = [];
    for (const path of paths) {
      results.push(await sharedCache(() => checkGoals(path, defs, { base: params.base, signal: ac.signal, ...(settings.cacheFile ? { cacheFile: settings.cacheFile } : {}) })));
    }
    publishGoalDiagnostics(results);
    rememberCheck(results, fromFolder(folder));
    const broken = results.flatMap((r) => r.series).filter((x) => x.verdict === 'broken').length;
    log(`goals checked in ${folder.path}: ${broken} of ${results.flatMap((r) => r.series).length} broken`);
    return { results, failed: results.some((r) => r.failed), text: results.map((r) => `${r.path}\n${checkText(r)}`).join('\n') };
  } catch (err) {
    if (ac.signal.aborted) throw new ResponseError(LSPErrorCodes.RequestCancelled, 'cancelled');
    throw userError(err);
  }
});

// Ratchets as you type: the client sends an open file's text (debounced); lines that add matches
// of a ratchet series beyond the base's count in that file come back as marks.
connection.onRequest(WorkingTreeGoalsRequest.type, async ({ uri, text }, cancel) => {
  if (!settings.trusted || !uri.startsWith('file:') || isDefinitionsUri(uri)) return { marks: [], active: settings.trusted };
  await reloads;
  let file: string;
  try {
    file = fileURLToPath(uri);
  } catch {
    return { marks: [], active: true };
  }
  const folder = ws.getFolders().filter((f) => file.startsWith(f.path.endsWith('/') ? f.path : `${f.path}/`)).sort((a, b) => b.path.length - a.path.length)[0];
  const defs = folder ? ratchetInsights(ws.insights().filter((i) => i.source.uri === definitionsUri(folder)).map((i) => i.def)) : [];
  if (defs.length === 0) return { marks: [], active: false };
  const ac = new AbortController();
  cancel.onCancellationRequested(() => ac.abort());
  try {
    return { marks: await workingTreeMarks(file, text, defs, ac.signal), active: true };
  } catch (err) {
    if (ac.signal.aborted) throw new ResponseError(LSPErrorCodes.RequestCancelled, 'cancelled');
    throw userError(err);
  }
});

function publishGoalDiagnostics(results: GoalCheckResult[]): void {
  const byUri = new Map<string, Diagnostic[]>();
  for (const result of results) for (const s of result.series) {
    if (s.verdict !== 'broken') continue;
    for (const c of s.culprits ?? []) {
      if (!c.line || c.path.endsWith('.vscode/insights.json')) continue; // that file's diagnostics are the definitions'
      const uri = pathToFileURL(join(result.path, c.path)).href;
      const list = byUri.get(uri) ?? [];
      list.push({
        range: { start: { line: c.line - 1, character: 0 }, end: { line: c.line - 1, character: 10_000 } },
        message: `${s.insightTitle} / ${s.label}: this line adds ${c.delta}; ${s.reasons.join('; ')}`,
        code: 'GOAL_BROKEN',
        severity: DiagnosticSeverity.Warning,
        source: 'code-insights goals',
      });
      byUri.set(uri, list);
    }
  }
  for (const uri of goalDiagnosticUris) if (!byUri.has(uri)) void connection.sendDiagnostics({ uri, diagnostics: [] });
  for (const [uri, diagnostics] of byUri) void connection.sendDiagnostics({ uri, diagnostics });
  goalDiagnosticUris = [...byUri.keys()];
}

function userError(err: unknown): ResponseError<InsightsErrorData> {
  if (err instanceof InsightsError) return refuse('user', err.code, err.message);
  log(`internal error: ${describe(err)}`);
  return refuse('user', 'INTERNAL', `internal error: ${(err as Error)?.message ?? String(err)}`);
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.message}${err instanceof InsightsError ? '' : `\n${err.stack ?? ''}`}` : String(err);
}

documents.listen(connection);
connection.listen();
