// Chart.js configurations for each card kind, from a (filtered) card and the theme palette:
// lines for series, stacked area and pie for languages, bars for capture groups at the latest
// point. Tooltips give the value, the date and each repository's value at its short commit id.
import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PieController,
  PointElement,
  Tooltip,
  type ChartConfiguration,
  type TooltipItem,
} from 'chart.js';
import type { SeriesPoint } from '../protocol/insights';
import type { InsightCard } from '../protocol/webview';
import { OTHER, formatTime, languageLines, languageNames, repoLabel, shortSha, timesOf } from './model';
import { withAlpha, type Palette } from './theme';

Chart.register(LineController, BarController, PieController, LineElement, PointElement, BarElement, ArcElement, CategoryScale, LinearScale, Filler, Legend, Tooltip);

export type ChartRole = 'series' | 'latest' | 'languages' | 'languagesAt';

/** What a chart shows, kept beside the Chart.js instance for tooltips, keyboard and drill-down. */
export interface ChartModel {
  role: ChartRole;
  title: string;
  times: string[];
  labels: string[];
  datasets: { label: string; seriesId?: string; data: number[]; points?: (SeriesPoint | undefined)[] }[];
  /** Goal lines drawn after the datasets (dashed), each in the colour of its series: not data, so never picked, tabled or read by keys. */
  goalLines?: { label: string; series: number; kind: 'max' | 'min' | 'target'; data: number[] }[];
  /** A repository's name for people (see repoLabel). */
  repoName: (repo: string) => string;
  /** External series: the unit of the values (axis title, tooltip) and their fractional digits. */
  unit?: string;
  decimals?: number;
}

/** A value as people read it, with the unit of an external series (`84.7 %`, `312 s`). */
export function formatValue(v: number, unit?: string, decimals = 0): string {
  const n = v.toLocaleString('en-US', { maximumFractionDigits: Math.max(decimals, 0) });
  return unit ? `${n} ${unit}` : n;
}

export function seriesModel(card: InsightCard): ChartModel {
  const times = timesOf(card);
  const datasets = card.series.map((s) => {
    const pts = times.map((t) => s.points.find((p) => p.time === t));
    return { label: s.label, seriesId: s.id, data: pts.map((p) => (p ? p.value : NaN)), points: pts };
  });
  const goalLines = goalLinesOf(card, times, datasets);
  return {
    role: 'series',
    repoName: (r) => repoLabel(card, r),
    title: card.title,
    times,
    labels: times.map(formatTime),
    datasets,
    ...(goalLines.length ? { goalLines } : {}),
    ...(card.unit !== undefined ? { unit: card.unit } : {}),
    ...(card.decimals !== undefined ? { decimals: card.decimals } : {}),
  };
}

/**
 * Lines for the goals of a card's series: a threshold across the chart, and a target as the
 * straight line from its start (default the first point) to its value at its date, as far as
 * the chart's times reach.
 */
function goalLinesOf(card: InsightCard, times: string[], datasets: { seriesId?: string; label: string; data: number[] }[]): NonNullable<ChartModel['goalLines']> {
  const out: NonNullable<ChartModel['goalLines']> = [];
  for (const g of card.goals ?? []) {
    const series = datasets.findIndex((d) => d.seriesId === g.seriesId);
    if (series < 0) continue;
    const name = datasets[series].label;
    if (g.goal.max !== undefined) out.push({ label: `${name}: max ${g.goal.max}`, series, kind: 'max', data: times.map(() => g.goal.max!) });
    if (g.goal.min !== undefined) out.push({ label: `${name}: min ${g.goal.min}`, series, kind: 'min', data: times.map(() => g.goal.min!) });
    const t = g.goal.target;
    if (!t) continue;
    const ms = times.map((x) => Date.parse(x));
    const startMs = t.start ? Date.parse(t.start) : ms[0];
    const from = ms.findIndex((x, i) => x >= startMs && !Number.isNaN(datasets[series].data[i]));
    const due = Date.parse(t.date);
    if (from < 0 || !(due > ms[from])) continue;
    const v0 = datasets[series].data[from];
    const data = ms.map((x, i) => (i < from ? NaN : x >= due ? t.value : v0 + ((t.value - v0) * (x - ms[from])) / (due - ms[from])));
    out.push({ label: `${name}: target ${t.value} by ${t.date.slice(0, 10)}`, series, kind: 'target', data });
  }
  return out;
}

/** Capture groups: each captured value's count at the newest point. */
export function latestModel(card: InsightCard): ChartModel {
  const times = timesOf(card);
  const last = times[times.length - 1];
  const pts = card.series.map((s) => s.points.find((p) => p.time === last));
  return {
    role: 'latest',
    repoName: (r) => repoLabel(card, r),
    title: `${card.title} at ${last ? formatTime(last) : '—'}`,
    times: last ? [last] : [],
    labels: card.series.map((s) => s.capture ?? s.label),
    datasets: [{ label: last ? formatTime(last) : 'latest', data: pts.map((p) => p?.value ?? 0), points: pts }],
  };
}

export function languagesModel(card: InsightCard): ChartModel {
  const pts = card.languages ?? [];
  const { shown, other } = languageNames(card);
  const names = other ? [...shown, OTHER] : shown;
  return {
    role: 'languages',
    repoName: (r) => repoLabel(card, r),
    title: `${card.title}: lines per language`,
    times: pts.map((p) => p.time),
    labels: pts.map((p) => formatTime(p.time)),
    datasets: names.map((n) => ({ label: n, data: pts.map((p) => languageLines(p, n, shown)) })),
  };
}

/** Languages at one point (`time`; default the newest). */
export function languagesAtModel(card: InsightCard, time?: string): ChartModel {
  const pts = card.languages ?? [];
  const p = (time && pts.find((x) => x.time === time)) || pts[pts.length - 1];
  const { shown, other } = languageNames(card);
  const names = other ? [...shown, OTHER] : shown;
  return {
    role: 'languagesAt',
    repoName: (r) => repoLabel(card, r),
    title: p ? `Languages at ${formatTime(p.time)}` : 'Languages',
    times: p ? [p.time] : [],
    labels: names,
    datasets: [{ label: p ? formatTime(p.time) : '', data: p ? names.map((n) => languageLines(p, n, shown)) : [] }],
  };
}

function repoLines(p: SeriesPoint | undefined, name: (repo: string) => string, unit?: string, decimals?: number): string[] {
  if (!p) return [];
  return p.repos.map((r) => `  ${name(r.repo)}: ${formatValue(r.value, unit, decimals)} @ ${shortSha(r.commit)}`);
}

export function chartConfig(model: ChartModel, palette: Palette, onPick: (datasetIndex: number, index: number) => void): ChartConfiguration {
  const colour = (i: number) => palette.series[i % palette.series.length];
  const common = {
    responsive: true,
    maintainAspectRatio: false,
    animation: { duration: 300 },
    color: palette.foreground,
    font: { family: getComputedStyle(document.body).getPropertyValue('--vscode-font-family').trim() || undefined },
    onClick: (_e: unknown, els: { datasetIndex: number; index: number }[]) => {
      const el = els.find((e) => e.datasetIndex < model.datasets.length);
      if (el) onPick(el.datasetIndex, el.index);
    },
  };
  const legend = {
    labels: { color: palette.foreground, boxWidth: 12 },
    // Clicking a legend entry toggles its series (Chart.js default), kept keyboard-reachable by the app.
  };
  const tooltip = {
    callbacks: {
      title: (items: TooltipItem<'line' | 'bar' | 'pie'>[]) => (items[0] ? (model.role === 'latest' || model.role === 'languagesAt' ? model.datasets[0].label : model.labels[items[0].dataIndex]) : ''),
      label: (item: TooltipItem<'line' | 'bar' | 'pie'>) => {
        const goal = model.goalLines?.[item.datasetIndex - model.datasets.length];
        if (goal) return `${goal.label}${goal.kind === 'target' && !Number.isNaN(goal.data[item.dataIndex]) ? ` (${Math.round(goal.data[item.dataIndex] * 10) / 10} here)` : ''}`;
        const ds = model.datasets[item.datasetIndex];
        const v = ds.data[item.dataIndex];
        const name = model.role === 'latest' || model.role === 'languagesAt' ? model.labels[item.dataIndex] : ds.label;
        return `${name}: ${Number.isNaN(v) ? 'no data' : formatValue(v, model.unit, model.decimals)}`;
      },
      afterLabel: (item: TooltipItem<'line' | 'bar' | 'pie'>) => repoLines(model.datasets[item.datasetIndex]?.points?.[item.dataIndex], model.repoName, model.unit, model.decimals),
    },
  };
  const scales = (stacked: boolean) => ({
    x: { ticks: { color: palette.muted }, grid: { color: palette.grid }, stacked },
    y: {
      beginAtZero: true,
      ticks: { color: palette.muted, precision: model.decimals ?? 0 },
      grid: { color: palette.grid },
      stacked,
      // The unit of an external series names the axis (coverage in %, build time in s).
      ...(model.unit ? { title: { display: true, text: model.unit, color: palette.muted } } : {}),
    },
  });

  if (model.role === 'series' || model.role === 'languages') {
    const area = model.role === 'languages';
    return {
      type: 'line',
      data: {
        labels: model.labels,
        datasets: model.datasets.map((d, i) => ({
          label: d.label,
          data: d.data,
          borderColor: colour(i),
          backgroundColor: area ? withAlpha(colour(i), 0.35) : colour(i),
          borderWidth: palette.lineWidth,
          pointRadius: palette.lineWidth + 1,
          pointHoverRadius: palette.lineWidth + 4,
          fill: area ? (i === 0 ? 'origin' : '-1') : false,
          spanGaps: false,
          tension: 0,
        })).concat((model.goalLines ?? []).map((g) => ({
          label: g.label,
          data: g.data,
          borderColor: colour(g.series),
          backgroundColor: colour(g.series),
          borderWidth: Math.max(1, palette.lineWidth - 1),
          borderDash: g.kind === 'target' ? [2, 4] : [8, 4],
          pointRadius: 0,
          pointHoverRadius: 0,
          fill: false,
          spanGaps: false,
          tension: 0,
        }) as never)),
      },
      options: { ...common, interaction: { mode: 'nearest', intersect: false, axis: 'x' }, plugins: { legend, tooltip }, scales: scales(area) },
    } as ChartConfiguration;
  }
  if (model.role === 'latest') {
    return {
      type: 'bar',
      data: {
        labels: model.labels,
        datasets: [{ label: model.datasets[0].label, data: model.datasets[0].data, backgroundColor: model.labels.map((_, i) => colour(i)), borderColor: palette.foreground, borderWidth: palette.lineWidth > 2 ? 1 : 0 }],
      },
      options: { ...common, plugins: { legend: { display: false }, tooltip }, scales: scales(false) },
    } as ChartConfiguration;
  }
  return {
    type: 'pie',
    data: {
      labels: model.labels,
      datasets: [{ label: model.datasets[0].label, data: model.datasets[0].data, backgroundColor: model.labels.map((_, i) => colour(i)), borderColor: palette.background, borderWidth: palette.lineWidth > 2 ? 2 : 1 }],
    },
    options: { ...common, plugins: { legend: { ...legend, position: 'right' }, tooltip } },
  } as ChartConfiguration;
}

export { Chart };
