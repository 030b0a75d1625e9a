// The drill-down list under a card: for one point of one series in one repository, the files
// and their counts, which files went up or down since the previous point, and the commits in
// between. Built with DOM calls only (no innerHTML), so repository text can never become markup.
import type { SeriesPoint } from '../protocol/insights';
import type { DrillDownResult } from '../protocol/webview';
import { button, select } from './elements';
import { formatTime, shortSha } from './model';

export interface DrillTarget {
  key: string;
  seriesId: string;
  seriesLabel: string;
  point: SeriesPoint;
  previous?: SeriesPoint;
  repoName: (repo: string) => string;
}

export interface DrillCallbacks {
  request(target: DrillTarget, repo: string): void;
  openFile?(target: DrillTarget, repo: string, commit: string, path: string): void;
  close(): void;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

/** The repo whose value moved most since the previous point: usually the one a person asks about. */
export function defaultRepo(t: DrillTarget): string | undefined {
  let best: string | undefined;
  let bestScore = -1;
  for (const r of t.point.repos) {
    const before = t.previous?.repos.find((x) => x.repo === r.repo)?.value ?? 0;
    const score = Math.abs(r.value - before) * 1e6 + r.value;
    if (score > bestScore) {
      bestScore = score;
      best = r.repo;
    }
  }
  return best;
}

export class DrillDownView {
  readonly root = el('section', undefined, 'drill');
  private heading = el('h3');
  private body = el('div', undefined, 'drill-body');
  private target: DrillTarget | undefined;
  private repo: string | undefined;

  constructor(private readonly cb: DrillCallbacks) {
    this.root.hidden = true;
    this.root.setAttribute('aria-live', 'polite');
    this.heading.tabIndex = -1;
    const bar = el('div', undefined, 'drill-bar');
    bar.append(this.heading, button('Close', () => cb.close(), { secondary: true, ariaLabel: 'Close drill-down' }));
    this.root.append(bar, this.body);
  }

  get current(): { target: DrillTarget; repo: string } | undefined {
    return this.target && this.repo ? { target: this.target, repo: this.repo } : undefined;
  }

  open(target: DrillTarget): void {
    this.target = target;
    this.root.hidden = false;
    this.heading.textContent = `${target.seriesLabel} at ${formatTime(target.point.time)}`;
    const repo = defaultRepo(target);
    if (!repo) {
      this.repo = undefined;
      this.body.replaceChildren(el('p', 'No repository has a commit at this point.'));
      return;
    }
    this.choose(repo);
  }

  private choose(repo: string): void {
    const t = this.target!;
    this.repo = repo;
    const controls = el('div', undefined, 'drill-controls');
    if (t.point.repos.length > 1) {
      controls.append(select('Repository', t.point.repos.map((r) => ({ value: r.repo, label: `${t.repoName(r.repo)} (${r.value})` })), repo, (v) => this.choose(v)));
    } else {
      controls.append(el('span', t.repoName(repo)));
    }
    this.body.replaceChildren(controls, el('p', 'Loading files and commits…', 'muted'));
    this.cb.request(t, repo);
  }

  showError(message: string): void {
    this.body.lastElementChild?.remove();
    this.body.append(el('p', `Drill-down failed: ${message}`, 'error'));
  }

  showResult(r: DrillDownResult): void {
    const t = this.target;
    if (!t || r.repo !== this.repo || r.seriesId !== t.seriesId) return;
    this.body.lastElementChild?.remove();
    const out = el('div', undefined, 'drill-result');
    const prev = r.previousCommit ? ` since ${shortSha(r.previousCommit)}` : '';
    out.append(el('p', `${r.total.toLocaleString('en-US')} in ${r.files.length} file${r.files.length === 1 ? '' : 's'} at ${shortSha(r.commit)}${r.truncated ? ' (lists cut to their first entries)' : ''}`));

    const up = r.changes.filter((c) => c.after > c.before);
    const down = r.changes.filter((c) => c.after < c.before);
    out.append(this.changeList(`Went up${prev}`, up, r), this.changeList(`Went down${prev}`, down, r));

    out.append(el('h4', 'Files'));
    const files = el('ul', undefined, 'drill-files');
    files.setAttribute('aria-label', 'Files and their counts');
    for (const f of r.files) files.append(this.fileItem(f.path, `${f.count}`, r));
    if (!r.files.length) files.append(el('li', 'No file counts at this commit.'));
    out.append(files);

    out.append(el('h4', r.previousCommit ? `Commits since the previous point (${r.commits.length})` : `Commits (${r.commits.length})`));
    const commits = el('ul', undefined, 'drill-commits');
    commits.setAttribute('aria-label', 'Commits in between');
    for (const c of r.commits) {
      const li = el('li');
      li.append(el('code', shortSha(c.sha)), document.createTextNode(' '), el('span', c.subject, 'subject'), el('span', ` — ${c.author}, ${c.date.slice(0, 10)}`, 'muted'));
      commits.append(li);
    }
    if (!r.commits.length) commits.append(el('li', 'No commits in between.'));
    out.append(commits);
    this.body.append(out);
    this.heading.focus();
  }

  private changeList(title: string, changes: DrillDownResult['changes'], r: DrillDownResult): HTMLElement {
    const wrap = el('div', undefined, 'drill-changes');
    wrap.append(el('h4', `${title} (${changes.length})`));
    const ul = el('ul');
    for (const c of changes) ul.append(this.fileItem(c.path, `${c.before} → ${c.after} (${c.after > c.before ? '+' : ''}${c.after - c.before})`, r));
    if (!changes.length) ul.append(el('li', 'None.', 'muted'));
    wrap.append(ul);
    return wrap;
  }

  private fileItem(path: string, detail: string, r: DrillDownResult): HTMLElement {
    const li = el('li');
    const t = this.target!;
    if (this.cb.openFile) {
      const a = el('a', path, 'file-link');
      a.href = '#';
      a.setAttribute('role', 'button');
      a.setAttribute('aria-label', `Open ${path} at ${shortSha(r.commit)}`);
      a.addEventListener('click', (e) => {
        e.preventDefault();
        this.cb.openFile!(t, r.repo, r.commit, path);
      });
      li.append(a);
    } else li.append(el('span', path));
    li.append(el('span', ` ${detail}`, 'count'));
    return li;
  }

  hide(): void {
    this.root.hidden = true;
    this.target = undefined;
    this.repo = undefined;
  }
}
