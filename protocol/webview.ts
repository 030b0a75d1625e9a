// Messages between a dashboard host (the VS Code webview panel in extension/dashboard/, or the
// org dashboard page in org/) and the dashboard app (webview/, one bundle for both hosts).
// Every message is declared once here with its payload type, and both ends run the same strict
// runtime validators before acting on a message: unknown types and unknown fields are
// rejected, numbers must be finite, every list and string is bounded.
//
// The app knows nothing about its host beyond a message channel. On a plain web page the host
// script and the app share one window: messages travel through `window.postMessage` inside a
// `PageEnvelope` (see below) so each side ignores its own messages and anything else.

import {
  EXTERNAL_LIMITS,
  INSIGHT_KINDS,
  RESULT_LIMITS,
  STEPS,
  TEXT_EXPORT_FORMATS,
  validateLanguagesPoint,
  validateSeriesResult,
  type InsightKind,
  type LanguagesPoint,
  type SeriesResult,
  type Step,
  type TextExportFormat,
} from './insights';
import { arr, bool, count, isoTime, MAX_STRING, obj, oneOf, ProtocolError, sha, str, tagged, validate, type Validator } from './validate';
import { validateSeriesGoal, type SeriesGoalState } from './goals';

export { ProtocolError };

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
  error?: CodeMessage;
  /** When the data was computed (ISO); with `stale`, the data is a cached copy being refreshed. */
  computedAt?: string;
  stale?: boolean;
  /** Goals of its series (drawn as lines; a broken one marks the card with its reason). */
  goals?: SeriesGoalState[];
  /** Kind `external`: the unit of the values (`%`, `s`, `tests`), shown on the axis and in tooltips. */
  unit?: string;
  /** Kind `external`: fractional digits of the values (0–6). */
  decimals?: number;
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

/** What the app asks the host when a person clicks a point (the `drillDown` request). */
export interface DrillDownParams {
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
  ...RESULT_LIMITS,
  files: 5000,
  commits: 1000,
  string: MAX_STRING,
  text: 64 << 20,
} as const;

/** A failure a person can act on: `code` is stable, `message` says what to do. */
export interface CodeMessage {
  code: string;
  message: string;
}

// ------------------------------------------------------------ requests (app → host → app)
// A request carries an id; the host answers it with exactly one `response` of the same id and
// method, holding either the result or an error. Both ends pair them generically (the app's
// webview/hostRequests.ts, the host's answer()), so a new request is one entry here.

export interface ViewRequests {
  /** Files, changes and commits behind one point of one series in one repository. */
  drillDown: { params: DrillDownParams; result: DrillDownResult };
}
export type ViewRequestMethod = keyof ViewRequests;
export type RequestParams<K extends ViewRequestMethod> = ViewRequests[K]['params'];
export type RequestResult<K extends ViewRequestMethod> = ViewRequests[K]['result'];

/** How each host is to answer each request (the host's table of handlers). */
export type RequestHandlers = { [K in ViewRequestMethod]: (params: RequestParams<K>) => Promise<RequestResult<K>> };

/** Omit `type` from each member of a union (Omit itself would merge the members). */
type WithoutType<T> = T extends unknown ? Omit<T, 'type'> : never;

/** app → host. */
export type RequestMessage<K extends ViewRequestMethod = ViewRequestMethod> = {
  [M in K]: { type: 'request'; id: number; method: M; params: RequestParams<M> };
}[K];
/** host → app: the answer to the request with the same `id`. */
export type ResponseMessage<K extends ViewRequestMethod = ViewRequestMethod> = {
  [M in K]: { type: 'response'; id: number; method: M; result: RequestResult<M> } | { type: 'response'; id: number; method: M; error: CodeMessage };
}[K];

// ---------------------------------------------------------------------- host → app messages

export interface HostMessages {
  /** The whole dashboard: sent after `ready` (cached data first, then fresh). */
  dashboard: { layout: DashboardLayout; cards: InsightCard[]; theme: ThemeKind; capabilities: HostCapabilities; filter?: RepoFilter };
  /** One card replaced (computing, partial, done or failed; a new card is appended to the order). */
  card: { card: InsightCard };
  cardRemoved: { key: string };
  theme: { theme: ThemeKind };
  layout: { layout: DashboardLayout };
  /** The answer to a `request` of the app. */
  response: WithoutType<ResponseMessage>;
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
  /** A request the host answers with one `response` (see ViewRequests). */
  request: WithoutType<RequestMessage>;
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
// Built from the kit in protocol/validate.ts: strict, no coercion, unknown fields rejected,
// sizes bounded. A validator returns the value typed, or throws ProtocolError naming the path
// of the first problem.

const missingRepo: Validator<MissingRepo> = obj<MissingRepo>({ repo: str(), path: str(), status: oneOf(['pending', 'warning', 'error'] as const), reason: str() }, { path: true });
const codeMessage: Validator<CodeMessage> = obj<CodeMessage>({ code: str(100), message: str() });

export const validateCard: Validator<InsightCard> = obj<InsightCard>(
  {
    key: str(512),
    title: str(),
    kind: oneOf<InsightKind>(INSIGHT_KINDS),
    step: oneOf<Step>(STEPS),
    state: oneOf(CARD_STATES),
    series: arr(validateSeriesResult, LIMITS.series),
    languages: arr(validateLanguagesPoint, LIMITS.points),
    missing: arr(missingRepo, LIMITS.repos),
    progress: obj<{ reposDone: number; reposTotal: number }>({ reposDone: count, reposTotal: count }),
    error: codeMessage,
    computedAt: isoTime,
    stale: bool,
    repoPaths: arr(obj<{ repo: string; path: string }>({ repo: str(), path: str() }), LIMITS.repos),
    goals: arr(validateSeriesGoal, LIMITS.series),
    unit: str(EXTERNAL_LIMITS.maxUnitLength),
    decimals: (v, p) => {
      const n = count(v, p);
      if (n > EXTERNAL_LIMITS.maxDecimals) throw new ProtocolError(p, `expected at most ${EXTERNAL_LIMITS.maxDecimals} decimals, got ${n}`);
      return n;
    },
  },
  { step: true, languages: true, progress: true, error: true, computedAt: true, stale: true, repoPaths: true, goals: true, unit: true, decimals: true },
);
const dashboardInfo = obj<DashboardInfo>({ id: str(512), title: str() });
const layout: Validator<DashboardLayout> = obj<DashboardLayout>({ dashboards: arr(dashboardInfo, LIMITS.cards), active: str(512), order: arr(str(512), LIMITS.cards) });
const repoFilter: Validator<RepoFilter> = obj<RepoFilter>({ include: str(1000), exclude: str(1000) });
const capabilities: Validator<HostCapabilities> = obj<HostCapabilities>(
  { drillDown: bool, openFile: bool, reorder: bool, saveExport: bool, filterBy: oneOf(['view', 'host'] as const) },
  { filterBy: true },
);
const drillDownResult: Validator<DrillDownResult> = obj<DrillDownResult>(
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
const requestId: Validator<number> = (v, p) => {
  const n = count(v, p);
  if (n > Number.MAX_SAFE_INTEGER) throw new ProtocolError(p, 'request id too large');
  return n;
};

const drillDownParams: Validator<DrillDownParams> = obj<DrillDownParams>(
  { key: str(512), seriesId: str(128), repo: str(), commit: sha, time: isoTime, previousCommit: sha, previousTime: isoTime },
  { previousCommit: true, previousTime: true },
);

/** The params and result checks of every request. */
const requestShapes: { [K in ViewRequestMethod]: { params: Validator<RequestParams<K>>; result: Validator<RequestResult<K>> } } = {
  drillDown: { params: drillDownParams, result: drillDownResult },
};
const requestMethod = oneOf(Object.keys(requestShapes) as ViewRequestMethod[]);

function requestOf<K extends ViewRequestMethod>(method: K): Validator<RequestMessage<K>> {
  return obj<{ type: 'request'; id: number; method: K; params: RequestParams<K> }>({ type: oneOf(['request'] as const), id: requestId, method: oneOf([method]), params: requestShapes[method].params }) as Validator<RequestMessage<K>>;
}
function responseOf<K extends ViewRequestMethod>(method: K, failed: boolean): Validator<ResponseMessage<K>> {
  const base = { type: oneOf(['response'] as const), id: requestId, method: oneOf([method]) };
  return (failed
    ? obj<{ type: 'response'; id: number; method: K; error: CodeMessage }>({ ...base, error: codeMessage })
    : obj<{ type: 'response'; id: number; method: K; result: RequestResult<K> }>({ ...base, result: requestShapes[method].result })) as Validator<ResponseMessage<K>>;
}
/** The method names the checks of the rest: params of a request, result of a response. */
const methodOf = (v: unknown, p: string) => requestMethod((v as { method?: unknown } | null)?.method, p ? `${p}.method` : 'method');
const requestMessage: Validator<RequestMessage> = (v, p) => requestOf(methodOf(v, p))(v, p);
const responseMessage: Validator<ResponseMessage> = (v, p) => responseOf(methodOf(v, p), typeof v === 'object' && v !== null && 'error' in v)(v, p);

const hostShapes: { [K in HostMessageType]: Validator<{ type: K } & HostMessages[K]> } = {
  dashboard: obj({ type: oneOf(['dashboard'] as const), layout, cards: arr(validateCard, LIMITS.cards), theme: oneOf(THEME_KINDS), capabilities, filter: repoFilter }, { filter: true }),
  card: obj({ type: oneOf(['card'] as const), card: validateCard }),
  cardRemoved: obj({ type: oneOf(['cardRemoved'] as const), key: str(512) }),
  theme: obj({ type: oneOf(['theme'] as const), theme: oneOf(THEME_KINDS) }),
  layout: obj({ type: oneOf(['layout'] as const), layout }),
  response: responseMessage,
  exportDone: obj({ type: oneOf(['exportDone'] as const), key: str(512), ok: bool, message: str() }),
};

const viewShapes: { [K in ViewMessageType]: Validator<{ type: K } & ViewMessages[K]> } = {
  ready: obj({ type: oneOf(['ready'] as const), protocolVersion: count }),
  request: requestMessage,
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

const hostMessage = tagged<HostMessage>(hostShapes as never, 'host');
const viewMessage = tagged<ViewMessage>(viewShapes as never, 'view');
const SUBJECT = 'dashboard message';

/** Validates a message the host sent to the app (run by the app, and by the host before sending). */
export function validateHostMessage(v: unknown): HostMessage {
  return validate(hostMessage, v, SUBJECT);
}

/** Validates a message the app sent to the host (run by the host, and by the app before sending). */
export function validateViewMessage(v: unknown): ViewMessage {
  return validate(viewMessage, v, SUBJECT);
}

/** The message inside a page envelope travelling in `direction`, or undefined when `data` is not one. */
export function openPageEnvelope(data: unknown, direction: PageEnvelope['direction']): unknown {
  if (typeof data !== 'object' || data === null) return undefined;
  const e = data as Partial<PageEnvelope>;
  if (e.channel !== PAGE_CHANNEL || e.direction !== direction) return undefined;
  return e.message;
}
