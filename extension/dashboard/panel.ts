// The dashboard's webview panel host: serves dist/webview.js under a strict CSP with a nonce,
// validates every message both ways (protocol/webview.ts), turns server results into cards,
// keeps named dashboards and card order, and restores after a window reload showing cached
// cards at once, then fresh ones. It forwards; counting and git stay in the server.
import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { escapeRegExp } from '../../protocol/insights';
import { insightsErrorData, type InsightResult, type InsightSummary } from '../../protocol/lsp';
import {
  ProtocolError,
  validateHostMessage,
  validateViewMessage,
  type HostMessage,
  type InsightCard,
  type RepoFilter,
  type RequestHandlers,
  type RequestMessage,
  type ThemeKind,
  type ViewMessage,
  type ViewRequestMethod,
} from '../../protocol/webview';
import { staleCard, toCard, type CardProgress } from './cards';
import { ALL, layoutOf, readDashboards, saveOrder, type NamedDashboard } from './layout';
import { sourceFromService, type DashboardSource, type InsightsServiceLike } from './source';

export type { DashboardSource, DrillDownQuery, SeriesQuery } from './source';
export { sourceFromService } from './source';

export const VIEW_TYPE = 'codeInsights.dashboard';
const CACHE_KEY = 'codeInsights.dashboard.cache';
const ACTIVE_KEY = 'codeInsights.dashboard.active';
const FILTER_KEY = 'codeInsights.dashboard.filter';
/** Larger caches are not kept: restoring them would cost more than recomputing the view. */
const MAX_CACHE_CHARS = 4 << 20;

function themeKind(): ThemeKind {
  switch (vscode.window.activeColorTheme.kind) {
    case vscode.ColorThemeKind.Light: return 'light';
    case vscode.ColorThemeKind.HighContrast: return 'high-contrast';
    case vscode.ColorThemeKind.HighContrastLight: return 'high-contrast-light';
    default: return 'dark';
  }
}

export function dashboardHtml(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  const nonce = randomBytes(18).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.js'));
  // Controls and charts style themselves through constructed stylesheets, which need no
  // 'unsafe-inline'; nothing loads from anywhere but the extension's dist/ folder.
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${webview.cspSource} 'nonce-${nonce}'`,
    `img-src ${webview.cspSource} data: blob:`,
    `font-src ${webview.cspSource}`,
    "connect-src 'none'",
    "frame-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Code Insights</title>
</head>
<body>
<main id="code-insights-dashboard" aria-label="Code Insights dashboard"></main>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return {
    enableScripts: true,
    enableCommandUris: false,
    enableFindWidget: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist')],
  };
}

class DashboardPanel implements vscode.Disposable {
  static current: DashboardPanel | undefined;
  private summaries: readonly InsightSummary[] = [];
  private results = new Map<string, InsightResult | null>();
  /** The last complete (not partial) result of each insight. */
  private complete = new Map<string, InsightResult>();
  private progress = new Map<string, CardProgress>();
  private computedAt = new Map<string, string>();
  private dashboards: NamedDashboard[] = [{ id: ALL, title: 'All insights', keys: [] }];
  private active: string;
  private readonly disposables: vscode.Disposable[] = [];
  private cacheTimer: NodeJS.Timeout | undefined;
  private loaded = false;
  /** The newest insight list that arrived while load() ran (applied once it is done). */
  private listDuringLoad: readonly InsightSummary[] | undefined;

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly context: vscode.ExtensionContext,
    private readonly source: DashboardSource,
    private readonly log?: vscode.LogOutputChannel,
  ) {
    DashboardPanel.current = this;
    this.active = context.workspaceState.get<string>(ACTIVE_KEY, ALL);
    panel.webview.options = webviewOptions(context.extensionUri);
    panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'extension', 'media', 'insights.svg');
    this.disposables.push(
      panel.webview.onDidReceiveMessage((raw) => void this.receive(raw)),
      panel.onDidDispose(() => this.dispose()),
      vscode.window.onDidChangeActiveColorTheme(() => this.post({ type: 'theme', theme: themeKind() })),
      source.onResult((r, p) => this.onResult(r, p)),
      source.onDidChangeInsights((list) => void this.onInsights(list)),
    );
    this.watchRepositories();
    panel.webview.html = dashboardHtml(panel.webview, context.extensionUri);
  }

  /**
   * Live: a commit, pull or checkout moves HEAD or a ref; recompute then. History comes from the
   * engine's cache, so only the newest point and any new bucket cost anything.
   */
  private watchRepositories(): void {
    let timer: NodeJS.Timeout | undefined;
    const changed = () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = undefined;
        if (!vscode.workspace.isTrusted) return;
        void this.source.refresh().then(undefined, (e: unknown) => this.warn(`refresh after a repository change failed: ${e instanceof Error ? e.message : String(e)}`));
      }, 1500);
    };
    for (const glob of ['**/.git/HEAD', '**/.git/refs/**', '**/.git/packed-refs']) {
      const w = vscode.workspace.createFileSystemWatcher(glob);
      this.disposables.push(w, w.onDidChange(changed), w.onDidCreate(changed), w.onDidDelete(changed));
    }
    this.disposables.push({ dispose: () => timer && clearTimeout(timer) });
  }

  reveal(): void {
    this.panel.reveal(undefined, false);
  }

  private warn(text: string): void {
    this.log?.warn(`dashboard: ${text}`);
  }

  /** Validates before sending: the app would refuse it anyway, and the log says why here. */
  private post(m: HostMessage): void {
    try {
      validateHostMessage(m);
    } catch (e) {
      this.warn(`not sent (${(e as Error).message})`);
      // The app waits for an answer to each request: a result it would refuse becomes an error.
      if (m.type === 'response' && 'result' in m) this.post({ type: 'response', id: m.id, method: m.method, error: { code: 'BAD_DATA', message: `the answer could not be shown: ${(e as Error).message}` } });
      if (m.type === 'card') this.post({ type: 'card', card: { key: m.card.key, title: m.card.title, kind: m.card.kind, state: 'failed', series: [], missing: [], error: { code: 'BAD_DATA', message: `the result could not be shown: ${(e as Error).message}` } } });
      return;
    }
    void this.panel.webview.postMessage(m);
  }

  private async receive(raw: unknown): Promise<void> {
    let m: ViewMessage;
    try {
      m = validateViewMessage(raw);
    } catch (e) {
      this.warn(`ignored a message from the webview: ${e instanceof ProtocolError ? e.message : String(e)}`);
      return;
    }
    try {
      await this.handle(m);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.log?.error(`dashboard ${m.type === 'request' ? m.method : m.type}: ${message}`);
      if (m.type === 'request') {
        this.post({ type: 'response', id: m.id, method: m.method, error: { code: errorCode(e) ?? REQUEST_FAILED[m.method], message } });
      } else if (m.type === 'export') {
        this.post({ type: 'exportDone', key: m.key, ok: false, message: `Export failed: ${message}` });
      } else {
        void vscode.window.showErrorMessage(`Code Insights: ${message}`);
      }
    }
  }

  private async handle(m: ViewMessage): Promise<void> {
    switch (m.type) {
      case 'ready':
        this.sendCached();
        await this.load();
        return;
      case 'refresh':
        await this.source.refresh(m.keys);
        return;
      case 'selectDashboard':
        if (!this.dashboards.some((d) => d.id === m.dashboard)) return;
        this.active = m.dashboard;
        await this.context.workspaceState.update(ACTIVE_KEY, m.dashboard);
        this.post({ type: 'layout', layout: layoutOf(this.dashboards, this.active) });
        return;
      case 'reorder': {
        const d = this.dashboards.find((x) => x.id === m.dashboard);
        if (!d) return;
        const known = m.order.filter((k) => this.summaries.some((s) => s.key === k));
        await saveOrder(this.context, d, known, this.summaries);
        d.keys = known;
        return;
      }
      case 'filter':
        await this.context.workspaceState.update(FILTER_KEY, m.filter);
        return;
      case 'request':
        await this.answer(m);
        return;
      case 'openFile':
        await this.openAtRevision(m);
        return;
      case 'export':
        await this.saveExport(m);
        return;
    }
  }

  /** How this host answers each request of the app. */
  private readonly requestHandlers: RequestHandlers = {
    drillDown: async (q) => {
      if (!this.source.drillDown) throw Object.assign(new Error('drill-down is not available with this server'), { code: 'UNSUPPORTED' });
      return this.source.drillDown({ key: q.key, seriesId: q.seriesId, repo: q.repo, commit: q.commit, ...(q.previousCommit ? { previousCommit: q.previousCommit } : {}) });
    },
  };

  /** Answers a request with its result; a failure reaches receive(), which answers with the error. */
  private async answer<K extends ViewRequestMethod>(m: RequestMessage<K>): Promise<void> {
    const handler = this.requestHandlers[m.method] as RequestHandlers[K];
    const result = await handler(m.params);
    this.post({ type: 'response', id: m.id, method: m.method, result } as HostMessage);
  }

  // ------------------------------------------------------------------------------ data flow

  private setResult(key: string, r: InsightResult | null): void {
    this.results.set(key, r);
    if (r && !r.partial) this.complete.set(key, r);
  }

  private cardOf(s: InsightSummary): InsightCard {
    const r = this.results.get(s.key);
    const p = this.progress.get(s.key);
    const prev = this.complete.get(s.key);
    // A recompute (a new commit, a refresh) keeps showing the complete numbers until the new
    // ones are complete: the chart never dips to the sum of the repositories done so far.
    if (r?.partial && prev) {
      const c = toCard(s, prev, undefined, this.computedAt.get(s.key));
      return { ...c, state: 'computing', ...(p ? { progress: p } : {}) };
    }
    return toCard(s, r, p, this.computedAt.get(s.key));
  }

  private cards(): InsightCard[] {
    return this.summaries.map((s) => this.cardOf(s));
  }

  private sendCached(): void {
    const cached = this.context.workspaceState.get<{ cards: unknown[] }>(CACHE_KEY);
    if (!cached || !Array.isArray(cached.cards) || this.loaded) return;
    // The cache is validated like any message: a cache from an older version is simply not shown.
    try {
      const msg = validateHostMessage({
        type: 'dashboard',
        layout: { dashboards: [{ id: ALL, title: 'All insights' }], active: ALL, order: (cached.cards as InsightCard[]).map((c) => c.key) },
        cards: (cached.cards as InsightCard[]).map(staleCard),
        theme: themeKind(),
        capabilities: this.capabilities(),
        filter: this.filter(),
      });
      void this.panel.webview.postMessage(msg);
    } catch (e) {
      this.warn(`cached dashboard not shown: ${(e as Error).message}`);
    }
  }

  private capabilities() {
    return { drillDown: !!this.source.drillDown, openFile: true, reorder: true, saveExport: true };
  }

  private filter(): RepoFilter {
    const f = this.context.workspaceState.get<RepoFilter>(FILTER_KEY);
    return f && typeof f.include === 'string' && typeof f.exclude === 'string' ? { include: f.include, exclude: f.exclude } : { include: '', exclude: '' };
  }

  private async load(): Promise<void> {
    this.summaries = await this.source.list();
    const results = await Promise.all(this.summaries.map(async (s) => [s.key, await this.source.result(s.key)] as const));
    for (const [k, r] of results) {
      this.setResult(k, r);
      if (r && !this.computedAt.has(k)) this.computedAt.set(k, new Date().toISOString());
    }
    this.dashboards = await readDashboards(this.context, this.summaries);
    if (!this.dashboards.some((d) => d.id === this.active)) this.active = ALL;
    this.loaded = true;
    this.post({ type: 'dashboard', layout: layoutOf(this.dashboards, this.active), cards: this.cards(), theme: themeKind(), capabilities: this.capabilities(), filter: this.filter() });
    this.scheduleCache();
    // A computation that ended while the list and results above were read (its state change
    // came between them and here) would leave a card on the partial result read: apply it now.
    const during = this.listDuringLoad;
    this.listDuringLoad = undefined;
    if (during) await this.onInsights(during);
  }

  private onResult(r: InsightResult, p?: CardProgress): void {
    this.setResult(r.key, r);
    if (p && r.partial) this.progress.set(r.key, p);
    else this.progress.delete(r.key);
    this.computedAt.set(r.key, new Date().toISOString());
    const s = this.summaries.find((x) => x.key === r.key);
    if (!s || !this.loaded) return;
    this.post({ type: 'card', card: this.cardOf(s) });
    this.scheduleCache();
  }

  private async onInsights(list: readonly InsightSummary[]): Promise<void> {
    if (!this.loaded) {
      this.listDuringLoad = list;
      return;
    }
    const before = new Set(this.summaries.map((s) => s.key));
    this.summaries = list;
    for (const k of before) {
      if (!list.some((s) => s.key === k)) {
        this.results.delete(k);
        this.complete.delete(k);
        this.post({ type: 'cardRemoved', key: k });
      }
    }
    for (const s of list) {
      // A computation the server ran on its own (start, definitions edited) ends with a state
      // change, not a result: fetch the finished result then.
      const r = this.results.get(s.key);
      if (!before.has(s.key) || (s.state !== 'computing' && (!r || r.partial || this.progress.has(s.key)))) {
        this.setResult(s.key, await this.source.result(s.key));
        this.progress.delete(s.key);
        this.computedAt.set(s.key, new Date().toISOString());
      }
      this.post({ type: 'card', card: this.cardOf(s) });
    }
    this.dashboards = await readDashboards(this.context, this.summaries);
    if (!this.dashboards.some((d) => d.id === this.active)) this.active = ALL;
    this.post({ type: 'layout', layout: layoutOf(this.dashboards, this.active) });
    this.scheduleCache();
  }

  private scheduleCache(): void {
    if (this.cacheTimer) clearTimeout(this.cacheTimer);
    this.cacheTimer = setTimeout(() => {
      const cards = this.cards().filter((c) => c.state !== 'computing');
      const text = JSON.stringify(cards);
      void this.context.workspaceState.update(CACHE_KEY, text.length <= MAX_CACHE_CHARS ? { cards } : undefined);
    }, 1000);
  }

  // ------------------------------------------------------------------------ files and export

  private repoPath(repo: string): string | undefined {
    for (const r of this.results.values()) {
      const hit = r?.repos.find((x) => x.repo === repo);
      if (hit) return hit.path;
    }
    return undefined;
  }

  private async openAtRevision(m: Extract<ViewMessage, { type: 'openFile' }>): Promise<void> {
    const root = this.repoPath(m.repo);
    if (!root) throw new Error(`the folder of repository ${m.repo} is not known; refresh the dashboard`);
    const gitExt = vscode.extensions.getExtension<{ getAPI(v: 1): { toGitUri(uri: vscode.Uri, ref: string): vscode.Uri } }>('vscode.git');
    if (!gitExt) throw new Error('opening a file at a revision needs VS Code\'s built-in Git extension, which is disabled');
    const api = (gitExt.isActive ? gitExt.exports : await gitExt.activate()).getAPI(1);
    // git: documents are read-only: the file as it was at that commit.
    const uri = api.toGitUri(vscode.Uri.file(join(root, ...m.path.split('/'))), m.commit);
    const editor = await vscode.window.showTextDocument(uri, { preview: true, viewColumn: vscode.ViewColumn.Beside });
    const q = (await this.source.seriesQuery?.(m.key, m.seriesId)) ?? this.queryFromCard(m.key, m.seriesId);
    if (q) highlight(editor, q);
  }

  private queryFromCard(key: string, seriesId: string): { query: string; literal: boolean; ignoreCase: boolean } | undefined {
    const s = this.results.get(key)?.series.find((x) => x.id === seriesId);
    return s ? { query: s.query, literal: false, ignoreCase: false } : undefined;
  }

  private async saveExport(m: Extract<ViewMessage, { type: 'export' }>): Promise<void> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const filters: Record<string, string[]> = { csv: { CSV: ['csv'] }, json: { JSON: ['json'] }, png: { 'PNG image': ['png'] } }[m.format];
    const target = await vscode.window.showSaveDialog({ defaultUri: folder ? vscode.Uri.joinPath(folder, m.filename) : undefined, filters, saveLabel: 'Export' });
    if (!target) {
      this.post({ type: 'exportDone', key: m.key, ok: false, message: 'Export cancelled.' });
      return;
    }
    let bytes: Uint8Array;
    if (m.format === 'png') {
      const prefix = 'data:image/png;base64,';
      if (!m.content.startsWith(prefix)) throw new Error('the chart image is not a PNG');
      bytes = Buffer.from(m.content.slice(prefix.length), 'base64');
    } else bytes = new TextEncoder().encode(m.content);
    await vscode.workspace.fs.writeFile(target, bytes);
    this.post({ type: 'exportDone', key: m.key, ok: true, message: `Saved ${target.fsPath}` });
  }

  dispose(): void {
    if (DashboardPanel.current === this) DashboardPanel.current = undefined;
    if (this.cacheTimer) clearTimeout(this.cacheTimer);
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

/** The code of a failed request when none says otherwise. */
const REQUEST_FAILED: Record<ViewRequestMethod, string> = { drillDown: 'DRILL_DOWN_FAILED' };

/** The code of a user-facing error: the typed data of the server's ResponseError, or an error's own string code. */
function errorCode(e: unknown): string | undefined {
  const data = insightsErrorData(e);
  if (data) return data.code;
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

let matchDecoration: vscode.TextEditorDecorationType | undefined;
const decorationOptions: vscode.DecorationRenderOptions = {
  backgroundColor: new vscode.ThemeColor('editor.findMatchHighlightBackground'),
  borderColor: new vscode.ThemeColor('editor.findMatchHighlightBorder'),
  borderStyle: 'solid',
  borderWidth: '1px',
  overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.findMatchForeground'),
  overviewRulerLane: vscode.OverviewRulerLane.Center,
};

/** Highlights the series' matches, line by line as the engine counts them. */
function highlight(editor: vscode.TextEditor, q: { query: string; literal: boolean; ignoreCase: boolean }): void {
  let re: RegExp;
  try {
    const src = q.literal ? escapeRegExp(q.query) : q.query;
    re = new RegExp(src, q.ignoreCase ? 'gi' : 'g');
  } catch {
    return;
  }
  const ranges: vscode.Range[] = [];
  const doc = editor.document;
  for (let i = 0; i < doc.lineCount && ranges.length < 10_000; i++) {
    const text = doc.lineAt(i).text;
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      if (m[0].length === 0) {
        re.lastIndex++;
        if (re.lastIndex > text.length) break;
        continue;
      }
      ranges.push(new vscode.Range(i, m.index, i, m.index + m[0].length));
    }
  }
  matchDecoration ??= vscode.window.createTextEditorDecorationType(decorationOptions);
  editor.setDecorations(matchDecoration, ranges);
  if (ranges[0]) editor.revealRange(ranges[0], vscode.TextEditorRevealType.InCenterIfOutsideViewport);
}

/** What extension/commands.ts passes today: the service rather than a DashboardSource. */
interface LegacyDeps {
  context: vscode.ExtensionContext;
  service: InsightsServiceLike;
  log?: vscode.LogOutputChannel;
}

/**
 * Opens (or reveals) the dashboard. `openDashboard(context, source)` is the API; the call
 * `openDashboard({ context, service, log }, insight?)` that extension/commands.ts makes is
 * accepted as well.
 */
export function openDashboard(context: vscode.ExtensionContext, source: DashboardSource, log?: vscode.LogOutputChannel): void;
export function openDashboard(deps: LegacyDeps, insight?: InsightSummary): void;
export function openDashboard(a: vscode.ExtensionContext | LegacyDeps, b?: DashboardSource | InsightSummary, log?: vscode.LogOutputChannel): void {
  let context: vscode.ExtensionContext;
  let source: DashboardSource;
  if ('service' in a) {
    context = a.context;
    source = sourceFromService(a.service);
    log = a.log;
  } else {
    context = a;
    source = b as DashboardSource;
  }
  if (DashboardPanel.current) {
    DashboardPanel.current.reveal();
    return;
  }
  const panel = vscode.window.createWebviewPanel(VIEW_TYPE, 'Code Insights', vscode.ViewColumn.Active, webviewOptions(context.extensionUri));
  new DashboardPanel(panel, context, source, log);
}

/**
 * Restores the dashboard after a window reload (call once in activate; package.json needs the
 * activation event `onWebviewPanel:codeInsights.dashboard`).
 */
export function registerDashboardSerializer(context: vscode.ExtensionContext, source: DashboardSource | InsightsServiceLike, log?: vscode.LogOutputChannel): vscode.Disposable {
  const src: DashboardSource = 'series' in source ? sourceFromService(source) : source;
  return vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, {
    async deserializeWebviewPanel(panel: vscode.WebviewPanel) {
      new DashboardPanel(panel, context, src, log);
    },
  });
}
