// Output formats shared by the CLI and the insights server's exports: table (with a sparkline
// per series), CSV (one row per series, time and repository) and JSON (the documented shape).
import type { LanguagesPoint, SeriesResult } from '../../protocol/insights';

const SPARKS = '▁▂▃▄▅▆▇█';

export function sparkline(values: number[]): string {
  if (values.length === 0) return '';
  const min = Math.min(...values);
  const max = Math.max(...values);
  if (max === min) return SPARKS[values.every((v) => v === 0) ? 0 : 3].repeat(values.length);
  return values.map((v) => SPARKS[Math.round(((v - min) / (max - min)) * (SPARKS.length - 1))]).join('');
}

function pad(s: string, n: number, right = false): string {
  const len = [...s].length;
  return len >= n ? s : right ? ' '.repeat(n - len) + s : s + ' '.repeat(n - len);
}

export function renderTable(rows: string[][], rightAligned: boolean[] = []): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => [...(r[c] ?? '')].length)));
  return rows.map((r) => r.map((cell, c) => pad(cell ?? '', widths[c], rightAligned[c])).join('  ').trimEnd()).join('\n') + '\n';
}

function shortTime(iso: string): string {
  return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso.slice(0, 16).replace('T', ' ');
}

function signed(n: number): string {
  return n > 0 ? `+${n}` : String(n);
}

/** One line per series: sparkline, first and latest value, change; then the points, one row per time. */
export function seriesTable(series: SeriesResult[], title?: string): string {
  let out = title ? `${title}\n` : '';
  if (series.length === 0) return out + '  (no series)\n';
  const rows = [['series', 'trend', 'first', 'latest', 'change']];
  for (const s of series) {
    const v = s.points.map((p) => p.value);
    rows.push([s.label, sparkline(v), String(v[0] ?? ''), String(v[v.length - 1] ?? ''), v.length ? signed(v[v.length - 1] - v[0]) : '']);
  }
  out += renderTable(rows, [false, false, true, true, true]);
  return out;
}

export function pointsTable(series: SeriesResult[]): string {
  if (series.length === 0) return '';
  const rows = [['time', ...series.map((s) => s.label)]];
  // By time, not position: a command series has no point where its command gave no value.
  const times = [...new Set(series.flatMap((s) => s.points.map((p) => p.time)))].sort();
  const at = series.map((s) => new Map(s.points.map((p) => [p.time, p.value])));
  for (const t of times) rows.push([shortTime(t), ...at.map((m) => String(m.get(t) ?? ''))]);
  return renderTable(rows, [false, ...series.map(() => true)]);
}

function csvCell(v: string | number): string {
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per series, time and repository; a time no repository reaches has one row with an empty repo. */
export function seriesCsv(series: SeriesResult[]): string {
  const lines = ['series_id,label,time,repo,commit,value'];
  for (const s of series) {
    for (const p of s.points) {
      if (p.repos.length === 0) lines.push([s.id, s.label, p.time, '', '', p.value].map(csvCell).join(','));
      for (const r of p.repos) lines.push([s.id, s.label, p.time, r.repo, r.commit, r.value].map(csvCell).join(','));
    }
  }
  return lines.join('\n') + '\n';
}

export function languagesTable(points: LanguagesPoint[], title?: string): string {
  if (points.length === 1) {
    const p = points[0];
    const total = p.languages.reduce((s, l) => s + l.lines, 0);
    const rows = [['language', 'lines', 'files', 'share']];
    for (const l of p.languages) rows.push([l.language, String(l.lines), String(l.files), total ? `${((100 * l.lines) / total).toFixed(1)}%` : '']);
    rows.push(['total', String(total), String(p.languages.reduce((s, l) => s + l.files, 0)), '']);
    return `${title ?? 'lines per language'} at ${shortTime(p.time)}\n` + renderTable(rows, [false, true, true, true]);
  }
  const names = [...new Set(points.flatMap((p) => p.languages.map((l) => l.language)))];
  const last = points[points.length - 1];
  const latest = (n: string) => last.languages.find((l) => l.language === n)?.lines ?? 0;
  names.sort((a, b) => latest(b) - latest(a) || a.localeCompare(b));
  const rows = [['language', 'trend', 'first', 'latest', 'change']];
  for (const n of names.slice(0, 15)) {
    const v = points.map((p) => p.languages.find((l) => l.language === n)?.lines ?? 0);
    rows.push([n, sparkline(v), String(v[0]), String(v[v.length - 1]), signed(v[v.length - 1] - v[0])]);
  }
  let out = `${title ?? 'lines per language'}\n` + renderTable(rows, [false, false, true, true, true]);
  if (names.length > 15) out += `  (${names.length - 15} more languages; use --format json or csv for all)\n`;
  return out;
}

export function languagesCsv(points: LanguagesPoint[]): string {
  const lines = ['time,repo,commit,language,lines,files'];
  for (const p of points) for (const r of p.repos) for (const l of r.languages) lines.push([p.time, r.repo, r.commit, l.language, l.lines, l.files].map(csvCell).join(','));
  return lines.join('\n') + '\n';
}
