// The commands of the "Code Insights" category. Each one asks the server (through
// InsightsService) and shows the answer; an insight-specific command run from the palette
// asks which insight with a quick pick, so everything is reachable from the keyboard.
import * as vscode from 'vscode';
import type { InsightDefinition } from '../protocol/insights';
import type { ExportFormat, InsightSummary } from '../protocol/lsp';
import { errorMessage, type InsightsService } from './insightsService';
import { openDashboard } from './dashboard/panel';
import { askNewInsight, idFromTitle } from './newInsight';
import { showTable } from './tableDocument';

export function registerCommands(context: vscode.ExtensionContext, service: InsightsService): void {
  const log = service.log;
  const run = (name: string, fn: (...args: never[]) => Promise<unknown>) =>
    vscode.commands.registerCommand(name, async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        log.error(`${name}: ${errorMessage(err)}`);
        void vscode.window.showErrorMessage(`Code Insights: ${errorMessage(err)}`);
        return undefined;
      }
    });

  const choose = async (arg: InsightSummary | undefined, placeHolder: string): Promise<InsightSummary | undefined> => {
    if (arg?.key) return arg;
    const list = await service.list();
    if (list.length === 0) {
      void vscode.window.showInformationMessage('There are no insights yet. Run "Code Insights: New Insight" to create one.');
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(
      list.map((i) => ({ label: i.title, description: i.latest ? String(i.latest.value) : i.state, detail: i.key, insight: i })),
      { placeHolder },
    );
    return picked?.insight;
  };

  const requireTrust = (): boolean => {
    if (vscode.workspace.isTrusted) return true;
    void vscode.window.showWarningMessage('Computing insights is disabled in Restricted Mode: it runs git on the repositories of this workspace. Trust the workspace to enable it.', 'Manage Workspace Trust').then((c) => {
      if (c) void vscode.commands.executeCommand('workbench.trust.manage');
    });
    return false;
  };

  const save = async (def: InsightDefinition, folder: vscode.WorkspaceFolder | undefined): Promise<string> => {
    if (!folder) {
      const cfg = vscode.workspace.getConfiguration('codeInsights');
      const current = cfg.inspect<InsightDefinition[]>('insights')?.globalValue ?? [];
      await cfg.update('insights', [...current, def], vscode.ConfigurationTarget.Global);
      return `settings/${def.id}`;
    }
    await service.editDefinitions(folder.uri, { add: def });
    return `${folder.name}/${def.id}`;
  };

  /** Saves a new insight and computes it once the server has reloaded the definitions. */
  const addAndCompute = async (def: InsightDefinition, folder: vscode.WorkspaceFolder | undefined) => {
    const key = await save(def, folder);
    log.info(`added insight "${key}"`);
    if (!vscode.workspace.isTrusted) return requireTrust();
    let added: InsightSummary | undefined;
    for (let i = 0; i < 50 && !(added = (await service.list()).find((x) => x.key === key)); i++) await new Promise((r) => setTimeout(r, 100));
    // With autoCompute on, the server starts on its own when its file watcher reports the change;
    // when it has not (yet), or autoCompute is off, compute now.
    if (added?.state === 'idle' || !vscode.workspace.getConfiguration('codeInsights').get<boolean>('autoCompute', true)) await service.compute([key]);
    return key;
  };

  const takenIds = async () => new Set((await service.list()).map((i) => i.id));

  context.subscriptions.push(
    run('codeInsights.newInsight', async () => {
      const r = await askNewInsight(await takenIds());
      if (r) await addAndCompute(r.def, r.folder);
    }),

    run('codeInsights.trackSelection', async () => {
      const editor = vscode.window.activeTextEditor;
      const text = editor?.document.getText(editor.selection) ?? '';
      if (!editor || !text.trim()) {
        void vscode.window.showInformationMessage('Select the text to track first.');
        return;
      }
      // Queries apply to each line: a selection over several lines tracks its first line.
      const line = text.split(/\r?\n/).find((l) => l.trim())!;
      if (line !== text) void vscode.window.showInformationMessage(`Insights match within a line; tracking the first selected line: "${line}"`);
      const folder = vscode.workspace.getWorkspaceFolder(editor.document.uri) ?? vscode.workspace.workspaceFolders?.[0];
      const title = line.length > 40 ? `"${line.slice(0, 40)}…"` : `"${line}"`;
      const def: InsightDefinition = { id: idFromTitle(line, await takenIds()), title, kind: 'series', literal: true, queries: [{ query: line }] };
      await addAndCompute(def, folder);
    }),

    run('codeInsights.openDashboard', async (arg?: InsightSummary) => openDashboard({ context, service, log }, arg?.key ? arg : undefined)),

    // The same numbers as plain text: for screen readers, copying, and a quick look.
    run('codeInsights.openTable', async (arg?: InsightSummary) => showTable(service, arg?.key ? arg : undefined)),

    run('codeInsights.refresh', async (arg?: InsightSummary) => {
      if (!requireTrust()) return;
      await service.compute(arg?.key ? [arg.key] : undefined);
    }),

    run('codeInsights.cancel', async () => {
      const n = await service.cancel();
      void vscode.window.setStatusBarMessage(n ? `Code Insights: cancelled ${n} computation(s)` : 'Code Insights: nothing to cancel', 4000);
    }),

    run('codeInsights.editDefinition', async (arg?: InsightSummary) => {
      const i = await choose(arg, 'Edit which insight?');
      if (!i) return;
      if (i.source.uri === 'settings') {
        await vscode.commands.executeCommand('workbench.action.openSettingsJson');
        return;
      }
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(i.source.uri));
      const start = doc.positionAt(i.source.offset ?? 0);
      const end = doc.positionAt((i.source.offset ?? 0) + (i.source.length ?? 0));
      await vscode.window.showTextDocument(doc, { selection: new vscode.Range(start, end) });
    }),

    run('codeInsights.delete', async (arg?: InsightSummary) => {
      const i = await choose(arg, 'Delete which insight?');
      if (!i) return;
      const ok = await vscode.window.showWarningMessage(`Delete the insight "${i.title}" from ${i.source.uri === 'settings' ? 'your user settings' : 'its definitions file'}?`, { modal: true }, 'Delete');
      if (ok !== 'Delete') return;
      if (i.source.uri === 'settings') {
        const cfg = vscode.workspace.getConfiguration('codeInsights');
        const current = cfg.inspect<InsightDefinition[]>('insights')?.globalValue ?? [];
        await cfg.update('insights', current.filter((d) => d.id !== i.id), vscode.ConfigurationTarget.Global);
      } else {
        const fileUri = vscode.Uri.parse(i.source.uri);
        await service.editDefinitions(vscode.Uri.joinPath(fileUri, '..', '..'), { remove: i.id });
      }
      log.info(`deleted insight "${i.key}"`);
    }),

    run('codeInsights.exportCsv', (arg?: InsightSummary) => exportInsight(arg, 'csv')),
    run('codeInsights.exportJson', (arg?: InsightSummary) => exportInsight(arg, 'json')),

    run('codeInsights.showLog', async () => log.show()),
  );

  async function exportInsight(arg: InsightSummary | undefined, format: ExportFormat): Promise<void> {
    const i = await choose(arg, `Export which insight as ${format.toUpperCase()}?`);
    if (!i) return;
    if (!i.latest && i.state !== 'done') {
      if (!requireTrust()) return;
      await service.compute([i.key]);
    }
    const text = await service.exportText(i.key, format);
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const target = await vscode.window.showSaveDialog({
      ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, `${i.id}.${format}`) } : {}),
      filters: format === 'csv' ? { CSV: ['csv'] } : { JSON: ['json'] },
      title: `Export "${i.title}" as ${format.toUpperCase()}`,
    });
    if (!target) return;
    await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(text));
    log.info(`exported "${i.key}" to ${target.fsPath}`);
    void vscode.window.setStatusBarMessage(`Code Insights: exported ${i.title} to ${target.fsPath}`, 5000);
  }
}
