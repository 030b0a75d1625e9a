// Messages between a dashboard host (the VS Code webview panel in extension/dashboard/, or the
// org dashboard page in org/) and the dashboard app (webview/, one bundle for both hosts).
// Every message is declared once here with its payload type, and both ends run the same strict
// runtime validators before acting on a message: unknown types and unknown fields are
// rejected, numbers must be finite, every list and string is bounded.
//
// The app knows nothing about its host beyond a message channel. On a plain web page the host
// script and the app share one window: messages travel through `window.postMessage` inside a
// `PageEnvelope` (see below) so each side ignores its own messages and anything else.

import { INSIGHT_KINDS, STEPS, TEXT_EXPORT_FORMATS, type InsightKind, type LanguageCount, type LanguagesPoint, type RepoPoint, type SeriesPoint, type SeriesResult, type Step, type TextExportFormat } from './insights';

export const WEBVIEW_PROTOCOL_VERSION = 1;

// ------------------------------------------------------------------------- shared payloads

/** Where a card's data stands. `partial`: some repositories are still computing or failed. */
export type CardState = 'idle' | 'computing' | 'partial' | 'done' | 'failed';
export const CARD_STATES: readonly CardState[] = ['idle', 'computing', 'partial', 'done', 'failed'];

/** A repository that is absent from (part of) a card's numbers, and why. */
export interface MissingRepo {
  repo: string;
  /** Folder path as the user knows it (absent on the org page). */
  path?: string;
  /** `pending`: not computed yet; `warning`: contributed only in part; `error`: did not contribute. */
  status: 'pending' | 'warning' | 'error';
  reason: string;
}

/** One insight as a dashboard card shows it. */
export interface InsightCard {
  /** Unique within the host (`<folder>/<id>`, `settings/<id>`, or the org's insight id). */
  key: string;
  title: string;
  kind: InsightKind;
  step?: Step;
  state: CardState;
  /** Series with per-repo points (kind `series` and `capture`). */
  series: SeriesResult[];
  /** Lines per language over time (kind `languages`). */
  languages?: LanguagesPoint[];
  /** Repositories absent from the numbers, and why (partial and failed states). */
  missing: MissingRepo[];
  /** Local folders of the repositories (VS Code host only): names people recognise for `root:` identities. */
  repoPaths?: { repo: string; path: string }[];
  progress?: { reposDone: number; reposTotal: number };
  error?: { code: string; message: string };
  /** When the data was computed (ISO); with `stale`, the data is a cached copy being refreshed. */
  computedAt?: string;
  stale?: boolean;
}

export interface DashboardInfo {
  id: string;
  title: string;
}

/** Which dashboards exist, which one is shown, and the order of its cards (insight keys). */
export interface DashboardLayout {
  dashboards: DashboardInfo[];
  active: string;
  order: string[];
}

export type ThemeKind = 'light' | 'dark' | 'high-contrast' | 'high-contrast-light';
export const THEME_KINDS: readonly ThemeKind[] = ['light', 'dark', 'high-contrast', 'high-contrast-light'];

/** A repository filter over repo identities (JavaScript regular expressions; empty = none). */
export interface RepoFilter {
  include: string;
  exclude: string;
}

/** What the host can do; the app hides the controls of what it cannot. */
export interface HostCapabilities {
  drillDown: boolean;
  openFile: boolean;
  reorder: boolean;
  /** The host saves exported files (`export` message); otherwise the app offers a download link. */
  saveExport: boolean;
  /**
   * Who applies the repository filter. `view` (default): the app re-sums the per-repo points it
   * has. `host`: the app only sends `filter` and the host answers with re-summed cards (the org
   * page, whose cards carry org-wide sums rather than every repository's points).
   */
  filterBy?: 'view' | 'host';
}

export interface DrillDownParams {
  /** Matches a `drillDownResult`/`drillDownError` to its request. */
  requestId: number;
  key: string;
  seriesId: string;
  repo: string;
  /** The commit of the clicked point for this repo, and the point's bucket time. */
  commit: string;
  time: string;
  /** The commit of the previous point of this series in this repo (absent for the first). */
  previousCommit?: string;
  previousTime?: string;
}

/**
 * A drill-down as the extension asks the insights server for it (the LSP request
 * `insights/drillDown`, params DrillDownQuery, result DrillDownResult). The server resolves the
 * insight's definition, the series and the repository's folder from its last result.
 */
export interface DrillDownQuery {
  key: string;
  seriesId: string;
  /** Repo identity, as in the series' per-repo points. */
  repo: string;
  commit: string;
  previousCommit?: string;
}

export interface DrillDownFile {
  path: string;
  count: number;
}

export interface DrillDownChange {
  path: string;
  before: number;
  after: number;
}

export interface DrillDownCommit {
  sha: string;
  author: string;
  /** Author date, ISO. */
  date: string;
  subject: string;
}

/** For one series, repo and commit: the files that count, what moved since the previous point, and why. */
export interface DrillDownResult {
  seriesId: string;
  repo: string;
  commit: string;
  previousCommit?: string;
  /** Sum over `files` (equals the chart's per-repo value at this point). */
  total: number;
  /** Files with a non-zero count at `commit`, largest first. */
  files: DrillDownFile[];
  /** Files whose count differs from the previous commit's, largest change first. */
  changes: DrillDownChange[];
  /** First-parent commits after `previousCommit` up to and including `commit`, newest first. */
  commits: DrillDownCommit[];
  /** Lists cut at the limits below. */
  truncated?: boolean;
}

export const LIMITS = {
  cards: 500,
  series: 1000,
  points: 5000,
  repos: 100_000,
  languages: 1000,
  files: 5000,
  commits: 1000,
  string: 4096,
  text: 64 << 20,
} as const;

// ---------------------------------------------------------------------- host → app messages

export interface HostMessages {
  /** The whole dashboard: sent after `ready` (cached data first, then fresh). */
  dashboard: { layout: DashboardLayout; cards: InsightCard[]; theme: ThemeKind; capabilities: HostCapabilities; filter?: RepoFilter };
  /** One card replaced (computing, partial, done or failed; a new card is appended to the order). */
  card: { card: InsightCard };
  cardRemoved: { key: string };
  theme: { theme: ThemeKind };
  layout: { layout: DashboardLayout };
  drillDownResult: { requestId: number; result: DrillDownResult };
  drillDownError: { requestId: number; error: { code: string; message: string } };
  /** The outcome of an `export` the host saved (or failed to). */
  exportDone: { key: string; ok: boolean; message: string };
}
export type HostMessageType = keyof HostMessages;
export type HostMessage = { [K in HostMessageType]: { type: K } & HostMessages[K] }[HostMessageType];

// ---------------------------------------------------------------------- app → host messages

/** What the app exports: a result as text, or a chart's picture. */
export const EXPORT_FORMATS = [...TEXT_EXPORT_FORMATS, 'png'] as const;
export type ExportFormat = TextExportFormat | 'png';

export interface ViewMessages {
  ready: { protocolVersion: number };
  drillDown: DrillDownParams;
  /** Open `path` at `commit` read-only, with the matches of the series highlighted. */
  openFile: { key: string; seriesId: string; repo: string; commit: string; path: string };
  /** Cards of a dashboard reordered (insight keys, new order). */
  reorder: { dashboard: string; order: string[] };
  selectDashboard: { dashboard: string };
  /** Save a chart's data (CSV/JSON text) or picture (PNG as a `data:image/png;base64,` URL). */
  export: { key: string; format: ExportFormat; filename: string; content: string };
  filter: { filter: RepoFilter };
  refresh: { keys?: string[] };
}
export type ViewMessageType = keyof ViewMessages;
export type ViewMessage = { [K in ViewMessageType]: { type: K } & ViewMessages[K] }[ViewMessageType];

/** Envelope on a plain web page, where host and app share `window.postMessage`. */
export const PAGE_CHANNEL = 'code-insights/dashboard';
export interface PageEnvelope {
  channel: typeof PAGE_CHANNEL;
  /** `toView`: host → app; `toHost`: app → host. */
  direction: 'toView' | 'toHost';
  message: HostMessage | ViewMessage;
}

// -------------------------------------------------------------------------------- validators
// Hand-written and strict: no coercion, unknown fields rejected, sizes bounded. A validator
// returns the value typed, or throws ProtocolError naming the path of the first problem.

export class ProtocolError extends Error {
  readonly code = 'BAD_MESSAGE';
  constructor(readonly path: string, problem: string) {
    super(`invalid dashboard message at ${path || '(root)'}: ${problem}`);
    this.name = 'ProtocolError';
  }
}

type V<T> = (v: unknown, path: string) => T;

const describe = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);

const str = (max: number = LIMITS.string): V<string> => (v, p) => {
  if (typeof v !== 'string') throw new ProtocolError(p, `expected a string, got ${describe(v)}`);
  if (v.length > max) throw new ProtocolError(p, `string longer than ${max} characters`);
  return v;
};
const num: V<number> = (v, p) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ProtocolError(p, `expected a finite number, got ${describe(v)}`);
  return v;
};
const count: V<number> = (v, p) => {
  const n = num(v, p);
  if (n < 0 || !Number.isInteger(n)) throw new ProtocolError(p, `expected a non-negative integer, got ${n}`);
  return n;
};
const bool: V<boolean> = (v, p) => {
  if (typeof v !== 'boolean') throw new ProtocolError(p, `expected a boolean, got ${describe(v)}`);
  return v;
};
const isoTime: V<string> = (v, p) => {
  const s = str(40)(v, p);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$/.test(s) || Number.isNaN(Date.parse(s))) {
    throw new ProtocolError(p, `expected an ISO date-time, got "${s.slice(0, 40)}"`);
  }
  return s;
};
const sha: V<string> = (v, p) => {
  const s = str(64)(v, p);
  if (!/^[0-9a-f]{4,64}$/.test(s)) throw new ProtocolError(p, `expected a commit id (hex), got "${s}"`);
  return s;
};
function oneOf<T extends string>(values: readonly T[]): V<T> {
  return (v, p) => {
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      throw new ProtocolError(p, `expected one of ${values.join(', ')}, got ${typeof v === 'string' ? `"${v.slice(0, 40)}"` : describe(v)}`);
    }
    return v as T;
  };
}
function arr<T>(item: V<T>, max: number): V<T[]> {
  return (v, p) => {
    if (!Array.isArray(v)) throw new ProtocolError(p, `expected an array, got ${describe(v)}`);
    if (v.length > max) throw new ProtocolError(p, `more than ${max} items`);
    return v.map((x, i) => item(x, `${p}[${i}]`));
  };
}
type Shape<T> = { [K in keyof T]-?: V<T[K]> };
type Optional<T> = { [K in keyof T]?: true };
/** An object with exactly these fields; those named in `optional` may be absent (not undefined-valued). */
function obj<T>(shape: Shape<T>, optional: Optional<NoInfer<T>> = {}): V<T> {
  const keys = Object.keys(shape);
  return (v, p) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ProtocolError(p, `expected an object, got ${describe(v)}`);
    const rec = v as Record<string, unknown>;
    for (const k of Object.keys(rec)) {
      if (!keys.includes(k)) throw new ProtocolError(p, `unknown field "${k.slice(0, 40)}"`);
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      const at = p ? `${p}.${k}` : k;
      if (!(k in rec) || rec[k] === undefined) {
        if ((optional as Record<string, true | undefined>)[k]) continue;
        throw new ProtocolError(at, 'missing');
      }
      out[k] = (shape as Record<string, V<unknown>>)[k](rec[k], at);
    }
    return out as T;
  };
}

const repoPoint: V<RepoPoint> = obj<RepoPoint>({ repo: str(), commit: sha, commitTime: isoTime, value: count });
const seriesPoint: V<SeriesPoint> = obj<SeriesPoint>({ time: isoTime, value: count, repos: arr(repoPoint, LIMITS.repos) });
const seriesResult: V<SeriesResult> = obj<SeriesResult>(
  { id: str(128), label: str(), query: str(), capture: str(), points: arr(seriesPoint, LIMITS.points), error: str() },
  { capture: true, error: true },
);
const languageCount: V<LanguageCount> = obj<LanguageCount>({ language: str(200), lines: count, files: count });
const languagesPoint: V<LanguagesPoint> = obj<LanguagesPoint>({
  time: isoTime,
  languages: arr(languageCount, LIMITS.languages),
  repos: arr(
    obj<LanguagesPoint['repos'][number]>({ repo: str(), commit: sha, commitTime: isoTime, languages: arr(languageCount, LIMITS.languages) }),
    LIMITS.repos,
  ),
});
const missingRepo: V<MissingRepo> = obj<MissingRepo>({ repo: str(), path: str(), status: oneOf(['pending', 'warning', 'error'] as const), reason: str() }, { path: true });
const codeMessage = obj<{ code: string; message: string }>({ code: str(100), message: str() });

export const validateCard: V<InsightCard> = obj<InsightCard>(
  {
    key: str(512),
    title: str(),
    kind: oneOf<InsightKind>(INSIGHT_KINDS),
    step: oneOf<Step>(STEPS),
    state: oneOf(CARD_STATES),
    series: arr(seriesResult, LIMITS.series),
    languages: arr(languagesPoint, LIMITS.points),
    missing: arr(missingRepo, LIMITS.repos),
    progress: obj<{ reposDone: number; reposTotal: number }>({ reposDone: count, reposTotal: count }),
    error: codeMessage,
    computedAt: isoTime,
    stale: bool,
    repoPaths: arr(obj<{ repo: string; path: string }>({ repo: str(), path: str() }), LIMITS.repos),
  },
  { step: true, languages: true, progress: true, error: true, computedAt: true, stale: true, repoPaths: true },
);
const dashboardInfo = obj<DashboardInfo>({ id: str(512), title: str() });
const layout: V<DashboardLayout> = obj<DashboardLayout>({ dashboards: arr(dashboardInfo, LIMITS.cards), active: str(512), order: arr(str(512), LIMITS.cards) });
const repoFilter: V<RepoFilter> = obj<RepoFilter>({ include: str(1000), exclude: str(1000) });
const capabilities: V<HostCapabilities> = obj<HostCapabilities>(
  { drillDown: bool, openFile: bool, reorder: bool, saveExport: bool, filterBy: oneOf(['view', 'host'] as const) },
  { filterBy: true },
);
const drillDownResult: V<DrillDownResult> = obj<DrillDownResult>(
  {
    seriesId: str(128),
    repo: str(),
    commit: sha,
    previousCommit: sha,
    total: count,
    files: arr(obj<DrillDownFile>({ path: str(), count }), LIMITS.files),
    changes: arr(obj<DrillDownChange>({ path: str(), before: count, after: count }), LIMITS.files),
    commits: arr(obj<DrillDownCommit>({ sha, author: str(), date: isoTime, subject: str() }), LIMITS.commits),
    truncated: bool,
  },
  { previousCommit: true, truncated: true },
);
const requestId: V<number> = (v, p) => {
  const n = count(v, p);
  if (n > Number.MAX_SAFE_INTEGER) throw new ProtocolError(p, 'request id too large');
  return n;
};

const hostShapes: { [K in HostMessageType]: V<{ type: K } & HostMessages[K]> } = {
  dashboard: obj({ type: oneOf(['dashboard'] as const), layout, cards: arr(validateCard, LIMITS.cards), theme: oneOf(THEME_KINDS), capabilities, filter: repoFilter }, { filter: true }),
  card: obj({ type: oneOf(['card'] as const), card: validateCard }),
  cardRemoved: obj({ type: oneOf(['cardRemoved'] as const), key: str(512) }),
  theme: obj({ type: oneOf(['theme'] as const), theme: oneOf(THEME_KINDS) }),
  layout: obj({ type: oneOf(['layout'] as const), layout }),
  drillDownResult: obj({ type: oneOf(['drillDownResult'] as const), requestId, result: drillDownResult }),
  drillDownError: obj({ type: oneOf(['drillDownError'] as const), requestId, error: codeMessage }),
  exportDone: obj({ type: oneOf(['exportDone'] as const), key: str(512), ok: bool, message: str() }),
};

const viewShapes: { [K in ViewMessageType]: V<{ type: K } & ViewMessages[K]> } = {
  ready: obj({ type: oneOf(['ready'] as const), protocolVersion: count }),
  drillDown: obj(
    { type: oneOf(['drillDown'] as const), requestId, key: str(512), seriesId: str(128), repo: str(), commit: sha, time: isoTime, previousCommit: sha, previousTime: isoTime },
    { previousCommit: true, previousTime: true },
  ),
  openFile: obj({ type: oneOf(['openFile'] as const), key: str(512), seriesId: str(128), repo: str(), commit: sha, path: str() }),
  reorder: obj({ type: oneOf(['reorder'] as const), dashboard: str(512), order: arr(str(512), LIMITS.cards) }),
  selectDashboard: obj({ type: oneOf(['selectDashboard'] as const), dashboard: str(512) }),
  export: obj({ type: oneOf(['export'] as const), key: str(512), format: oneOf<ExportFormat>(EXPORT_FORMATS), filename: filename, content: str(LIMITS.text) }),
  filter: obj({ type: oneOf(['filter'] as const), filter: repoFilter }),
  refresh: obj({ type: oneOf(['refresh'] as const), keys: arr(str(512), LIMITS.cards) }, { keys: true }),
};

/** A bare file name: no folders, nothing a host could be tricked into writing elsewhere. */
function filename(v: unknown, p: string): string {
  const s = str(200)(v, p);
  if (!/^[\w.-]+$/.test(s) || s.startsWith('.')) throw new ProtocolError(p, `expected a plain file name, got "${s.slice(0, 40)}"`);
  return s;
}

function dispatch<M extends { type: string }>(shapes: Record<string, V<unknown>>, v: unknown, side: string): M {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ProtocolError('', `expected a ${side} message object, got ${describe(v)}`);
  const type = (v as { type?: unknown }).type;
  if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(shapes, type)) {
    throw new ProtocolError('type', `unknown ${side} message type ${typeof type === 'string' ? `"${type.slice(0, 40)}"` : describe(type)}`);
  }
  return shapes[type](v, '') as M;
}

/** Validates a message the host sent to the app (run by the app, and by the host before sending). */
export function validateHostMessage(v: unknown): HostMessage {
  return dispatch<HostMessage>(hostShapes, v, 'host');
}

/** Validates a message the app sent to the host (run by the host, and by the app before sending). */
export function validateViewMessage(v: unknown): ViewMessage {
  return dispatch<ViewMessage>(viewShapes, v, 'view');
}

/** The message inside a page envelope travelling in `direction`, or undefined when `data` is not one. */
export function openPageEnvelope(data: unknown, direction: PageEnvelope['direction']): unknown {
  if (typeof data !== 'object' || data === null) return undefined;
  const e = data as Partial<PageEnvelope>;
  if (e.channel !== PAGE_CHANNEL || e.direction !== direction) return undefined;
  return e.message;
}
