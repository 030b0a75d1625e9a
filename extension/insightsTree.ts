// The activity-bar tree: one row per insight with its latest value and the change since the
// previous point. It shows what the server reports; it computes nothing itself.
import * as vscode from 'vscode';
import type { InsightSummary } from '../protocol/lsp';
import type { InsightsService } from './insightsService';

export class InsightsTree implements vscode.TreeDataProvider<InsightSummary>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly sub: vscode.Disposable;

  constructor(private readonly service: InsightsService) {
    this.sub = service.onDidChangeInsights(() => this.changed.fire());
  }

  getChildren(element?: InsightSummary): InsightSummary[] {
    return element ? [] : [...this.service.insights];
  }

  getTreeItem(i: InsightSummary): vscode.TreeItem {
    const item = new vscode.TreeItem(i.title, vscode.TreeItemCollapsibleState.None);
    item.id = i.key;
    item.contextValue = 'insight';
    item.description = describeValue(i);
    item.iconPath = new vscode.ThemeIcon(
      i.state === 'computing' || i.state === 'partial' ? 'sync~spin' : i.state === 'failed' ? 'error' : i.kind === 'languages' ? 'symbol-namespace' : 'graph-line',
    );
    const tip = new vscode.MarkdownString();
    tip.appendMarkdown(`**${escapeMd(i.title)}** (\`${escapeMd(i.id)}\`, ${i.kind}, per ${i.step})\n\n`);
    if (i.latest) tip.appendMarkdown(`Latest: **${i.latest.value}** at ${i.latest.time}\n\n`);
    if (i.previous) tip.appendMarkdown(`Previous point: ${i.previous.value} at ${i.previous.time}\n\n`);
    if (i.error) tip.appendMarkdown(`Error: ${escapeMd(i.error)}\n\n`);
    tip.appendMarkdown(i.source.uri === 'settings' ? 'Defined in user settings' : `Defined in ${escapeMd(vscode.Uri.parse(i.source.uri).fsPath)}`);
    item.tooltip = tip;
    item.command = { command: 'codeInsights.openDashboard', title: 'Open Dashboard', arguments: [i] };
    return item;
  }

  dispose(): void {
    this.sub.dispose();
    this.changed.dispose();
  }
}

/** "42 (+3)" / "42 (−1)" / "42 (±0)"; the state when there is no value yet. */
export function describeValue(i: InsightSummary): string {
  if (i.state === 'failed') return 'failed';
  if (!i.latest) return i.state === 'idle' ? 'not computed' : 'computing…';
  const value = formatNumber(i.latest.value);
  const suffix = i.state === 'computing' || i.state === 'partial' ? ' · updating' : '';
  if (!i.previous) return value + suffix;
  const d = i.latest.value - i.previous.value;
  const change = d > 0 ? `+${formatNumber(d)}` : d < 0 ? `−${formatNumber(-d)}` : '±0';
  return `${value} (${change})${suffix}`;
}

function formatNumber(n: number): string {
  return n.toLocaleString('en-US');
}

function escapeMd(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}
