// Named dashboards and card order. Named dashboards live in each definitions file's
// `dashboards` field (shared with the team); reordering one rewrites that field as an undoable
// edit that keeps the file's comments and formatting. The built-in "All insights" dashboard
// keeps its order in the workspace state.
import * as vscode from 'vscode';
import { modify, parse, type ParseError } from 'jsonc-parser';
import type { DashboardDefinition } from '../../protocol/insights';
import type { InsightSummary } from '../../protocol/lsp';
import type { DashboardLayout } from '../../protocol/webview';

export const ALL = 'all';
const ORDER_KEY = 'codeInsights.dashboard.order';

export interface NamedDashboard {
  /** `<folder name>/<dashboard id>` (unique across the workspace), or ALL. */
  id: string;
  title: string;
  /** Insight keys in display order. */
  keys: string[];
  file?: vscode.Uri;
  index?: number;
}

function definitionsFiles(summaries: readonly InsightSummary[]): vscode.Uri[] {
  const uris = new Map<string, vscode.Uri>();
  for (const f of vscode.workspace.workspaceFolders ?? []) {
    const u = vscode.Uri.joinPath(f.uri, '.vscode', 'insights.json');
    uris.set(u.toString(), u);
  }
  for (const s of summaries) if (s.source.uri !== 'settings') uris.set(s.source.uri, vscode.Uri.parse(s.source.uri));
  return [...uris.values()];
}

async function readText(uri: vscode.Uri): Promise<string | undefined> {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (open) return open.getText();
  try {
    return new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
  } catch {
    return undefined;
  }
}

function folderName(uri: vscode.Uri): string {
  return vscode.workspace.getWorkspaceFolder(uri)?.name ?? uri.path.split('/').slice(-3, -2)[0] ?? 'workspace';
}

/** Every dashboard: "All insights" first, then the named ones of each definitions file. */
export async function readDashboards(context: vscode.ExtensionContext, summaries: readonly InsightSummary[]): Promise<NamedDashboard[]> {
  const allKeys = summaries.map((s) => s.key);
  const saved = context.workspaceState.get<string[]>(ORDER_KEY, []);
  const order = [...saved.filter((k) => allKeys.includes(k)), ...allKeys.filter((k) => !saved.includes(k))];
  const out: NamedDashboard[] = [{ id: ALL, title: 'All insights', keys: order }];
  for (const file of definitionsFiles(summaries)) {
    const text = await readText(file);
    if (text === undefined) continue;
    const errors: ParseError[] = [];
    const json = parse(text, errors, { allowTrailingComma: true }) as { dashboards?: unknown } | undefined;
    // The server reports problems in the file as diagnostics; here a broken entry is skipped.
    if (!json || !Array.isArray(json.dashboards)) continue;
    const inFile = summaries.filter((s) => s.source.uri === file.toString());
    json.dashboards.forEach((d: Partial<DashboardDefinition>, index) => {
      if (!d || typeof d.id !== 'string' || typeof d.title !== 'string' || !Array.isArray(d.insights)) return;
      const keys = d.insights
        .map((id) => (typeof id === 'string' ? (inFile.find((s) => s.id === id) ?? summaries.find((s) => s.id === id))?.key : undefined))
        .filter((k): k is string => !!k);
      out.push({ id: `${folderName(file)}/${d.id}`, title: d.title, keys: [...new Set(keys)], file, index });
    });
  }
  return out;
}

export function layoutOf(dashboards: NamedDashboard[], active: string): DashboardLayout {
  const d = dashboards.find((x) => x.id === active) ?? dashboards[0];
  return { dashboards: dashboards.map((x) => ({ id: x.id, title: x.title })), active: d.id, order: d.keys };
}

/** Persists a new card order: workspace state for "All insights", the definitions file otherwise. */
export async function saveOrder(context: vscode.ExtensionContext, d: NamedDashboard, order: string[], summaries: readonly InsightSummary[]): Promise<void> {
  if (d.id === ALL || !d.file || d.index === undefined) {
    await context.workspaceState.update(ORDER_KEY, order);
    return;
  }
  const ids = order.map((k) => summaries.find((s) => s.key === k)?.id).filter((id): id is string => !!id);
  const doc = await vscode.workspace.openTextDocument(d.file);
  const edits = modify(doc.getText(), ['dashboards', d.index, 'insights'], ids, { formattingOptions: { insertSpaces: true, tabSize: 2 } });
  const we = new vscode.WorkspaceEdit();
  for (const e of edits) we.replace(d.file, new vscode.Range(doc.positionAt(e.offset), doc.positionAt(e.offset + e.length)), e.content);
  if (!(await vscode.workspace.applyEdit(we))) throw new Error(`could not save the card order to ${d.file.fsPath}`);
  await doc.save();
}
