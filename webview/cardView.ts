// One dashboard card: title and state, the honest status (computing, partial, failed, cached),
// its charts, the data-table view, export controls and the drill-down list. Keyboard: on a
// focused chart, ←/→ move between points, ↑/↓ between series, Enter drills down, H hides or
// shows the focused series (as its legend entry does), Escape returns to the card. Every chart has an aria-label summary and a table with the same numbers.
import type { TextExportFormat } from '../protocol/insights';
import type { InsightCard } from '../protocol/webview';
import { Chart, chartConfig, formatValue, languagesAtModel, languagesModel, latestModel, seriesModel, type ChartModel } from './charts';
import { DrillDownView, type DrillCallbacks, type DrillTarget } from './drillDownView';
import { badge, button, progressBar } from './elements';
import { formatTime, previousPoint, shortSha, tableOf } from './model';
import type { Palette } from './theme';

export interface CardCallbacks extends DrillCallbacks {
  export(card: InsightCard, format: TextExportFormat): void;
  copyPng(card: InsightCard, canvas: HTMLCanvasElement): void;
  announce(text: string): void;
  move(key: string, delta: number): void;
  tableToggled(key: string, visible: boolean): void;
}

interface Mounted {
  model: ChartModel;
  chart: Chart;
  canvas: HTMLCanvasElement;
  focus: { ds: number; idx: number };
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

const STATE_TEXT: Record<InsightCard['state'], string> = {
  idle: 'Not computed',
  computing: 'Computing',
  partial: 'Partial',
  done: 'Up to date',
  failed: 'Failed',
};

export class CardView {
  readonly root = el('article', undefined, 'card');
  private header = el('header');
  private titleEl = el('h2');
  private stateEl = el('span', undefined, 'state');
  private status = el('div', undefined, 'status');
  private chartsEl = el('div', undefined, 'charts');
  private tableEl = el('div', undefined, 'table-view');
  private tableButton: HTMLElement;
  private mounted: Mounted[] = [];
  private card!: InsightCard;
  private palette!: Palette;
  private showTable = false;
  private languagesTime: string | undefined;
  readonly drill: DrillDownView;

  constructor(readonly key: string, private readonly cb: CardCallbacks, private readonly canDrill: boolean) {
    this.root.tabIndex = 0;
    this.root.dataset.key = key;
    this.root.draggable = true;
    this.titleEl.id = `title-${encodeURIComponent(key).replace(/%/g, '_')}`;
    this.root.setAttribute('aria-labelledby', this.titleEl.id);
    const tools = el('div', undefined, 'tools');
    this.tableButton = button('Table', () => this.toggleTable(), { secondary: true, title: 'Show the numbers as a table' });
    this.tableButton.setAttribute('aria-pressed', 'false');
    tools.append(
      this.tableButton,
      button('CSV', () => this.cb.export(this.card, 'csv'), { secondary: true, ariaLabel: 'Export CSV', title: 'Export one row per series, repository and time as CSV' }),
      button('JSON', () => this.cb.export(this.card, 'json'), { secondary: true, ariaLabel: 'Export JSON', title: 'Export one row per series, repository and time as JSON' }),
      button('PNG', () => this.mounted[0] && this.cb.copyPng(this.card, this.mounted[0].canvas), { secondary: true, ariaLabel: 'Copy chart as PNG', title: 'Copy the chart as a PNG image' }),
    );
    const titleRow = el('div', undefined, 'title-row');
    titleRow.append(this.titleEl, this.stateEl);
    this.header.append(titleRow, tools);
    this.drill = new DrillDownView(cb);
    this.tableEl.hidden = true;
    this.root.append(this.header, this.status, this.chartsEl, this.tableEl, this.drill.root);
    this.root.addEventListener('keydown', (e) => {
      if (e.target !== this.root) return;
      if (e.altKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) {
        e.preventDefault();
        this.cb.move(this.key, e.key === 'ArrowUp' ? -1 : 1);
      } else if (e.key === 'Enter' && this.mounted[0]) {
        e.preventDefault();
        this.mounted[0].canvas.focus();
      }
    });
  }

  get data(): InsightCard {
    return this.card;
  }

  setTableVisible(v: boolean): void {
    this.showTable = v;
    this.tableButton.setAttribute('aria-pressed', String(v));
    this.tableEl.hidden = !v;
    // A table restored from saved state is drawn with the card's first render.
    if (v && this.card) this.renderTable();
  }

  get tableVisible(): boolean {
    return this.showTable;
  }

  toggleTable(): void {
    this.setTableVisible(!this.showTable);
    this.cb.tableToggled(this.key, this.showTable);
  }

  /** Renders `card` (already filtered). Charts of the same shape update in place and animate. */
  render(card: InsightCard, palette: Palette): void {
    const themeChanged = this.palette !== palette;
    this.card = card;
    this.palette = palette;
    this.titleEl.textContent = card.title;
    this.stateEl.replaceChildren(badge(card.stale ? `${STATE_TEXT[card.state]} (cached)` : STATE_TEXT[card.state]));
    this.root.dataset.state = card.state;
    this.root.setAttribute('aria-busy', String(card.state === 'computing'));
    this.renderStatus();
    const models = this.models();
    const sameShape =
      !themeChanged &&
      models.length === this.mounted.length &&
      models.every((m, i) => m.role === this.mounted[i].model.role && m.datasets.length === this.mounted[i].model.datasets.length && (m.goalLines?.length ?? 0) === (this.mounted[i].model.goalLines?.length ?? 0) && m.datasets.every((d, j) => d.label === this.mounted[i].model.datasets[j].label));
    if (sameShape) {
      models.forEach((m, i) => this.updateInPlace(this.mounted[i], m));
    } else {
      this.destroyCharts();
      for (const m of models) this.mount(m);
    }
    if (this.showTable) this.renderTable();
  }

  private models(): ChartModel[] {
    const c = this.card;
    if (c.kind === 'languages') return c.languages && c.languages.length ? [languagesModel(c), languagesAtModel(c, this.languagesTime)] : [];
    if (!c.series.some((s) => s.points.length)) return [];
    return c.kind === 'capture' ? [seriesModel(c), latestModel(c)] : [seriesModel(c)];
  }

  private renderStatus(): void {
    const c = this.card;
    const parts: HTMLElement[] = [];
    if (c.state === 'computing') {
      const p = c.progress ? ` (${c.progress.reposDone} of ${c.progress.reposTotal} repositories done)` : '';
      parts.push(progressBar(`Computing ${c.title}`), el('p', `Computing${p}…`));
    }
    if (c.stale && c.computedAt) parts.push(el('p', `Showing cached data from ${formatTime(c.computedAt)} while it refreshes.`, 'muted'));
    if (c.state === 'failed' || c.error) {
      parts.push(el('p', `${c.error ? `${c.error.code}: ${c.error.message}` : 'The computation failed.'}`, 'error'));
    }
    for (const s of c.series) if (s.error) parts.push(el('p', `${s.label}: ${s.error}`, 'error'));
    // The org page: an org-defined insight whose backfill is still running (or has failures).
    if (c.state === 'partial' && c.progress) parts.push(el('p', `Incomplete: ${c.progress.reposDone} of ${c.progress.reposTotal} repositories.`, 'incomplete'));
    // A series that breaks its goal marks the card, with the reason.
    const goals = (c.goals ?? []).filter((g) => g.verdict !== 'ok');
    this.root.dataset.goal = goals.some((g) => g.verdict === 'broken') ? 'broken' : goals.length ? 'warn' : '';
    for (const g of goals) {
      const label = c.series.find((s) => s.id === g.seriesId)?.label ?? g.seriesId;
      parts.push(el('p', `${g.verdict === 'broken' ? 'Goal broken' : 'Goal at risk'}: ${label}: ${g.reasons.join('; ')}`, g.verdict === 'broken' ? 'error goal' : 'warn goal'));
    }
    if (c.missing.length) {
      const pending = c.missing.filter((m) => m.status === 'pending').length;
      const head = c.state === 'partial' || c.state === 'computing'
        ? `Partial: ${c.missing.length} ${c.missing.length === 1 ? 'repository is' : 'repositories are'} not in these numbers${pending ? ` (${pending} still computing)` : ''}.`
        : `${c.missing.length} ${c.missing.length === 1 ? 'repository needs' : 'repositories need'} attention:`;
      const details = el('details', undefined, 'missing');
      details.open = c.missing.length <= 3;
      details.append(el('summary', head));
      const ul = el('ul');
      for (const m of c.missing) ul.append(el('li', `${m.repo}${m.path ? ` (${m.path})` : ''} — ${m.status}: ${m.reason}`));
      details.append(ul);
      parts.push(details);
    }
    const noData = c.state !== 'computing' && c.state !== 'failed' && (c.kind === 'languages' ? !(c.languages && c.languages.length) : !c.series.some((s) => s.points.length));
    if (noData) parts.push(el('p', c.state === 'idle' ? 'Not computed yet.' : 'No data: no repository in scope has commits in this range.', 'muted'));
    this.status.replaceChildren(...parts);
  }

  private summary(m: ChartModel): string {
    const kind = { series: 'Line chart', latest: 'Bar chart', languages: 'Stacked area chart', languagesAt: 'Pie chart' }[m.role];
    const n = m.datasets.length;
    if (m.role === 'latest' || m.role === 'languagesAt') {
      const parts = m.labels.map((l, i) => `${l} ${m.datasets[0].data[i]}`);
      return `${m.title}. ${kind}: ${parts.join(', ')}. Use arrow keys to read each value.`;
    }
    const last = m.labels.length - 1;
    const latest = m.datasets.map((d) => `${d.label} ${Number.isNaN(d.data[last]) ? 'no data' : d.data[last]}`).join(', ');
    return `${m.title}. ${kind} of ${n} series over ${m.labels.length} points from ${m.labels[0]} to ${m.labels[last]}. Latest: ${latest}. Use arrow keys to read points${this.canDrill && m.role === 'series' && this.card.kind !== 'command' ? ', Enter to drill down' : ''}, H to hide or show a series.`;
  }

  private mount(m: ChartModel): void {
    const wrap = el('div', undefined, `chart chart-${m.role}`);
    const canvas = el('canvas');
    canvas.tabIndex = 0;
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', this.summary(m));
    canvas.dataset.role = m.role;
    wrap.append(canvas);
    this.chartsEl.append(wrap);
    const mounted: Mounted = { model: m, canvas, chart: undefined as unknown as Chart, focus: { ds: 0, idx: Math.max(0, m.labels.length - 1) } };
    mounted.chart = new Chart(canvas, chartConfig(m, this.palette, (ds, idx) => this.pick(mounted, ds, idx)));
    canvas.addEventListener('keydown', (e) => this.onChartKey(mounted, e));
    this.mounted.push(mounted);
  }

  private updateInPlace(mt: Mounted, m: ChartModel): void {
    mt.model = m;
    const cfg = chartConfig(m, this.palette, (ds, idx) => this.pick(mt, ds, idx));
    mt.chart.data.labels = cfg.data.labels;
    cfg.data.datasets.forEach((d, i) => {
      mt.chart.data.datasets[i].data = d.data;
    });
    mt.chart.options.onClick = cfg.options?.onClick;
    mt.chart.options.plugins!.tooltip = cfg.options?.plugins?.tooltip;
    mt.canvas.setAttribute('aria-label', this.summary(m));
    mt.focus.idx = Math.min(mt.focus.idx, Math.max(0, m.labels.length - 1));
    mt.chart.update();
  }

  private destroyCharts(): void {
    for (const m of this.mounted) m.chart.destroy();
    this.mounted = [];
    this.chartsEl.replaceChildren();
  }

  destroy(): void {
    this.destroyCharts();
    this.root.remove();
  }

  /** The Chart.js data of every chart, for inspection (tests, debugging). */
  inspect(): { role: string; labels: string[]; datasets: { label: string; data: (number | null)[]; hidden: boolean; color: string; width: number }[] }[] {
    return this.mounted.map((m) => ({
      role: m.model.role,
      labels: (m.chart.data.labels ?? []).map(String),
      datasets: m.chart.data.datasets.map((d, i) => ({
        label: String(d.label ?? ''),
        data: (d.data as number[]).map((v) => (Number.isNaN(v) ? null : v)),
        hidden: !m.chart.isDatasetVisible(i),
        color: String(Array.isArray(d.backgroundColor) ? d.backgroundColor[0] : (d as { borderColor?: unknown }).borderColor ?? d.backgroundColor),
        width: Number((d as { borderWidth?: unknown }).borderWidth ?? 0),
      })),
    }));
  }

  private onChartKey(m: Mounted, e: KeyboardEvent): void {
    const single = m.model.role === 'latest' || m.model.role === 'languagesAt';
    const nPoints = single ? m.model.labels.length : m.model.labels.length;
    const nSeries = single ? 1 : m.model.datasets.length;
    let { ds, idx } = m.focus;
    switch (e.key) {
      case 'ArrowRight': idx = Math.min(nPoints - 1, idx + 1); break;
      case 'ArrowLeft': idx = Math.max(0, idx - 1); break;
      case 'Home': idx = 0; break;
      case 'End': idx = nPoints - 1; break;
      case 'ArrowDown': ds = Math.min(nSeries - 1, ds + 1); break;
      case 'ArrowUp': ds = Math.max(0, ds - 1); break;
      case 'Enter':
      case ' ':
        e.preventDefault();
        this.pick(m, ds, idx);
        return;
      case 'h':
      case 'H': {
        // The legend's toggle, from the keyboard: hide or show the focused series.
        if (single) return;
        e.preventDefault();
        const visible = m.chart.isDatasetVisible(ds);
        m.chart.setDatasetVisibility(ds, !visible);
        m.chart.update();
        this.cb.announce(`${m.model.datasets[ds].label} ${visible ? 'hidden' : 'shown'}`);
        return;
      }
      case 'Escape':
        e.preventDefault();
        m.chart.setActiveElements([]);
        m.chart.tooltip?.setActiveElements([], { x: 0, y: 0 });
        m.chart.update();
        this.root.focus();
        return;
      default:
        return;
    }
    e.preventDefault();
    m.focus = { ds, idx };
    this.highlight(m);
  }

  private highlight(m: Mounted): void {
    const { ds, idx } = m.focus;
    const active = [{ datasetIndex: ds, index: idx }];
    m.chart.setActiveElements(active);
    const meta = m.chart.getDatasetMeta(ds).data[idx];
    m.chart.tooltip?.setActiveElements(active, { x: meta?.x ?? 0, y: meta?.y ?? 0 });
    m.chart.update();
    this.cb.announce(this.describePoint(m, ds, idx));
  }

  /** What a screen reader hears for a point: series, date, value, and each repo at its commit. */
  describePoint(m: Mounted, ds: number, idx: number): string {
    const d = m.model.datasets[ds];
    const single = m.model.role === 'latest' || m.model.role === 'languagesAt';
    const name = single ? m.model.labels[idx] : d.label;
    const when = single ? d.label : m.model.labels[idx];
    const v = d.data[idx];
    const show = (x: number) => formatValue(x, m.model.unit, m.model.decimals);
    const repos = d.points?.[idx]?.repos.map((r) => `${m.model.repoName(r.repo)} ${show(r.value)} at ${shortSha(r.commit)}`).join('; ');
    return `${name}, ${when}: ${Number.isNaN(v) ? 'no data' : show(v)}${repos ? `. ${repos}` : ''}`;
  }

  /** A point chosen by click or keyboard: languages pick the pie's time; series drill down. */
  private pick(m: Mounted, ds: number, idx: number): void {
    m.focus = { ds, idx };
    if (m.model.role === 'languages') {
      this.languagesTime = m.model.times[idx];
      const pie = this.mounted.find((x) => x.model.role === 'languagesAt');
      if (pie) {
        const model = languagesAtModel(this.card, this.languagesTime);
        this.updateInPlace(pie, model);
        this.cb.announce(`${model.title}: ${model.labels.map((l, i) => `${l} ${model.datasets[0].data[i]}`).join(', ')}`);
      }
      return;
    }
    // A command series' value is what its command printed, not a count over files: nothing to drill into.
    if (!this.canDrill || this.card.kind === 'command') return;
    const c = this.card;
    let series = c.series[ds];
    let point = m.model.datasets[ds].points?.[idx];
    if (m.model.role === 'latest') {
      series = c.series[idx];
      point = m.model.datasets[0].points?.[idx];
    }
    if (!series || !point) return;
    const target: DrillTarget = { key: c.key, seriesId: series.id, seriesLabel: series.capture ?? series.label, point, previous: previousPoint(series, point.time), repoName: m.model.repoName };
    this.drill.open(target);
  }

  private renderTable(): void {
    const t = tableOf(this.card);
    const table = el('table');
    table.append(el('caption', t.caption));
    const thead = el('thead');
    const hr = el('tr');
    const th0 = el('th', 'Time');
    th0.scope = 'col';
    hr.append(th0);
    for (const c of t.columns) {
      const th = el('th', c);
      th.scope = 'col';
      hr.append(th);
    }
    thead.append(hr);
    const tbody = el('tbody');
    for (const r of t.rows) {
      const tr = el('tr');
      const th = el('th', formatTime(r.time));
      th.scope = 'row';
      tr.append(th);
      for (const v of r.values) tr.append(el('td', v === null ? '—' : String(v)));
      tbody.append(tr);
    }
    table.append(thead, tbody);
    this.tableEl.replaceChildren(table);
  }
}
