// Connecting to the org service and syncing to it from the editor: "Connect to Org Server"
// (URL, then a write token, checked by the server before anything is saved), "Disconnect from
// Org Server" and "Sync Now", and the sync state in a status bar item. The token lives in
// SecretStorage and travels only to the insights server, inside the sync requests; the URL is
// the setting codeInsights.org.serverUrl. The server does the HTTP and the outbox.
import * as vscode from 'vscode';
import type { OrgSyncError, SyncResult } from '../protocol/lsp';
import { errorMessage, type InsightsService } from './insightsService';
import { rememberSecret } from './redact';

export const TOKEN_SECRET = 'codeInsights.org.token';
const CONNECT = 'codeInsights.connectOrg';
const SYNC = 'codeInsights.syncNow';

type Phase = 'idle' | 'syncing' | 'synced' | 'failed';

/** Is this an http(s) URL? Undefined when it is, else what is wrong (shown under the input box). */
export function validateServerUrl(value: string): string | undefined {
  const v = value.trim();
  if (!v) return 'Enter the address of the org service, e.g. https://insights.example.com';
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return `"${v}" is not a URL: give the full address, e.g. https://insights.example.com`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `the address must start with https:// or http://, not ${u.protocol}//`;
  if (u.username || u.password) return 'put the token in the next step, not in the URL';
  return undefined;
}

export class OrgSync implements vscode.Disposable {
  private phase: Phase = 'idle';
  private connected = false;
  private pending = 0;
  private failed = 0;
  private lastSyncedAt: string | undefined;
  private lastError: OrgSyncError | undefined;
  private running: Promise<SyncResult | undefined> | undefined;
  private readonly item = vscode.window.createStatusBarItem('codeInsights.sync', vscode.StatusBarAlignment.Left, 9);
  private readonly subs: vscode.Disposable[] = [];
  private wasComputing = false;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly service: InsightsService,
  ) {
    this.item.name = 'Code Insights Sync';
    this.subs.push(
      this.item,
      context.secrets.onDidChange((e) => {
        if (e.key === TOKEN_SECRET) void this.refresh();
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        // Another cache file holds another outbox.
        if (e.affectsConfiguration('codeInsights.org.serverUrl') || e.affectsConfiguration('codeInsights.cacheFile')) void this.refresh();
      }),
      // A computation queues new points: count them, and sync them when asked to.
      service.onDidChangeInsights((list) => {
        const computing = list.some((i) => i.state === 'computing' || i.state === 'partial');
        if (this.wasComputing && !computing) void this.afterCompute();
        this.wasComputing = computing;
      }),
    );
    this.render();
    void this.refresh();
  }

  private serverUrl(): string {
    return vscode.workspace.getConfiguration('codeInsights').get<string>('org.serverUrl', '').trim();
  }

  private async connection(): Promise<{ serverUrl: string; token: string } | undefined> {
    const serverUrl = this.serverUrl();
    const token = await this.context.secrets.get(TOKEN_SECRET);
    rememberSecret(token);
    return serverUrl && token ? { serverUrl, token } : undefined;
  }

  /** Re-reads whether we are connected and the outbox counts. */
  async refresh(): Promise<void> {
    this.connected = !!(await this.connection());
    if (this.connected) {
      try {
        const s = await this.service.syncStatus();
        this.pending = s.pending;
        this.failed = s.failed;
      } catch (err) {
        this.service.log.warn(`could not read the sync outbox: ${errorMessage(err)}`);
      }
    }
    this.render();
  }

  private async afterCompute(): Promise<void> {
    await this.refresh();
    if (this.connected && this.pending > 0 && vscode.workspace.getConfiguration('codeInsights').get<boolean>('org.autoSync', false)) {
      await this.syncNow(true);
    }
  }

  private render(): void {
    const it = this.item;
    const url = this.serverUrl();
    if (!this.connected) {
      it.text = '$(cloud) Org: not connected';
      it.tooltip = 'Code Insights is not connected to an org service. Click to connect (you need the service URL and a write token).';
      it.command = CONNECT;
    } else if (this.phase === 'syncing') {
      it.text = '$(sync~spin) Org: syncing';
      it.tooltip = `Sending queued points to ${url}…`;
      it.command = undefined;
    } else if (this.phase === 'failed' && this.lastError) {
      it.text = `$(cloud-offline) Org: sync failed`;
      it.tooltip = `Sync to ${url} failed: ${this.lastError.message}\n${this.pending} points queued. Click to ${isAuth(this.lastError) ? 'connect again' : 'retry'}.`;
      it.command = isAuth(this.lastError) ? CONNECT : SYNC;
    } else if (this.pending > 0) {
      it.text = `$(cloud-upload) Org: ${this.pending} pending`;
      it.tooltip = `${this.pending} points queued for ${url}${this.lastSyncedAt ? `; last synced ${new Date(this.lastSyncedAt).toLocaleString()}` : ''}. Click to sync now.`;
      it.command = SYNC;
    } else {
      const at = this.lastSyncedAt ? new Date(this.lastSyncedAt) : undefined;
      it.text = at ? `$(cloud) Org: synced ${at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}` : '$(cloud) Org: connected';
      it.tooltip = `Connected to ${url}${at ? `; synced at ${at.toLocaleString()}` : ''}; nothing queued.${this.failed ? ` ${this.failed} points were rejected earlier (see the log).` : ''} Click to sync now.`;
      it.command = SYNC;
    }
    it.accessibilityInformation = { label: `${it.text.replace(/\$\([^)]*\)\s*/g, '')}. ${typeof it.tooltip === 'string' ? it.tooltip : ''}` };
    it.show();
  }

  /** "Connect to Org Server": asks URL and token, checks both with the server, then saves them. */
  async connect(): Promise<boolean> {
    const serverUrl = (
      await vscode.window.showInputBox({
        title: 'Connect to Org Server (1/2)',
        prompt: 'Address of the Code Insights org service',
        placeHolder: 'https://insights.example.com',
        value: this.serverUrl(),
        ignoreFocusOut: true,
        validateInput: validateServerUrl,
      })
    )?.trim();
    if (!serverUrl) return false;
    const token = (
      await vscode.window.showInputBox({
        title: 'Connect to Org Server (2/2)',
        prompt: `A write token for ${serverUrl} (from \`code-insights org create-token --scope write\`). It is kept in VS Code's secret storage.`,
        placeHolder: 'write token',
        password: true,
        ignoreFocusOut: true,
        validateInput: (v) => (!v.trim() ? 'Enter the token' : /\s/.test(v.trim()) ? 'a token has no spaces' : undefined),
      })
    )?.trim();
    if (!token) return false;
    rememberSecret(token);
    const checked = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Code Insights: checking ${serverUrl}…` }, () =>
      this.service.verifyOrg({ serverUrl, token }),
    );
    if (!checked.ok) {
      const e = checked.error!;
      this.service.log.warn(`connect to ${serverUrl}: ${e.code}: ${e.message}`);
      const again = await vscode.window.showErrorMessage(`Code Insights: not connected. ${e.message}`, 'Try Again');
      if (again) return this.connect();
      return false;
    }
    await this.context.secrets.store(TOKEN_SECRET, token);
    await vscode.workspace.getConfiguration('codeInsights').update('org.serverUrl', serverUrl, vscode.ConfigurationTarget.Global);
    this.lastError = undefined;
    this.phase = 'idle';
    this.service.log.info(`connected to the org service at ${serverUrl}`);
    await this.refresh();
    void vscode.window.showInformationMessage(`Code Insights: connected to ${serverUrl}.${this.pending ? ` ${this.pending} points are queued.` : ''}`, ...(this.pending ? ['Sync Now'] : [])).then((c) => {
      if (c) void vscode.commands.executeCommand(SYNC);
    });
    return true;
  }

  async disconnect(): Promise<void> {
    const url = this.serverUrl();
    await this.context.secrets.delete(TOKEN_SECRET);
    this.phase = 'idle';
    this.lastError = undefined;
    this.lastSyncedAt = undefined;
    this.service.log.info(`disconnected from the org service${url ? ` at ${url}` : ''}; the token was deleted from secret storage`);
    await this.refresh();
    void vscode.window.setStatusBarMessage('Code Insights: disconnected from the org service', 4000);
  }

  /** "Sync Now" (or an automatic sync when `quiet`): sends the outbox through the server. */
  async syncNow(quiet = false): Promise<SyncResult | undefined> {
    if (this.running) return this.running;
    const conn = await this.connection();
    if (!conn) {
      if (quiet) return undefined;
      const c = await vscode.window.showInformationMessage('Code Insights is not connected to an org service.', 'Connect to Org Server');
      if (c) await vscode.commands.executeCommand(CONNECT);
      return undefined;
    }
    this.phase = 'syncing';
    this.render();
    this.running = this.service.sync(conn, quiet ? vscode.ProgressLocation.Window : vscode.ProgressLocation.Notification);
    let res: SyncResult | undefined;
    try {
      res = await this.running;
    } catch (err) {
      res = { sent: 0, failed: 0, pending: this.pending, error: { code: 'SERVER_ERROR', message: errorMessage(err) } };
    } finally {
      this.running = undefined;
    }
    if (!res) {
      this.phase = 'idle';
      await this.refresh();
      return undefined;
    }
    this.pending = res.pending;
    this.lastError = res.error;
    if (res.error) {
      this.phase = 'failed';
      this.service.log.warn(`sync: ${res.error.code}: ${res.error.message}`);
      this.render();
      const action = isAuth(res.error) ? 'Connect to Org Server' : 'Retry';
      void vscode.window.showErrorMessage(`Code Insights: sync failed. ${res.error.message}`, action, 'Show Log').then((c) => {
        if (c === 'Show Log') this.service.log.show();
        else if (c) void vscode.commands.executeCommand(isAuth(res.error!) ? CONNECT : SYNC);
      });
    } else {
      this.phase = 'synced';
      this.lastSyncedAt = res.syncedAt;
      this.service.log.info(`sync: sent ${res.sent} points; ${res.pending} pending`);
      if (!quiet) void vscode.window.setStatusBarMessage(`Code Insights: synced ${res.sent} points`, 5000);
    }
    await this.refresh();
    return res;
  }

  dispose(): void {
    this.subs.forEach((s) => s.dispose());
  }
}

function isAuth(e: OrgSyncError): boolean {
  return e.code === 'UNAUTHORIZED' || e.code === 'FORBIDDEN';
}

export function registerOrgCommands(context: vscode.ExtensionContext, service: InsightsService): OrgSync {
  const org = new OrgSync(context, service);
  const run = (name: string, fn: () => Promise<unknown>) =>
    vscode.commands.registerCommand(name, async () => {
      try {
        return await fn();
      } catch (err) {
        service.log.error(`${name}: ${errorMessage(err)}`);
        void vscode.window.showErrorMessage(`Code Insights: ${errorMessage(err)}`);
        return undefined;
      }
    });
  context.subscriptions.push(
    org,
    run(CONNECT, () => org.connect()),
    run('codeInsights.disconnectOrg', () => org.disconnect()),
    run(SYNC, () => org.syncNow()),
  );
  return org;
}
