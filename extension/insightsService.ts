// The extension's side of the insights server: starts it with vscode-languageclient over IPC,
// restarts it when it dies (telling the user once), and offers typed calls and events to the
// commands, the tree, the status bar and the dashboard. It forwards; it never computes.
import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  ResponseError,
  TransportKind,
  WorkDoneProgress,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import type { InsightDefinition } from '../protocol/insights';
import type { DrillDownQuery, DrillDownResult } from '../protocol/webview';
import { redactingChannel } from './redact';
import {
  CancelComputeRequest,
  ComputeInsightsRequest,
  DrillDownRequest,
  EditDefinitionsRequest,
  ExportInsightRequest,
  GetSeriesRequest,
  InsightsChangedNotification,
  ListInsightsRequest,
  PartialResultNotification,
  SeriesQueryRequest,
  SettingsNotification,
  SyncRequest,
  type TextChange,
  SyncStatusRequest,
  VerifyOrgRequest,
  type ExportFormat,
  type OrgConnection,
  type SyncResult,
  type SyncStatus,
  type SeriesQuery,
  type InsightResult,
  CheckGoalsRequest,
  type CheckGoalsResult,
  WorkingTreeGoalsRequest,
  type WorkingTreeGoalsResult,
  type InsightSummary,
  type PartialResultParams,
  type ServerSettings,
  type VerifyOrgResult,
} from '../protocol/lsp';

export type PartialResult = PartialResultParams;

/** Restarts allowed within RESTART_WINDOW_MS before the client gives up (a server that dies at start). */
const MAX_RESTARTS = 4;
const RESTART_WINDOW_MS = 3 * 60_000;

export class InsightsService implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<void> | undefined;
  private summaries: InsightSummary[] = [];
  private readonly changed = new vscode.EventEmitter<InsightSummary[]>();
  private readonly partial = new vscode.EventEmitter<PartialResult>();
  private readonly computed = new vscode.EventEmitter<InsightResult[]>();
  private readonly disposables: vscode.Disposable[] = [this.changed, this.partial, this.computed];
  private restarts: number[] = [];
  private toldAboutCrash = false;

  /** The insight list changed (definitions edited, states or latest values changed). */
  readonly onDidChangeInsights = this.changed.event;
  /** A repository finished while an insight is computing: the series so far. */
  readonly onPartialResult = this.partial.event;
  /** A compute request finished with these results. */
  readonly onDidCompute = this.computed.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    readonly log: vscode.LogOutputChannel,
  ) {}

  get insights(): readonly InsightSummary[] {
    return this.summaries;
  }

  /** Starts the server once; later calls wait for the same start. */
  start(): Promise<void> {
    this.starting ??= this.doStart();
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const module = this.context.asAbsolutePath('dist/server.js');
    const serverOptions: ServerOptions = {
      run: { module, transport: TransportKind.ipc },
      debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6019'] } },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: 'file', pattern: '**/.vscode/insights.json' }],
      synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher('**/.vscode/insights.json') },
      // The org token crosses the connection inside sync requests: whatever the client traces
      // (message tracing at log level Trace) passes through a filter that blanks it out.
      outputChannel: redactingChannel(this.log),
      initializationOptions: this.settings(),
      diagnosticCollectionName: 'code-insights',
      errorHandler: {
        error: () => ({ action: ErrorAction.Continue }),
        closed: () => this.onServerClosed(),
      },
    };
    const client = new LanguageClient('codeInsights', 'Code Insights', serverOptions, clientOptions);
    this.client = client;
    client.onNotification(InsightsChangedNotification.type, ({ insights }) => this.setSummaries(insights));
    client.onNotification(PartialResultNotification.type, (p) => this.partial.fire(p));
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('codeInsights')) void this.sendSettings();
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => void this.sendSettings()),
    );
    await client.start();
    this.setSummaries((await client.sendRequest(ListInsightsRequest.type, {})).insights);
  }

  /** The server died: restart it, and say so once per session rather than at every crash. */
  private onServerClosed() {
    const now = Date.now();
    this.restarts = [...this.restarts.filter((t) => now - t < RESTART_WINDOW_MS), now];
    if (this.restarts.length > MAX_RESTARTS) {
      this.log.error(`the insights server stopped ${this.restarts.length} times in ${RESTART_WINDOW_MS / 60000} minutes; not restarting it`);
      return { action: CloseAction.DoNotRestart, message: 'The Code Insights server keeps stopping and will not be restarted. Run "Code Insights: Show Log" for details, then reload the window.' };
    }
    this.log.warn('the insights server stopped unexpectedly; restarting it');
    if (!this.toldAboutCrash) {
      this.toldAboutCrash = true;
      void vscode.window.showWarningMessage('The Code Insights server stopped unexpectedly and was restarted. Results computed before are recomputed on demand.', 'Show Log').then((choice) => {
        if (choice) this.log.show();
      });
    }
    return { action: CloseAction.Restart, handled: true };
  }

  private settings(): ServerSettings {
    const cfg = vscode.workspace.getConfiguration('codeInsights');
    return {
      insights: cfg.get<unknown[]>('insights', []),
      autoCompute: cfg.get<boolean>('autoCompute', true),
      cacheFile: cfg.get<string>('cacheFile', '') || undefined,
      trusted: vscode.workspace.isTrusted,
    };
  }

  private async sendSettings(): Promise<void> {
    await this.start();
    await this.client!.sendNotification(SettingsNotification.type, this.settings());
  }

  private setSummaries(list: InsightSummary[]): void {
    this.summaries = list;
    this.changed.fire(list);
  }

  private async ready(): Promise<LanguageClient> {
    await this.start();
    return this.client!;
  }

  async list(): Promise<InsightSummary[]> {
    const { insights } = await (await this.ready()).sendRequest(ListInsightsRequest.type, {});
    this.setSummaries(insights);
    return insights;
  }

  /**
   * Computes insights (all when `keys` is absent) with a cancellable progress notification; the
   * server's work-done progress fills it in. Resolves undefined when the user cancelled.
   */
  async compute(keys?: string[]): Promise<InsightResult[] | undefined> {
    const results = await this.withServerProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Code Insights' },
      'computation cancelled',
      async (client, workDoneToken, cancel) => (await client.sendRequest(ComputeInsightsRequest.type, { ...(keys ? { keys } : {}), workDoneToken }, cancel)).results,
    );
    if (results) this.computed.fire(results);
    return results;
  }

  /**
   * Runs one server request under a cancellable progress that the server's work-done progress
   * fills in. Resolves undefined (and logs `cancelledMessage`) when the user cancelled.
   */
  private async withServerProgress<T>(
    where: { location: vscode.ProgressLocation; title: string },
    cancelledMessage: string,
    send: (client: LanguageClient, workDoneToken: string, cancel: vscode.CancellationToken) => Promise<T>,
  ): Promise<T | undefined> {
    const client = await this.ready();
    const token = `code-insights-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    return vscode.window.withProgress({ ...where, cancellable: true }, async (progress, cancel) => {
      let last = 0;
      const sub = client.onProgress(WorkDoneProgress.type, token, (v) => {
        if (v.kind === 'end') return;
        const pct = v.percentage ?? last;
        progress.report({ message: v.message, increment: Math.max(0, pct - last) });
        last = pct;
      });
      try {
        return await send(client, token, cancel);
      } catch (err) {
        if (cancel.isCancellationRequested) {
          this.log.info(cancelledMessage);
          return undefined;
        }
        throw err;
      } finally {
        sub.dispose();
      }
    });
  }

  async cancel(): Promise<number> {
    return (await (await this.ready()).sendRequest(CancelComputeRequest.type, {})).cancelled;
  }

  async series(key: string): Promise<InsightResult | null> {
    return (await this.ready()).sendRequest(GetSeriesRequest.type, { key });
  }

  async drillDown(q: DrillDownQuery): Promise<DrillDownResult> {
    return (await this.ready()).sendRequest(DrillDownRequest.type, q);
  }

  async seriesQuery(key: string, seriesId: string): Promise<SeriesQuery | undefined> {
    return (await (await this.ready()).sendRequest(SeriesQueryRequest.type, { key, seriesId })) ?? undefined;
  }

  async exportText(key: string, format: ExportFormat): Promise<string> {
    return (await (await this.ready()).sendRequest(ExportInsightRequest.type, { key, format })).text;
  }

  /**
   * Adds or removes an insight in a folder's definitions file. The server computes the change
   * (keeping comments and layout) on the very text this side holds. A file with unsaved edits in
   * an editor gets the change as an undoable edit in that editor, saved with them; otherwise the
   * file is written, and an editor showing it reloads it (also undoable there). Never half done:
   * a refused save or a file changed meanwhile throws with what to do.
   */
  async editDefinitions(folder: vscode.Uri, change: { add?: InsightDefinition; remove?: string }): Promise<vscode.Uri> {
    const client = await this.ready();
    const uri = vscode.Uri.joinPath(folder, '.vscode', 'insights.json');
    const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (open?.isDirty) {
      const version = open.version;
      const r = await client.sendRequest(EditDefinitionsRequest.type, { folderUri: folder.toString(), ...change, text: open.getText() });
      if (open.version !== version) throw new Error(`${uri.fsPath} changed while the edit was prepared; try again`);
      const edit = new vscode.WorkspaceEdit();
      for (const c of r.changes) edit.replace(uri, new vscode.Range(open.positionAt(c.offset), open.positionAt(c.offset + c.length)), c.content);
      if (!(await vscode.workspace.applyEdit(edit))) throw new Error(`could not edit ${uri.fsPath}`);
      // Said, not swallowed: an unsaved change would leave the file as it was on disk.
      if (!(await open.save())) throw new Error(`could not save ${uri.fsPath} (is it changed on disk? save or revert it, then try again)`);
      return uri;
    }
    const before = await readText(uri);
    const r = await client.sendRequest(EditDefinitionsRequest.type, { folderUri: folder.toString(), ...change, ...(before === undefined ? {} : { text: before }) });
    const after = r.create ? r.changes[0]!.content : applyChanges(before ?? '', r.changes);
    if ((await readText(uri)) !== before) throw new Error(`${uri.fsPath} changed on disk while the edit was prepared; try again`);
    await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(after));
    // Opening it sends didOpen to the server at once: a file watcher on a folder that did not
    // exist a moment ago may report the new file late, or not at all.
    if (r.create) await vscode.workspace.openTextDocument(uri);
    return uri;
  }

  /** Asks the server to prove the URL is an org service that accepts this write token. */
  async verifyOrg(conn: OrgConnection): Promise<VerifyOrgResult> {
    return (await this.ready()).sendRequest(VerifyOrgRequest.type, conn);
  }

  /**
   * Sends the outbox (the server does it; the extension never touches the cache), with a
   * cancellable progress in `location`. Resolves undefined when the user cancelled.
   */
  async sync(conn: OrgConnection, location: vscode.ProgressLocation): Promise<SyncResult | undefined> {
    return this.withServerProgress({ location, title: 'Code Insights: syncing' }, 'sync cancelled; unsent points stay queued', (client, workDoneToken, cancel) =>
      client.sendRequest(SyncRequest.type, { ...conn, workDoneToken }, cancel),
    );
  }

  /** Runs `code-insights check` in the insights server (folder: a workspace folder's URI), with a cancellable progress. */
  async checkGoals(folderUri?: string, base?: string): Promise<CheckGoalsResult | undefined> {
    return this.withServerProgress({ location: vscode.ProgressLocation.Notification, title: 'Code Insights: checking goals' }, 'goal check cancelled', (client, _token, cancel) =>
      client.sendRequest(CheckGoalsRequest.type, { ...(folderUri ? { folderUri } : {}), ...(base ? { base } : {}) }, cancel),
    );
  }

  /** Fetches these insights' results again and passes them to whoever shows results (after a check changed their goals' verdicts). */
  async refreshResults(keys: string[]): Promise<void> {
    const results = (await Promise.all(keys.map((k) => this.series(k)))).filter((r): r is InsightResult => r !== null);
    if (results.length) this.computed.fire(results);
  }

  /** The lines of a document's text that break a ratchet (the server compares with the base). */
  async workingTreeGoals(uri: string, text: string, cancel?: vscode.CancellationToken): Promise<WorkingTreeGoalsResult> {
    return (await this.ready()).sendRequest(WorkingTreeGoalsRequest.type, { uri, text }, cancel);
  }

  async syncStatus(): Promise<SyncStatus> {
    return (await this.ready()).sendRequest(SyncStatusRequest.type, {});
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    void this.client?.stop();
  }
}

/** The message to show for a failed request: the server's own words, never a stack trace. */
export function errorMessage(err: unknown): string {
  if (err instanceof ResponseError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

/** A file's text, or undefined when it does not exist. */
async function readText(uri: vscode.Uri): Promise<string | undefined> {
  try {
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(await vscode.workspace.fs.readFile(uri));
  } catch (err) {
    if (err instanceof vscode.FileSystemError && err.code === 'FileNotFound') return undefined;
    throw err;
  }
}

/** `text` with non-overlapping changes (offsets into `text`) applied. */
export function applyChanges(text: string, changes: readonly TextChange[]): string {
  return [...changes].sort((a, b) => b.offset - a.offset).reduce((acc, c) => acc.slice(0, c.offset) + c.content + acc.slice(c.offset + c.length), text);
}
