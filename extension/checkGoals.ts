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
  watchRatchets(context, service);
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
      // The cards of the checked insights show the check's verdicts (a broken ratchet) too.
      const ids = new Set(series.map((s) => s.insightId));
      void service.refreshResults(service.insights.filter((i) => ids.has(i.id) && i.source.uri !== 'settings').map((i) => i.key));
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

/** After a pause in typing, a document's lines that break a ratchet are marked (the server decides which). */
const TYPING_PAUSE_MS = 400;

function watchRatchets(context: vscode.ExtensionContext, service: InsightsService): void {
  const diagnostics = vscode.languages.createDiagnosticCollection('code-insights-ratchets');
  const timers = new Map<string, NodeJS.Timeout>();
  const pending = new Map<string, vscode.CancellationTokenSource>();
  // Folders whose definitions set no ratchet: not asked again until the definitions change.
  const inactive = new Set<string>();
  // Bumped when the definitions may have changed: an answer to an older question cannot mark a folder inactive.
  let generation = 0;
  const folderOf = (doc: vscode.TextDocument) => vscode.workspace.getWorkspaceFolder(doc.uri)?.uri.toString();

  const check = async (doc: vscode.TextDocument) => {
    const key = doc.uri.toString();
    pending.get(key)?.cancel();
    const cts = new vscode.CancellationTokenSource();
    pending.set(key, cts);
    const asked = generation;
    try {
      const r = await service.workingTreeGoals(key, doc.getText(), cts.token);
      if (cts.token.isCancellationRequested) return;
      const f = folderOf(doc);
      if (f && !r.active && asked === generation) inactive.add(f);
      // A line the last Check Goals already marks (the committed change) is not marked twice.
      const checked = new Set(vscode.languages.getDiagnostics(doc.uri).filter((d) => d.source === 'code-insights goals').map((d) => d.range.start.line));
      diagnostics.set(doc.uri, r.marks.filter((m) => !checked.has(m.line) && m.line < doc.lineCount).map((m) => {
        const d = new vscode.Diagnostic(doc.lineAt(m.line).range, m.message, vscode.DiagnosticSeverity.Warning);
        d.source = 'code-insights ratchet';
        d.code = 'RATCHET';
        return d;
      }));
    } catch (err) {
      if (!cts.token.isCancellationRequested) service.log.warn(`ratchet check of ${doc.uri.fsPath}: ${errorMessage(err)}`);
    } finally {
      if (pending.get(key) === cts) pending.delete(key);
      cts.dispose();
    }
  };
  const schedule = (doc: vscode.TextDocument) => {
    if (doc.uri.scheme !== 'file' || !vscode.workspace.isTrusted || doc.uri.path.endsWith('/.vscode/insights.json')) return;
    const f = folderOf(doc);
    if (!f || inactive.has(f)) return;
    const key = doc.uri.toString();
    clearTimeout(timers.get(key));
    timers.set(key, setTimeout(() => {
      timers.delete(key);
      void check(doc);
    }, TYPING_PAUSE_MS));
  };
  context.subscriptions.push(
    diagnostics,
    vscode.workspace.onDidChangeTextDocument((e) => schedule(e.document)),
    vscode.workspace.onDidOpenTextDocument(schedule),
    vscode.workspace.onDidCloseTextDocument((doc) => diagnostics.delete(doc.uri)),
    service.onDidChangeInsights(() => {
      generation++;
      inactive.clear();
      vscode.workspace.textDocuments.forEach(schedule);
    }),
    { dispose: () => timers.forEach((t) => clearTimeout(t)) },
  );
  vscode.workspace.textDocuments.forEach(schedule);
}

