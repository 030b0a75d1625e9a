// What the dashboard panel needs from the rest of the extension (the language client), as a
// small interface, plus the adapter over the extension's InsightsService.
import type * as vscode from 'vscode';
import type { InsightResult, InsightSummary, SeriesQuery } from '../../protocol/lsp';
import type { DrillDownQuery, DrillDownResult } from '../../protocol/webview';

export type { DrillDownQuery, SeriesQuery };

export interface DashboardSource {
  /** The insights, as the tree shows them. */
  list(): Promise<readonly InsightSummary[]>;
  /** The last computed result of an insight (null when never computed). */
  result(key: string): Promise<InsightResult | null>;
  /** The insight list or states changed. */
  onDidChangeInsights(listener: (list: readonly InsightSummary[]) => void): vscode.Disposable;
  /** A result arrived: partial while repositories are computing (with progress), else final. */
  onResult(listener: (result: InsightResult, progress?: { reposDone: number; reposTotal: number }) => void): vscode.Disposable;
  /** Recompute these insights (all when absent). */
  refresh(keys?: string[]): Promise<unknown>;
  /** Files, changes and commits behind a point (the server runs server/engine/drillDown.ts). */
  drillDown?(q: DrillDownQuery): Promise<DrillDownResult>;
  /** The query of a series, to highlight matches in an opened file. */
  seriesQuery?(key: string, seriesId: string): Promise<SeriesQuery | undefined>;
}

/** The parts of extension/insightsService.ts the adapter uses (structural, so no import cycle). */
export interface InsightsServiceLike {
  list(): Promise<InsightSummary[]>;
  series(key: string): Promise<InsightResult | null>;
  compute(keys?: string[]): Promise<unknown>;
  onDidChangeInsights: vscode.Event<InsightSummary[]>;
  onPartialResult: vscode.Event<{ result: InsightResult; reposDone: number; reposTotal: number }>;
  onDidCompute: vscode.Event<InsightResult[]>;
  drillDown?(q: DrillDownQuery): Promise<DrillDownResult>;
  seriesQuery?(key: string, seriesId: string): Promise<SeriesQuery | undefined>;
}

export function sourceFromService(service: InsightsServiceLike): DashboardSource {
  return {
    list: () => service.list(),
    result: (key) => service.series(key),
    onDidChangeInsights: (l) => service.onDidChangeInsights(l),
    onResult: (l) => {
      const a = service.onPartialResult((p) => l(p.result, { reposDone: p.reposDone, reposTotal: p.reposTotal }));
      const b = service.onDidCompute((results) => results.forEach((r) => l(r)));
      return { dispose: () => { a.dispose(); b.dispose(); } };
    },
    refresh: (keys) => service.compute(keys),
    ...(service.drillDown ? { drillDown: (q: DrillDownQuery) => service.drillDown!(q) } : {}),
    ...(service.seriesQuery ? { seriesQuery: (k: string, s: string) => service.seriesQuery!(k, s) } : {}),
  };
}
