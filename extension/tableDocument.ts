// "Open Dashboard" before the chart webview exists: the series as a read-only text table, one
// section per insight, refreshed when results change. Labelled as a table, because it is one.
import * as vscode from 'vscode';
import type { InsightResult, InsightSummary } from '../protocol/lsp';
import type { InsightsService } from './insightsService';

const SCHEME = 'code-insights-table';
let provider: TableProvider | undefined;

class TableProvider implements vscode.TextDocumentContentProvider {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly open = new Set<string>();

  constructor(private readonly service: InsightsService) {
    const refresh = () => this.open.forEach((u) => this.changed.fire(vscode.Uri.parse(u)));
    service.onDidCompute(refresh);
    service.onDidChangeInsights(refresh);
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    this.open.add(uri.toString());
    const key = new URLSearchParams(uri.query).get('key');
    const list = (await this.service.list()).filter((i) => !key || i.key === key);
    const parts = ['Code Insights — data table (one row per point; values summed over the repositories in scope)', ''];
    if (list.length === 0) parts.push('No insights yet: run "Code Insights: New Insight".');
    for (const i of list) parts.push(renderInsight(i, await this.service.series(i.key)), '');
    return parts.join('\n');
  }
}

export function renderInsight(i: InsightSummary, r: InsightResult | null): string {
  const head = `## ${i.title}  [${i.key}]`;
  if (!r) return `${head}\n${i.state === 'computing' ? 'computing…' : i.error ? `failed: ${i.error}` : 'not computed yet (run "Code Insights: Refresh")'}`;
  if (r.error) return `${head}\nfailed: ${r.error.message} [${r.error.code}]`;
  const rows: string[][] = [];
  if (r.kind === 'languages') {
    const last = r.languages?.at(-1);
    rows.push(['language', 'lines', 'files']);
    for (const l of last?.languages ?? []) rows.push([l.language, String(l.lines), String(l.files)]);
    return `${head}\nat ${last?.time ?? '—'}\n${table(rows)}`;
  }
  rows.push(['time', ...r.series.map((s) => s.capture ?? s.label)]);
  const times = r.series[0]?.points.map((p) => p.time) ?? [];
  times.forEach((t, n) => rows.push([t.endsWith('T00:00:00.000Z') ? t.slice(0, 10) : t, ...r.series.map((s) => String(s.points[n]?.value ?? ''))]));
  const problems = r.repos.filter((x) => x.error || x.warning).map((x) => `  ${x.path}: ${x.error ?? x.warning}`);
  return [head, table(rows), ...(problems.length ? ['repositories with problems:', ...problems] : [])].join('\n');
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r, n) => {
    const line = r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
    return n === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
  }).join('\n');
}

export async function showTable(service: InsightsService, insight?: InsightSummary): Promise<void> {
  if (!provider) {
    provider = new TableProvider(service);
    vscode.workspace.registerTextDocumentContentProvider(SCHEME, provider);
  }
  const name = insight ? `${insight.title} (table)` : 'Insights (table)';
  const uri = vscode.Uri.from({ scheme: SCHEME, path: `/${name}`, query: insight ? `key=${encodeURIComponent(insight.key)}` : '' });
  const doc = await vscode.workspace.openTextDocument(uri);
  await vscode.window.showTextDocument(doc, { preview: true });
}
