// Org alerts (issue 14 §4): rules on an org series (threshold, ratchet, target), their state,
// history and webhook deliveries. The payloads of the API under /api/v1/alerts, of
// `code-insights org list-alerts --format json`, and of the webhook bodies, declared once for the
// service, the CLI and the org page, with the validator the service and the CLI apply.
import { SERIES_ID_PATTERN } from './org';

export const ALERT_LIMITS = {
  /** Rules per org: evaluation after every push reads each rule of the series pushed. */
  maxRulesPerOrg: 100,
  maxWebhookUrlLength: 2048,
  /** Longest pending period: a year. */
  maxPendingSeconds: 366 * 24 * 3600,
  /** Points of the linear fit of a target rule. */
  maxWindow: 520,
  /** A webhook request gives up after this. */
  webhookTimeoutMs: 10_000,
  /** Bytes of a webhook's answer read (the rest is dropped): only its status matters. */
  webhookResponseBytes: 4096,
} as const;

export type AlertKind = 'threshold' | 'ratchet' | 'target';
export type AlertFormat = 'json' | 'slack';
export type AlertState = 'ok' | 'pending' | 'firing';

/** What a rule checks. Numbers and dates only. */
export type AlertCondition =
  /** Broken when the value is above `above` or below `below` (at least one given). */
  | { kind: 'threshold'; above: number | null; below: number | null }
  /** Broken when the value rose above the lowest value since the rule started (`lowest`), or
   *  above the point before it (`previous`). */
  | { kind: 'ratchet'; baseline: 'lowest' | 'previous' }
  /** Broken when a linear fit of the last `window` points misses `target` by `by` (a date,
   *  YYYY-MM-DD, UTC), going `down` (a burn-down: the value must fall to the target) or `up`. */
  | { kind: 'target'; target: number; by: string; direction: 'down' | 'up'; window: number };

/** `POST /api/v1/alerts` and `POST /api/v1/alerts/preview` (webhook optional for a preview). */
export interface CreateAlertRequest {
  series: string;
  condition: AlertCondition;
  /** Seconds a broken value must stay broken, in the series' own time (bucket times), before the
   *  rule fires. 0: at the first broken point. */
  pendingSeconds: number;
  webhook: string;
  format: AlertFormat;
}

export interface AlertRule {
  id: string;
  series: string;
  /** The series' label (null when the org has no such series yet). */
  label: string | null;
  condition: AlertCondition;
  pendingSeconds: number;
  /** Over the API with a read token: the scheme and host only (a Slack URL is a secret). */
  webhook: string;
  format: AlertFormat;
  state: AlertState;
  /** The bucket time the current breach began (pending or firing). */
  since: string | null;
  /** The series' latest value and its bucket time (null: no points yet). */
  value: number | null;
  time: string | null;
  /** When the state last changed. */
  stateChangedAt: string | null;
  createdAt: string;
  /** Ratchet: points before this time do not count (the latest bucket when the rule was created). */
  from: string | null;
}

export interface AlertEvent {
  id: string;
  rule: string;
  status: 'firing' | 'resolved';
  at: string;
  /** The bucket time and value that fired or resolved it. */
  time: string;
  value: number;
  detail: AlertDetail;
}

/** Numbers that say why: the threshold crossed, the ratchet's baseline, the target's projection. */
export interface AlertDetail {
  above?: number | null;
  below?: number | null;
  baseline?: number | null;
  target?: number;
  by?: string;
  /** Target: when the fit reaches the target (null: never at this rate). */
  projected?: string | null;
  /** Target: weeks late (null: never at this rate). */
  missedByWeeks?: number | null;
}

export interface AlertDelivery {
  id: string;
  rule: string;
  event: string;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  /** HTTP status of the last attempt (null: no answer). */
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

export interface AlertListResponse {
  org: string;
  rules: AlertRule[];
}

export interface AlertHistoryResponse {
  events: AlertEvent[];
  deliveries: AlertDelivery[];
}

export interface AlertPreviewResponse {
  /** Points replayed (the stored org-wide series). */
  points: number;
  /** Times the rule would have fired. */
  fired: number;
  firings: { time: string; value: number; resolved: string | null }[];
  /** The state it would be in now. */
  state: AlertState;
}

/** The generic webhook body (format json). Numbers, ids, times and links only. */
export interface AlertWebhookBody {
  version: 1;
  status: 'firing' | 'resolved';
  org: string;
  rule: { id: string; kind: AlertKind; pendingSeconds: number };
  series: { id: string; label: string };
  event: string;
  time: string;
  value: number;
  since: string | null;
  detail: AlertDetail;
  links: { page?: string; series?: string };
}

export type AlertValidation<T> = { ok: true; value: T } | { ok: false; message: string };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A problem with a webhook URL, or undefined when it is an absolute http(s) URL. */
export function webhookUrlProblem(u: string): string | undefined {
  if (u.length > ALERT_LIMITS.maxWebhookUrlLength) return `is ${u.length} characters; the limit is ${ALERT_LIMITS.maxWebhookUrlLength}`;
  let url: URL;
  try {
    url = new URL(u);
  } catch {
    return `is not a URL: "${u.slice(0, 80)}"`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `must be an http:// or https:// URL, got ${url.protocol}`;
  if (url.username || url.password) return 'must not carry a user name or password (put a secret in the path, as Slack does)';
  if (!url.hostname) return 'has no host';
  return undefined;
}

/** Durations: 0, 30m, 12h, 3d, 2w (or a number of seconds). */
export function parseDuration(s: string): number | undefined {
  const m = /^(\d{1,9})(s|m|h|d|w)?$/.exec(s.trim());
  if (!m) return undefined;
  const mult = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[(m[2] ?? 's') as 's'];
  return Number(m[1]) * mult;
}

function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || Math.abs(v) > Number.MAX_SAFE_INTEGER) throw new Error(`${what} must be a number, got ${JSON.stringify(v)?.slice(0, 40)}`);
  return v;
}

function keys(o: Record<string, unknown>, allowed: string[], where: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new Error(`${where}: unknown field "${k.slice(0, 40)}" (allowed: ${allowed.join(', ')})`);
}

function condition(v: unknown): AlertCondition {
  if (!isPlainObject(v)) throw new Error('condition must be an object');
  if (v.kind === 'threshold') {
    keys(v, ['kind', 'above', 'below'], 'condition');
    const above = v.above === undefined || v.above === null ? null : num(v.above, 'condition.above');
    const below = v.below === undefined || v.below === null ? null : num(v.below, 'condition.below');
    if (above === null && below === null) throw new Error('a threshold needs above (a maximum) or below (a minimum), or both');
    if (above !== null && below !== null && below > above) throw new Error(`below (${below}) is greater than above (${above}): the rule would always be broken`);
    return { kind: 'threshold', above, below };
  }
  if (v.kind === 'ratchet') {
    keys(v, ['kind', 'baseline'], 'condition');
    const baseline = v.baseline ?? 'lowest';
    if (baseline !== 'lowest' && baseline !== 'previous') throw new Error(`condition.baseline must be lowest or previous, got ${JSON.stringify(baseline).slice(0, 40)}`);
    return { kind: 'ratchet', baseline };
  }
  if (v.kind === 'target') {
    keys(v, ['kind', 'target', 'by', 'direction', 'window'], 'condition');
    const target = num(v.target, 'condition.target');
    if (typeof v.by !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(v.by) || Number.isNaN(Date.parse(`${v.by}T00:00:00Z`)) || new Date(`${v.by}T00:00:00Z`).toISOString().slice(0, 10) !== v.by) {
      throw new Error(`condition.by must be a date like 2027-03-31, got ${JSON.stringify(v.by)?.slice(0, 40)}`);
    }
    const direction = v.direction ?? 'down';
    if (direction !== 'down' && direction !== 'up') throw new Error(`condition.direction must be down or up, got ${JSON.stringify(direction).slice(0, 40)}`);
    const window = v.window ?? 8;
    if (typeof window !== 'number' || !Number.isInteger(window) || window < 2 || window > ALERT_LIMITS.maxWindow) throw new Error(`condition.window must be an integer from 2 to ${ALERT_LIMITS.maxWindow}`);
    return { kind: 'target', target, by: v.by, direction, window };
  }
  throw new Error(`condition.kind must be threshold, ratchet or target, got ${JSON.stringify(v.kind)?.slice(0, 40)}`);
}

/** Validates a rule; `webhookRequired: false` for a preview (no webhook needed). */
export function validateCreateAlertRequest(body: unknown, webhookRequired = true): AlertValidation<CreateAlertRequest> {
  try {
    if (!isPlainObject(body)) throw new Error('the body must be a JSON object');
    keys(body, ['series', 'condition', 'pendingSeconds', 'webhook', 'format'], 'body');
    if (typeof body.series !== 'string' || !SERIES_ID_PATTERN.test(body.series)) throw new Error('series must be a series id: 16–64 lowercase hex characters');
    const cond = condition(body.condition);
    const pending = body.pendingSeconds ?? 0;
    if (typeof pending !== 'number' || !Number.isInteger(pending) || pending < 0 || pending > ALERT_LIMITS.maxPendingSeconds) {
      throw new Error(`pendingSeconds must be an integer from 0 to ${ALERT_LIMITS.maxPendingSeconds}`);
    }
    let webhook = '';
    if (body.webhook !== undefined || webhookRequired) {
      if (typeof body.webhook !== 'string') throw new Error('webhook must be an http:// or https:// URL');
      const problem = webhookUrlProblem(body.webhook);
      if (problem) throw new Error(`webhook ${problem}`);
      webhook = body.webhook;
    }
    const format = body.format ?? 'json';
    if (format !== 'json' && format !== 'slack') throw new Error(`format must be json or slack, got ${JSON.stringify(format).slice(0, 40)}`);
    return { ok: true, value: { series: body.series, condition: cond, pendingSeconds: pending, webhook, format } };
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}
