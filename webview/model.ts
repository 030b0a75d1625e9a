// The dashboard's data, independent of the DOM: repository filters re-sum per-repo points
// (no recomputation), and the rows behind the table view and the CSV/JSON export.
import type { LanguageCount, LanguagesPoint, SeriesPoint, SeriesResult } from '../protocol/insights';
import type { InsightCard, RepoFilter } from '../protocol/webview';

export type RepoPredicate = (repo: string) => boolean;

export class FilterError extends Error {
  readonly code = 'BAD_FILTER';
}

/** A predicate over repo identities; throws FilterError (with the field's name) for a bad regex. */
export function repoPredicate(filter: RepoFilter | undefined): RepoPredicate | undefined {
  if (!filter || (!filter.include.trim() && !filter.exclude.trim())) return undefined;
  const compile = (src: string, field: string): RegExp | undefined => {
    if (!src.trim()) return undefined;
    try {
      return new RegExp(src);
    } catch (e) {
      throw new FilterError(`${field}: ${(e as Error).message}`);
    }
  };
  const inc = compile(filter.include, 'include');
  const exc = compile(filter.exclude, 'exclude');
  return (repo) => (!inc || inc.test(repo)) && !(exc && exc.test(repo));
}

function filterPoint(p: SeriesPoint, keep: RepoPredicate): SeriesPoint {
  const repos = p.repos.filter((r) => keep(r.repo));
  return { time: p.time, value: repos.reduce((s, r) => s + r.value, 0), repos };
}

function sumLanguages(rows: LanguageCount[][]): LanguageCount[] {
  const by = new Map<string, LanguageCount>();
  for (const row of rows) {
    for (const l of row) {
      const c = by.get(l.language) ?? { language: l.language, lines: 0, files: 0 };
      c.lines += l.lines;
      c.files += l.files;
      by.set(l.language, c);
    }
  }
  return [...by.values()].sort((a, b) => b.lines - a.lines || a.language.localeCompare(b.language));
}

function filterLanguages(p: LanguagesPoint, keep: RepoPredicate): LanguagesPoint {
  const repos = p.repos.filter((r) => keep(r.repo));
  return { time: p.time, languages: sumLanguages(repos.map((r) => r.languages)), repos };
}

/** The card as seen through a repository filter: every point re-summed from its kept repos. */
export function applyFilter(card: InsightCard, keep: RepoPredicate | undefined): InsightCard {
  if (!keep) return card;
  return {
    ...card,
    series: card.series.map((s): SeriesResult => ({ ...s, points: s.points.map((p) => filterPoint(p, keep)) })),
    languages: card.languages?.map((p) => filterLanguages(p, keep)),
    missing: card.missing.filter((m) => keep(m.repo)),
  };
}

/** Every repo identity a card mentions, missing ones included (for the filter's "n of m" hint). */
export function reposOf(card: InsightCard): Set<string> {
  const out = new Set<string>();
  for (const s of card.series) for (const p of s.points) for (const r of p.repos) out.add(r.repo);
  for (const p of card.languages ?? []) for (const r of p.repos) out.add(r.repo);
  for (const m of card.missing) out.add(m.repo);
  return out;
}

/** The times of a card's points, oldest first (union over its series). */
export function timesOf(card: InsightCard): string[] {
  const set = new Set<string>();
  for (const s of card.series) for (const p of s.points) set.add(p.time);
  for (const p of card.languages ?? []) set.add(p.time);
  return [...set].sort();
}

/** Languages ranked by lines at the newest point; the rest are folded into "Other" beyond `top`. */
export function languageNames(card: InsightCard, top = 8): { shown: string[]; other: boolean } {
  const pts = card.languages ?? [];
  // Every language seen at any point, ranked by its lines at the newest point (0 if gone).
  const totals = new Map<string, number>();
  for (const p of pts) for (const l of p.languages) totals.set(l.language, 0);
  const last = pts[pts.length - 1];
  for (const l of last?.languages ?? []) totals.set(l.language, l.lines);
  const ranked = [...totals.keys()].sort((a, b) => (totals.get(b) ?? 0) - (totals.get(a) ?? 0) || a.localeCompare(b));
  return { shown: ranked.slice(0, top), other: ranked.length > top };
}

export const OTHER = 'Other';

/** Lines of `language` (or of every language not in `shown` for OTHER) at a languages point. */
export function languageLines(p: LanguagesPoint, language: string, shown: string[]): number {
  if (language === OTHER) return p.languages.filter((l) => !shown.includes(l.language)).reduce((s, l) => s + l.lines, 0);
  return p.languages.find((l) => l.language === language)?.lines ?? 0;
}

// ------------------------------------------------------------------------------ table + export

export interface TableView {
  caption: string;
  columns: string[];
  /** One row per time: the time (ISO) then one number (or null: no data) per column. */
  rows: { time: string; values: (number | null)[] }[];
}

/** The table view of a card: one row per point time, one column per series (or language). */
export function tableOf(card: InsightCard): TableView {
  const times = timesOf(card);
  if (card.kind === 'languages') {
    const pts = card.languages ?? [];
    const names = [...new Set(pts.flatMap((p) => p.languages.map((l) => l.language)))];
    const last = pts[pts.length - 1];
    names.sort((a, b) => languageLinesOf(last, b) - languageLinesOf(last, a) || a.localeCompare(b));
    return {
      caption: `${card.title}: lines per language`,
      columns: names,
      rows: pts.map((p) => ({ time: p.time, values: names.map((n) => p.languages.find((l) => l.language === n)?.lines ?? 0) })),
    };
  }
  return {
    caption: `${card.title}: values per ${card.step ?? 'point'}${card.unit ? `, in ${card.unit}` : ''}`,
    columns: card.series.map((s) => (card.unit ? `${s.label} (${card.unit})` : s.label)),
    rows: times.map((t) => ({ time: t, values: card.series.map((s) => s.points.find((p) => p.time === t)?.value ?? null) })),
  };
}

function languageLinesOf(p: LanguagesPoint | undefined, name: string): number {
  return p?.languages.find((l) => l.language === name)?.lines ?? 0;
}

/** One export row per series (or language), repository and time. */
export interface ExportRow {
  insight: string;
  series: string;
  seriesId: string;
  repo: string;
  time: string;
  commit: string;
  value: number;
}

export function exportRows(card: InsightCard): ExportRow[] {
  const rows: ExportRow[] = [];
  for (const s of card.series) {
    for (const p of s.points) {
      for (const r of p.repos) rows.push({ insight: card.title, series: s.label, seriesId: s.id, repo: r.repo, time: p.time, commit: r.commit, value: r.value });
    }
  }
  for (const p of card.languages ?? []) {
    for (const r of p.repos) {
      for (const l of r.languages) rows.push({ insight: card.title, series: l.language, seriesId: `language:${l.language}`, repo: r.repo, time: p.time, commit: r.commit, value: l.lines });
    }
  }
  return rows;
}

function csvCell(v: string | number): string {
  const s = String(v);
  // Quote what needs quoting; prefix cells a spreadsheet would run as a formula.
  const safe = /^[=+\-@\t\r]/.test(s) && typeof v === 'string' ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function toCsv(card: InsightCard): string {
  const cols: (keyof ExportRow)[] = ['insight', 'series', 'seriesId', 'repo', 'time', 'commit', 'value'];
  const lines = [cols.join(',')];
  for (const r of exportRows(card)) lines.push(cols.map((c) => csvCell(r[c])).join(','));
  return lines.join('\n') + '\n';
}

export function toJson(card: InsightCard): string {
  return JSON.stringify({ insight: card.title, key: card.key, rows: exportRows(card) }, null, 2) + '\n';
}

/** A file name from a card's title: letters, digits, dots, dashes only. */
export function exportName(card: InsightCard, ext: string): string {
  const base = card.title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'insight';
  return `${base}.${ext}`;
}

// ----------------------------------------------------------------------------------- labels

export function shortSha(commit: string): string {
  return commit.slice(0, 7);
}

/** A bucket time for people: the date, and the hour when it is not midnight UTC (the "now" point). */
export function formatTime(iso: string): string {
  const d = new Date(iso);
  const date = d.toISOString().slice(0, 10);
  return d.getUTCHours() || d.getUTCMinutes() ? `${date} ${d.toISOString().slice(11, 16)} UTC` : date;
}

/** The previous point of a series before `time` (for drill-down "since the previous point"). */
export function previousPoint(series: SeriesResult, time: string): SeriesPoint | undefined {
  let prev: SeriesPoint | undefined;
  for (const p of series.points) {
    if (p.time >= time) break;
    prev = p;
  }
  return prev;
}

/**
 * What to call a repository: its identity (host/owner/name), or for a repository without a
 * remote (`root:<hash>`) its folder name when the host said where it is.
 */
export function repoLabel(card: InsightCard, repo: string): string {
  if (!repo.startsWith('root:')) return repo;
  const path = card.repoPaths?.find((r) => r.repo === repo)?.path;
  const name = path?.split(/[\\/]/).filter(Boolean).pop();
  return name ? `${name} (${repo.slice(0, 12)}…)` : repo;
}
