// "Code Insights: Check Goals": the insights server runs `code-insights check` (same run layer,
// same cache) in a workspace folder; the report opens as a read-only document, the verdict shows
// as a notification, and the server marks each line that broke a goal with a diagnostic.
import * as vscode from 'vscode';
import type { CheckGoalsResult } from '../protocol/lsp';
import { errorMessage, type InsightsService } from './insightsService';

const SCHEME = 'code-insights-goals';
const reports = new Map<string, string>();
let registered = false;

export function registerCheckGoals(context: vscode.ExtensionContext, service: InsightsService): void {
  if (!registered) {
    registered = true;
    context.subscriptions.push(vscode.workspace.registerTextDocumentContentProvider(SCHEME, { provideTextDocumentContent: (uri) => reports.get(uri.toString()) ?? '' }));
  }
  context.subscriptions.push(
    vscode.commands.registerCommand('codeInsights.checkGoals', async (folderArg?: vscode.Uri, opts?: { base?: string; quiet?: boolean }): Promise<CheckGoalsResult | undefined> => {
      if (!vscode.workspace.isTrusted) {
        void vscode.window.showWarningMessage('Checking goals is disabled in Restricted Mode: it runs git on the repositories of this workspace.');
        return undefined;
      }
      const folders = vscode.workspace.workspaceFolders ?? [];
      let folder = folderArg instanceof vscode.Uri ? folderArg : undefined;
      if (!folder && folders.length > 1 && !opts?.quiet) {
        const picked = await vscode.window.showQuickPick(folders.map((f) => ({ label: f.name, description: f.uri.fsPath, uri: f.uri })), { placeHolder: 'Check the goals of which folder?' });
        if (!picked) return undefined;
        folder = picked.uri;
      }
      let r: CheckGoalsResult | undefined;
      try {
        r = await service.checkGoals(folder?.toString(), opts?.base);
      } catch (err) {
        service.log.error(`codeInsights.checkGoals: ${errorMessage(err)}`);
        void vscode.window.showErrorMessage(`Code Insights: ${errorMessage(err)}`);
        return undefined;
      }
      if (!r) return undefined;
      const series = r.results.flatMap((x) => x.series);
      const broken = series.filter((s) => s.verdict === 'broken');
      const summary = broken.length
        ? `Code Insights: ${broken.length} of ${series.length} goals broken: ${broken.slice(0, 3).map((s) => `${s.insightTitle} / ${s.label} (${s.reasons[0]})`).join('; ')}${broken.length > 3 ? '…' : ''}`
        : `Code Insights: all ${series.length} goals hold.`;
      service.log.info(summary);
      const uri = vscode.Uri.from({ scheme: SCHEME, path: '/Goals.txt', query: String(Date.now()) });
      reports.set(uri.toString(), r.text);
      if (!opts?.quiet) {
        const show = async () => vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preview: true });
        if (broken.length) void vscode.window.showWarningMessage(summary, 'Show Report').then((c) => c && show());
        else void vscode.window.showInformationMessage(summary, 'Show Report').then((c) => c && show());
      }
      return r;
    }),
  );
}
