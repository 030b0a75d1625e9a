// Entry point, as thin as lsp-sample's client: wire the server connection, the tree, the status
// bar and the commands. Activation only registers things; the server starts in the background.
import { performance } from 'node:perf_hooks';
import * as vscode from 'vscode';
import { registerCheckGoals } from './checkGoals';
import { registerCommands } from './commands';
import { registerDashboardSerializer } from './dashboard/panel';
import { InsightsService } from './insightsService';
import { InsightsTree } from './insightsTree';
import { registerOrgCommands } from './orgSync';
import { redactingChannel } from './redact';
import { createStatusBar } from './statusBar';

let service: InsightsService | undefined;

export function activate(context: vscode.ExtensionContext): { service: InsightsService; activateMs: number } {
  const t0 = performance.now();
  const channel = vscode.window.createOutputChannel('Code Insights', { log: true });
  const log = redactingChannel(channel);
  service = new InsightsService(context, log);
  const tree = new InsightsTree(service);
  context.subscriptions.push(
    channel,
    service,
    tree,
    vscode.window.createTreeView('codeInsights.insights', { treeDataProvider: tree, showCollapseAll: false }),
    createStatusBar(service),
    registerDashboardSerializer(context, service, log),
  );
  registerCommands(context, service);
  registerOrgCommands(context, service);
  registerCheckGoals(context, service);
  if (!vscode.workspace.isTrusted) {
    log.info('Restricted Mode: definitions are read and checked, but nothing is computed (computing runs git on this workspace\'s repositories).');
  }
  const s = service;
  void s.start().then(
    () => log.info(`insights server started (${s.insights.length} insight(s); cache ${vscode.workspace.getConfiguration('codeInsights').get<string>('cacheFile', '') || 'in the default folder'})`),
    (err) => log.error(`the insights server did not start: ${err instanceof Error ? err.message : String(err)}`),
  );
  const activateMs = performance.now() - t0;
  log.info(`activate() took ${activateMs.toFixed(1)} ms`);
  // Returned for tests running inside the extension host.
  return { service, activateMs };
}

export function deactivate(): void {
  service?.dispose();
  service = undefined;
}
