// One status bar item: how many insights, whether something is computing or failed, and
// "restricted" in an untrusted workspace (with the reason in the tooltip).
import * as vscode from 'vscode';
import type { InsightsService } from './insightsService';

export function createStatusBar(service: InsightsService): vscode.Disposable {
  const item = vscode.window.createStatusBarItem('codeInsights.status', vscode.StatusBarAlignment.Left, 10);
  item.name = 'Code Insights';
  const update = () => {
    const list = service.insights;
    const busy = list.filter((i) => i.state === 'computing' || i.state === 'partial').length;
    const failed = list.filter((i) => i.state === 'failed').length;
    if (!vscode.workspace.isTrusted) {
      item.text = '$(shield) Insights: restricted';
      item.tooltip = 'Code Insights reads the definitions but computes nothing in Restricted Mode, because computing runs git on the repositories of this workspace. Trust the workspace to enable it.';
      item.command = 'workbench.trust.manage';
    } else {
      item.text = busy ? `$(sync~spin) Insights: computing ${busy}` : failed ? `$(error) Insights: ${failed} failed` : `$(graph-line) Insights: ${list.length}`;
      item.tooltip = `${list.length} insight(s); ${busy} computing, ${failed} failed. Click to open the dashboard.`;
      item.command = 'codeInsights.openDashboard';
    }
    item.show();
  };
  update();
  const subs = [service.onDidChangeInsights(update), vscode.workspace.onDidGrantWorkspaceTrust(update)];
  return { dispose: () => { subs.forEach((s) => s.dispose()); item.dispose(); } };
}
