// The dashboard app: holds the cards the host sent, applies the repository filter (re-summing
// per-repo points), lays cards out in the dashboard's order, and turns user actions into view
// messages. Keyboard: ↑/↓ (or Home/End) move between cards, Alt+↑/↓ moves a card, Enter enters
// its chart. It talks to its host only through a HostChannel.
import type { TextExportFormat } from '../protocol/insights';
import { WEBVIEW_PROTOCOL_VERSION, type DashboardLayout, type HostCapabilities, type HostMessage, type InsightCard, type RepoFilter, type ThemeKind } from '../protocol/webview';
import { CardView } from './cardView';
import type { DrillTarget } from './drillDownView';
import { button, select, textField, type TextField } from './elements';
import type { HostChannel } from './hostChannel';
import { HostRequestError, HostRequests } from './hostRequests';
import { FilterError, applyFilter, exportName, repoPredicate, reposOf, toCsv, toJson, type RepoPredicate } from './model';
import { detectThemeKind, readPalette, type Palette } from './theme';

interface SavedState {
  filter?: RepoFilter;
  tables?: string[];
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

export class DashboardApp {
  private cards = new Map<string, InsightCard>();
  private views = new Map<string, CardView>();
  private layout: DashboardLayout = { dashboards: [], active: '', order: [] };
  private capabilities: HostCapabilities = { drillDown: false, openFile: false, reorder: false, saveExport: false };
  private theme: ThemeKind;
  private palette: Palette;
  private filter: RepoFilter = { include: '', exclude: '' };
  private keep: RepoPredicate | undefined;
  private readonly requests: HostRequests;
  private readonly toolbar = el('div', undefined, 'toolbar');
  private readonly list = el('div', undefined, 'cards');
  private readonly live = el('div', undefined, 'sr-only');
  private readonly notice = el('p', undefined, 'notice');
  private readonly filterNote = el('span', undefined, 'muted');
  private readonly dashSelect = el('span');
  private includeField!: TextField;
  private excludeField!: TextField;
  private received = false;
  private tables = new Set<string>();

  constructor(private readonly root: HTMLElement, private readonly channel: HostChannel) {
    this.requests = new HostRequests((m) => channel.post(m));
    this.theme = detectThemeKind();
    document.documentElement.dataset.themeKind = this.theme;
    root.classList.add('ci-root');
    this.palette = readPalette(this.theme, root);
    const saved = (channel.loadState() ?? {}) as SavedState;
    if (saved.filter && typeof saved.filter.include === 'string' && typeof saved.filter.exclude === 'string') this.filter = { include: saved.filter.include, exclude: saved.filter.exclude };
    if (Array.isArray(saved.tables)) this.tables = new Set(saved.tables.filter((x) => typeof x === 'string'));
    this.live.setAttribute('aria-live', 'polite');
    this.live.setAttribute('role', 'status');
    this.list.setAttribute('role', 'list');
    this.list.setAttribute('aria-label', 'Insight cards');
    this.notice.setAttribute('role', 'status');
    this.notice.textContent = 'Waiting for insights…';
    this.buildToolbar();
    root.replaceChildren(this.toolbar, this.notice, this.list, this.live);
    this.list.addEventListener('keydown', (e) => this.onListKey(e));
    this.enableDrag();
    // VS Code flips body classes on a theme change; a page may flip data-theme. Either redraws.
    new MutationObserver(() => this.setTheme(detectThemeKind())).observe(document.body, { attributes: true, attributeFilter: ['class'] });
    new MutationObserver(() => this.setTheme(detectThemeKind())).observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
    channel.listen(
      (m) => this.onMessage(m),
      (err) => this.showNotice(`Ignored a message from the host: ${err.message}`),
    );
    this.applyFilterText(this.filter, false);
    channel.post({ type: 'ready', protocolVersion: WEBVIEW_PROTOCOL_VERSION });
  }

  private buildToolbar(): void {
    const onFilter = () => this.applyFilterText({ include: this.includeField.value, exclude: this.excludeField.value }, true);
    this.includeField = textField('Include repositories (regular expression)', this.filter.include, 'include repos (regex)', onFilter);
    this.excludeField = textField('Exclude repositories (regular expression)', this.filter.exclude, 'exclude repos (regex)', onFilter);
    const refresh = button('Refresh', () => this.channel.post({ type: 'refresh' }), { secondary: true, title: 'Recompute every insight' });
    this.toolbar.setAttribute('role', 'toolbar');
    this.toolbar.setAttribute('aria-label', 'Dashboard');
    this.toolbar.append(this.dashSelect, this.includeField, this.excludeField, this.filterNote, refresh);
  }

  private onMessage(m: HostMessage): void {
    switch (m.type) {
      case 'dashboard':
        this.received = true;
        this.capabilities = m.capabilities;
        this.layout = m.layout;
        if (m.capabilities.filterBy === 'host') this.keep = undefined;
        this.cards = new Map(m.cards.map((c) => [c.key, c]));
        if (m.filter) {
          this.includeField.value = m.filter.include;
          this.excludeField.value = m.filter.exclude;
          this.applyFilterText(m.filter, false);
        }
        for (const v of this.views.values()) v.destroy();
        this.views.clear();
        this.setTheme(m.theme, false);
        this.renderAll();
        return;
      case 'card':
        this.cards.set(m.card.key, m.card);
        if (!this.layout.order.includes(m.card.key)) this.layout.order.push(m.card.key);
        this.renderAll();
        return;
      case 'cardRemoved':
        this.cards.delete(m.key);
        this.views.get(m.key)?.destroy();
        this.views.delete(m.key);
        this.layout.order = this.layout.order.filter((k) => k !== m.key);
        this.renderAll();
        return;
      case 'layout':
        this.layout = m.layout;
        this.renderAll();
        return;
      case 'theme':
        this.setTheme(m.theme);
        return;
      case 'response':
        this.requests.settle(m);
        return;
      case 'exportDone':
        this.announce(m.message);
        if (!m.ok) this.showNotice(m.message);
        return;
    }
  }

  private setTheme(kind: ThemeKind, render = true): void {
    document.documentElement.dataset.themeKind = kind;
    const palette = readPalette(kind, this.root);
    if (kind === this.theme && JSON.stringify(palette) === JSON.stringify(this.palette)) return;
    this.theme = kind;
    this.palette = palette;
    if (render) this.renderAll();
  }

  private showNotice(text: string): void {
    this.notice.textContent = text;
    this.notice.hidden = !text;
  }

  private applyFilterText(filter: RepoFilter, notifyHost: boolean): void {
    try {
      const keep = repoPredicate(filter);
      // With a host-side filter the host sends re-summed cards; the app only checks the regex.
      this.keep = this.capabilities.filterBy === 'host' ? undefined : keep;
      this.includeField.invalid = false;
      this.excludeField.invalid = false;
      this.filter = filter;
      this.filterNote.textContent = '';
    } catch (e) {
      if (!(e instanceof FilterError)) throw e;
      // Keep showing the last good filter; say what is wrong with the new one.
      (e.message.startsWith('include') ? this.includeField : this.excludeField).invalid = true;
      this.filterNote.textContent = `${e.code}: ${e.message}`;
      return;
    }
    this.saveState();
    if (notifyHost) this.channel.post({ type: 'filter', filter: this.filter });
    if (this.received) this.renderAll();
  }

  private saveState(): void {
    const s: SavedState = { filter: this.filter, tables: [...this.tables] };
    this.channel.saveState(s);
  }

  private renderDashboards(): void {
    const ds = this.layout.dashboards;
    if (ds.length <= 1) {
      this.dashSelect.replaceChildren(el('strong', ds[0]?.title ?? 'Insights'));
      return;
    }
    this.dashSelect.replaceChildren(
      select('Dashboard', ds.map((d) => ({ value: d.id, label: d.title })), this.layout.active, (v) => {
        if (v && v !== this.layout.active) this.channel.post({ type: 'selectDashboard', dashboard: v });
      }),
    );
  }

  private ordered(): string[] {
    const order = this.layout.order.filter((k) => this.cards.has(k));
    return order;
  }

  private renderAll(): void {
    this.renderDashboards();
    const order = this.ordered();
    this.showNotice(this.received && order.length === 0 ? 'No insights on this dashboard yet.' : '');
    if (!this.received) this.showNotice('Waiting for insights…');
    // Cards no longer on this dashboard go away.
    for (const [k, v] of this.views) {
      if (!order.includes(k)) {
        v.destroy();
        this.views.delete(k);
      }
    }
    const allRepos = new Set<string>();
    order.forEach((key, i) => {
      const card = this.cards.get(key)!;
      let view = this.views.get(key);
      if (!view) {
        view = new CardView(key, this.cardCallbacks(), this.capabilities.drillDown);
        if (this.tables.has(key)) view.setTableVisible(true);
        this.views.set(key, view);
      }
      view.root.setAttribute('role', 'listitem');
      view.root.setAttribute('aria-posinset', String(i + 1));
      view.root.setAttribute('aria-setsize', String(order.length));
      if (this.list.children[i] !== view.root) this.list.insertBefore(view.root, this.list.children[i] ?? null);
      for (const r of reposOf(card)) allRepos.add(r);
      view.render(applyFilter(card, this.keep), this.palette);
    });
    if (this.keep && !this.filterNote.textContent?.startsWith('BAD_FILTER')) {
      this.filterNote.textContent = `Showing ${[...allRepos].filter(this.keep).length} of ${allRepos.size} repositories.`;
    }
  }

  private cardCallbacks() {
    return {
      export: (card: InsightCard, format: TextExportFormat) => this.exportText(card, format),
      copyPng: (card: InsightCard, canvas: HTMLCanvasElement) => void this.copyPng(card, canvas),
      announce: (t: string) => this.announce(t),
      move: (key: string, delta: number) => this.move(key, delta),
      tableToggled: (key: string, visible: boolean) => this.tableToggled(key, visible),
      request: (target: DrillTarget, repo: string) => this.requestDrill(target, repo),
      openFile: this.capabilities.openFile
        ? (target: DrillTarget, repo: string, commit: string, path: string) => this.channel.post({ type: 'openFile', key: target.key, seriesId: target.seriesId, repo, commit, path })
        : undefined,
      close: () => {
        for (const v of this.views.values()) if (v.root.contains(document.activeElement)) v.drill.hide();
      },
    };
  }

  private requestDrill(t: DrillTarget, repo: string): void {
    const rp = t.point.repos.find((r) => r.repo === repo);
    if (!rp) return;
    const prev = t.previous?.repos.find((r) => r.repo === repo);
    const answered = this.requests.send('drillDown', {
      key: t.key,
      seriesId: t.seriesId,
      repo,
      commit: rp.commit,
      time: t.point.time,
      ...(prev ? { previousCommit: prev.commit, previousTime: t.previous!.time } : {}),
    });
    answered.then(
      (result) => this.views.get(t.key)?.drill.showResult(result),
      (e: unknown) => this.views.get(t.key)?.drill.showError(e instanceof HostRequestError ? `${e.code}: ${e.message}` : String(e)),
    );
  }

  private exportText(card: InsightCard, format: TextExportFormat): void {
    // Exports what the card shows: with a repository filter, only the kept repositories.
    const shown = applyFilter(card, this.keep);
    const content = format === 'csv' ? toCsv(shown) : toJson(shown);
    const filename = exportName(card, format);
    if (this.capabilities.saveExport) this.channel.post({ type: 'export', key: card.key, format, filename, content });
    else this.download(filename, format === 'csv' ? 'text/csv' : 'application/json', content);
  }

  private download(filename: string, mime: string, content: string | Blob): void {
    const url = URL.createObjectURL(content instanceof Blob ? content : new Blob([content], { type: mime }));
    const a = el('a');
    a.href = url;
    a.download = filename;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    this.announce(`Downloaded ${filename}`);
  }

  private async copyPng(card: InsightCard, canvas: HTMLCanvasElement): Promise<void> {
    // The canvas is transparent; paint the theme background under it so the image reads anywhere.
    const out = el('canvas');
    out.width = canvas.width;
    out.height = canvas.height;
    const ctx = out.getContext('2d')!;
    ctx.fillStyle = this.palette.background;
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.drawImage(canvas, 0, 0);
    const blob = await new Promise<Blob | null>((r) => out.toBlob(r, 'image/png'));
    if (!blob) return this.showNotice('Could not draw the chart as PNG.');
    try {
      // A clipboard closed to this frame may reject or never settle: give it a moment only.
      await Promise.race([
        navigator.clipboard.write([new ClipboardItem({ 'image/png': blob })]),
        new Promise((_, reject) => setTimeout(() => reject(new Error('clipboard timeout')), 1500)),
      ]);
      this.announce('Chart copied to the clipboard as PNG.');
      return;
    } catch {
      // The clipboard is often closed to webviews: save the image instead.
    }
    const filename = exportName(card, 'png');
    if (this.capabilities.saveExport) this.channel.post({ type: 'export', key: card.key, format: 'png', filename, content: out.toDataURL('image/png') });
    else this.download(filename, 'image/png', blob);
  }

  private announce(text: string): void {
    // Clear first so the same text twice is still read.
    this.live.textContent = '';
    setTimeout(() => (this.live.textContent = text), 30);
  }

  private move(key: string, delta: number): void {
    if (!this.capabilities.reorder) return;
    const order = this.ordered();
    const i = order.indexOf(key);
    const j = i + delta;
    if (i < 0 || j < 0 || j >= order.length) return;
    [order[i], order[j]] = [order[j], order[i]];
    this.commitOrder(order);
    this.views.get(key)?.root.focus();
    this.announce(`Moved ${this.cards.get(key)?.title ?? key} to position ${j + 1} of ${order.length}`);
  }

  private commitOrder(order: string[]): void {
    const rest = this.layout.order.filter((k) => !order.includes(k));
    this.layout = { ...this.layout, order: [...order, ...rest] };
    this.renderAll();
    this.channel.post({ type: 'reorder', dashboard: this.layout.active, order: this.layout.order });
  }

  private onListKey(e: KeyboardEvent): void {
    const cards = [...this.list.children] as HTMLElement[];
    const i = cards.indexOf(e.target as HTMLElement);
    if (i < 0 || e.altKey) return;
    let j = i;
    if (e.key === 'ArrowDown' || e.key === 'ArrowRight') j = Math.min(cards.length - 1, i + 1);
    else if (e.key === 'ArrowUp' || e.key === 'ArrowLeft') j = Math.max(0, i - 1);
    else if (e.key === 'Home') j = 0;
    else if (e.key === 'End') j = cards.length - 1;
    else if (e.key === 't' || e.key === 'T') {
      const v = this.views.get(cards[i].dataset.key!);
      v?.toggleTable();
      return;
    } else return;
    e.preventDefault();
    cards[j].focus();
  }

  private tableToggled(key: string, visible: boolean): void {
    if (visible) this.tables.add(key);
    else this.tables.delete(key);
    this.saveState();
  }

  private enableDrag(): void {
    let dragged: string | undefined;
    this.list.addEventListener('dragstart', (e) => {
      const card = (e.target as HTMLElement).closest?.('.card') as HTMLElement | null;
      dragged = this.capabilities.reorder ? card?.dataset.key : undefined;
      if (!dragged) e.preventDefault();
    });
    this.list.addEventListener('dragover', (e) => {
      if (dragged) e.preventDefault();
    });
    this.list.addEventListener('drop', (e) => {
      const target = (e.target as HTMLElement).closest?.('.card') as HTMLElement | null;
      const to = target?.dataset.key;
      if (!dragged || !to || to === dragged) return;
      e.preventDefault();
      const order = this.ordered().filter((k) => k !== dragged);
      order.splice(order.indexOf(to) + (this.ordered().indexOf(dragged) < this.ordered().indexOf(to) ? 1 : 0), 0, dragged);
      dragged = undefined;
      this.commitOrder(order);
    });
  }

  /** The data on every chart, by card key: for tests and for a person debugging a dashboard. */
  inspect(): Record<string, ReturnType<CardView['inspect']>> {
    const out: Record<string, ReturnType<CardView['inspect']>> = {};
    for (const [k, v] of this.views) out[k] = v.inspect();
    return out;
  }
}
