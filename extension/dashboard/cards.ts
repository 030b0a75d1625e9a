// From what the insights server says (InsightSummary, InsightResult) to what a dashboard card
// shows (InsightCard). Copies only the declared fields, so a field the server adds later never
// makes the strict message validators refuse a whole dashboard. Pure: no vscode import.
import type { LanguagesPoint, SeriesResult } from '../../protocol/insights';
import type { InsightResult, InsightSummary } from '../../protocol/lsp';
import { LIMITS, type CardState, type InsightCard, type MissingRepo } from '../../protocol/webview';

export interface CardProgress {
  reposDone: number;
  reposTotal: number;
}

function projectSeries(s: SeriesResult): SeriesResult {
  return {
    id: s.id,
    label: s.label,
    query: s.query,
    ...(s.capture !== undefined ? { capture: s.capture } : {}),
    points: s.points.slice(-LIMITS.points).map((p) => ({
      time: p.time,
      value: p.value,
      repos: p.repos.map((r) => ({ repo: r.repo, commit: r.commit, commitTime: r.commitTime, value: r.value })),
    })),
    ...(s.error !== undefined ? { error: s.error } : {}),
  };
}

function projectLanguages(p: LanguagesPoint): LanguagesPoint {
  const langs = (l: LanguagesPoint['languages']) => l.map((x) => ({ language: x.language, lines: x.lines, files: x.files }));
  return { time: p.time, languages: langs(p.languages), repos: p.repos.map((r) => ({ repo: r.repo, commit: r.commit, commitTime: r.commitTime, languages: langs(r.languages) })) };
}

function missingOf(result: InsightResult | null | undefined): MissingRepo[] {
  const out: MissingRepo[] = [];
  for (const r of result?.repos ?? []) {
    if (r.error) out.push({ repo: r.repo, path: r.path, status: 'error', reason: r.error });
    else if (r.warning) out.push({ repo: r.repo, path: r.path, status: 'warning', reason: r.warning });
  }
  return out;
}

/**
 * The card of an insight: its summary (state, error) with its latest result, if any.
 * `progress` is set while repositories are still being computed.
 */
export function toCard(summary: InsightSummary, result: InsightResult | null | undefined, progress?: CardProgress, computedAt?: string): InsightCard {
  let state: CardState = summary.state;
  if (result?.partial && state !== 'failed') state = progress && progress.reposDone < progress.reposTotal ? 'computing' : 'partial';
  if (state === 'done' && missingOf(result).some((m) => m.status === 'error')) state = 'partial';
  if (result?.error) state = 'failed';
  const error = result?.error ?? (summary.error ? { code: state === 'failed' ? 'FAILED' : 'WARNING', message: summary.error } : undefined);
  const card: InsightCard = {
    key: summary.key,
    title: summary.title,
    kind: summary.kind,
    step: summary.step,
    state,
    series: (result?.series ?? []).slice(0, LIMITS.series).map(projectSeries),
    missing: missingOf(result),
  };
  const paths = (result?.repos ?? []).filter((r) => r.path).map((r) => ({ repo: r.repo, path: r.path }));
  if (paths.length) card.repoPaths = paths;
  if (result?.languages) card.languages = result.languages.slice(-LIMITS.points).map(projectLanguages);
  if (progress && state === 'computing') card.progress = { reposDone: progress.reposDone, reposTotal: progress.reposTotal };
  if (error) card.error = { code: error.code, message: error.message };
  if (computedAt) card.computedAt = computedAt;
  const ids = new Set(card.series.map((s) => s.id));
  const goals = (result?.goals ?? []).filter((g) => ids.has(g.seriesId)).map((g) => ({ seriesId: g.seriesId, goal: g.goal, verdict: g.verdict, reasons: [...g.reasons] }));
  if (goals.length) card.goals = goals;
  if (result?.unit !== undefined) card.unit = result.unit;
  if (result?.decimals !== undefined) card.decimals = result.decimals;
  return card;
}

/** A cached card shown at once after a reload, marked as such until fresh data arrives. */
export function staleCard(card: InsightCard): InsightCard {
  return { ...card, stale: true };
}
