// Alert rules in the org's database: create, list, delete, history, preview, and the evaluation
// that runs after points arrive (a push, or a fleet job that finished). Every statement runs in
// the org's row-level-security transaction (withOrg), so a rule, event or delivery of one org is
// never seen or written for another.
import {
  ALERT_LIMITS,
  type AlertCondition,
  type AlertDelivery,
  type AlertDetail,
  type AlertEvent,
  type AlertHistoryResponse,
  type AlertKind,
  type AlertPreviewResponse,
  type AlertRule,
  type AlertState,
  type AlertWebhookBody,
  type CreateAlertRequest,
} from '../../protocol/alerts';
import { withOrg, type OrgDb, type Queryable } from '../db';
import { OrgError } from '../store';
import { replay, type SeriesPoint } from './evaluate';

/** A delivery to send: the org it belongs to and its id. */
export interface DeliveryRef {
  org: string;
  delivery: string;
}

/** Hands new deliveries to whatever sends them (graphile-worker jobs, or the in-process sender). */
export interface AlertDispatcher {
  enqueue(refs: DeliveryRef[]): Promise<void>;
}

interface RuleRow {
  id: string;
  series_key: string;
  kind: AlertKind;
  condition: AlertCondition;
  pending_seconds: number;
  webhook_url: string;
  format: 'json' | 'slack';
  from_bucket: Date | string | null;
  state: AlertState;
  since_bucket: Date | string | null;
  last_value?: string | null;
  last_bucket?: Date | string | null;
  state_changed_at: Date | string | null;
  created_at: Date | string;
  label?: string | null;
}

const iso = (v: Date | string | null | undefined): string | null => (v == null ? null : (v instanceof Date ? v : new Date(String(v))).toISOString());
const ms = (v: Date | string | null | undefined): number | null => (v == null ? null : (v instanceof Date ? v : new Date(String(v))).getTime());

/** The webhook URL as a read token may see it: scheme and host (a Slack URL's path is its secret). */
export function redactUrl(u: string): string {
  try {
    const url = new URL(u);
    return `${url.protocol}//${url.host}/…`;
  } catch {
    return '…';
  }
}

function toRule(r: RuleRow, redact: boolean): AlertRule {
  return {
    id: String(r.id),
    series: r.series_key,
    label: r.label ?? null,
    condition: r.condition,
    pendingSeconds: Number(r.pending_seconds),
    webhook: redact ? redactUrl(r.webhook_url) : r.webhook_url,
    format: r.format,
    state: r.state,
    since: iso(r.since_bucket),
    value: r.last_value == null ? null : Number(r.last_value),
    time: iso(r.last_bucket),
    stateChangedAt: iso(r.state_changed_at),
    createdAt: iso(r.created_at)!,
    from: iso(r.from_bucket),
  };
}

const RULE_COLUMNS = `r.id, r.series_key, r.kind, r.condition, r.pending_seconds, r.webhook_url, r.format, r.from_bucket, r.state,
  r.since_bucket, r.state_changed_at, r.created_at`;

/** A bucket's total as the series' value: external series store value × 10^decimals (org/externalValues.ts). */
const SCALED_TOTAL = 'CASE WHEN s.decimals > 0 THEN a.total::numeric / power(10::numeric, s.decimals) ELSE a.total END';

/** The org-wide summed series (the aggregate), oldest bucket first. */
async function seriesPoints(q: Queryable, orgId: string, seriesKey: string): Promise<SeriesPoint[]> {
  const rows = await q.query<{ bucket: Date | string; total: string }>(
    `SELECT a.bucket, ${SCALED_TOTAL} AS total FROM series_totals a JOIN series s ON s.org_id = a.org_id AND s.id = a.series_id
     WHERE a.org_id = $1 AND a.series_id = (SELECT x.id FROM series x WHERE x.org_id = $1 AND x.series_key = $2) ORDER BY a.bucket`,
    [orgId, seriesKey],
  );
  return rows.map((r) => ({ t: ms(r.bucket)!, v: Number(r.total) }));
}

export async function createRule(db: OrgDb, orgId: string, req: CreateAlertRequest): Promise<{ rule: AlertRule; deliveries: DeliveryRef[] }> {
  return withOrg(db, orgId, async (q) => {
    // Rules of one org are created one at a time (and not while a push evaluates), so the cap
    // holds under concurrent requests.
    await lockOrgAlerts(q, orgId);
    const n = Number((await q.query<{ n: string }>('SELECT count(*) AS n FROM alert_rules WHERE org_id = $1', [orgId]))[0].n);
    if (n >= ALERT_LIMITS.maxRulesPerOrg) {
      throw new OrgError('TOO_MANY_RULES', `this org has ${n} alert rules, the limit: delete one first (code-insights org delete-alert)`);
    }
    const latest = await q.query<{ bucket: Date | string | null }>(
      `SELECT max(a.bucket) AS bucket FROM series_totals a WHERE a.org_id = $1 AND a.series_id = (SELECT s.id FROM series s WHERE s.org_id = $1 AND s.series_key = $2)`,
      [orgId, req.series],
    );
    const rows = await q.query<{ id: string }>(
      `INSERT INTO alert_rules (org_id, series_key, kind, condition, pending_seconds, webhook_url, format, from_bucket)
       VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8) RETURNING id`,
      [orgId, req.series, req.condition.kind, JSON.stringify(req.condition), req.pendingSeconds, req.webhook, req.format, latest[0]?.bucket ?? null],
    );
    const id = String(rows[0].id);
    // A rule starts from the series as it is: one already broken fires once, now.
    const deliveries = await evaluateRules(q, orgId, [req.series], id);
    const rule = (await readRules(q, orgId, id))[0];
    return { rule: toRule(rule, false), deliveries };
  });
}

async function readRules(q: Queryable, orgId: string, id?: string): Promise<RuleRow[]> {
  return q.query<RuleRow>(
    `SELECT ${RULE_COLUMNS}, s.label, l.last_value, l.last_bucket
     FROM alert_rules r LEFT JOIN series s ON s.org_id = r.org_id AND s.series_key = r.series_key
     LEFT JOIN LATERAL (
       SELECT ${SCALED_TOTAL} AS last_value, a.bucket AS last_bucket FROM series_totals a WHERE a.org_id = s.org_id AND a.series_id = s.id ORDER BY a.bucket DESC LIMIT 1
     ) l ON true
     WHERE r.org_id = $1 ${id ? 'AND r.id = $2' : ''} ORDER BY r.id`,
    id ? [orgId, id] : [orgId],
  );
}

/** The org's rules; `redact`: webhook URLs as scheme and host only (the API's read tokens). */
export async function listRules(db: OrgDb, orgId: string, redact: boolean): Promise<AlertRule[]> {
  return withOrg(db, orgId, async (q) => (await readRules(q, orgId)).map((r) => toRule(r, redact)));
}

/** Deletes a rule with its history and any delivery not yet sent. False when the org has no such rule. */
export async function deleteRule(db: OrgDb, orgId: string, id: string): Promise<boolean> {
  if (!/^\d{1,18}$/.test(id)) return false;
  return withOrg(db, orgId, async (q) => (await q.query('DELETE FROM alert_rules WHERE org_id = $1 AND id = $2 RETURNING id', [orgId, id])).length === 1);
}

/** Firings, resolutions and deliveries, newest first (of one rule, or of the org), at most `limit` each. */
export async function ruleHistory(db: OrgDb, orgId: string, ruleId: string | null, limit = 200): Promise<AlertHistoryResponse | null> {
  if (ruleId !== null && !/^\d{1,18}$/.test(ruleId)) return null;
  return withOrg(db, orgId, async (q) => {
    if (ruleId !== null && (await q.query('SELECT 1 FROM alert_rules WHERE org_id = $1 AND id = $2', [orgId, ruleId])).length === 0) return null;
    const params = ruleId !== null ? [orgId, limit, ruleId] : [orgId, limit];
    const cond = ruleId !== null ? 'AND rule_id = $3' : '';
    const events = await q.query<{ id: string; rule_id: string; status: 'firing' | 'resolved'; at: Date; bucket: Date; value: string; detail: AlertDetail }>(
      `SELECT id, rule_id, status, at, bucket, value, detail FROM alert_events WHERE org_id = $1 ${cond} ORDER BY id DESC LIMIT $2`,
      params,
    );
    const deliveries = await q.query<{
      id: string;
      rule_id: string;
      event_id: string;
      state: AlertDelivery['state'];
      attempts: number;
      last_status: number | null;
      last_error: string | null;
      created_at: Date;
      delivered_at: Date | null;
    }>(
      `SELECT id, rule_id, event_id, state, attempts, last_status, last_error, created_at, delivered_at FROM alert_deliveries
       WHERE org_id = $1 ${cond} ORDER BY id DESC LIMIT $2`,
      params,
    );
    return {
      events: events.map(
        (e): AlertEvent => ({ id: String(e.id), rule: String(e.rule_id), status: e.status, at: iso(e.at)!, time: iso(e.bucket)!, value: Number(e.value), detail: e.detail }),
      ),
      deliveries: deliveries.map(
        (d): AlertDelivery => ({
          id: String(d.id),
          rule: String(d.rule_id),
          event: String(d.event_id),
          state: d.state,
          attempts: Number(d.attempts),
          lastStatus: d.last_status === null ? null : Number(d.last_status),
          lastError: d.last_error,
          createdAt: iso(d.created_at)!,
          deliveredAt: iso(d.delivered_at),
        }),
      ),
    };
  });
}

/** How the rule would have behaved over the stored series, from its first point. */
export async function previewRule(db: OrgDb, orgId: string, req: Pick<CreateAlertRequest, 'series' | 'condition' | 'pendingSeconds'>): Promise<AlertPreviewResponse | null> {
  return withOrg(db, orgId, async (q) => {
    if ((await q.query('SELECT 1 FROM series WHERE org_id = $1 AND series_key = $2', [orgId, req.series])).length === 0) return null;
    const pts = await seriesPoints(q, orgId, req.series);
    const r = replay(req.condition, req.pendingSeconds, pts, null);
    return {
      points: pts.length,
      fired: r.firings.length,
      firings: r.firings.map((f) => ({
        time: new Date(pts[f.fired].t).toISOString(),
        value: pts[f.fired].v,
        resolved: f.resolved === undefined ? null : new Date(pts[f.resolved].t).toISOString(),
      })),
      state: r.state,
    };
  }, { snapshot: true });
}

/** The public address of the service, for links in webhook bodies (CODE_INSIGHTS_ORG_PUBLIC_URL). */
function publicBase(): string | undefined {
  const v = process.env.CODE_INSIGHTS_ORG_PUBLIC_URL;
  if (!v || !/^https?:\/\/[^\s]+$/.test(v)) return undefined;
  return v.replace(/\/+$/, '');
}

function describe(cond: AlertCondition, d: AlertDetail, value: number): string {
  switch (cond.kind) {
    case 'threshold':
      return d.above != null && value > d.above ? `${value} is above ${d.above}` : d.below != null && value < d.below ? `${value} is below ${d.below}` : `${value} is within bounds`;
    case 'ratchet':
      return d.baseline != null && value > d.baseline ? `${value} rose above ${d.baseline}` : `${value}, ratchet held`;
    case 'target':
      if (d.missedByWeeks === null) return `${value}, target ${d.target} by ${d.by}: at this rate it is never reached`;
      if (d.missedByWeeks) return `${value}, target ${d.target} by ${d.by}: at this rate the target date is missed by ${d.missedByWeeks} week${d.missedByWeeks === 1 ? '' : 's'}`;
      return `${value}, target ${d.target} by ${d.by}: on track`;
  }
}

/** The body posted to the webhook. Only numbers, ids, the series label, times and links. */
export function webhookBody(format: 'json' | 'slack', b: AlertWebhookBody, cond: AlertCondition): unknown {
  if (format === 'json') return b;
  const head = b.status === 'firing' ? '[FIRING]' : '[RESOLVED]';
  const link = b.links.page ? ` <${b.links.page}|open>` : '';
  // Slack's control characters: a label such as "<!channel>" is shown as text, not as a mention.
  const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return { text: `${head} ${esc(b.org)} · ${esc(b.series.label)}: ${describe(cond, b.detail, b.value)} (alert rule ${b.rule.id}, ${b.time.slice(0, 10)})${link}` };
}

/**
 * Evaluates the org's rules on the given series (all rules of those series, or the one rule
 * `onlyRule`) against the summed series, in the caller's transaction: a rule that starts firing
 * records a 'firing' event, one that stops records 'resolved', each with one delivery to send.
 * When the series have rules, it takes the org's alert lock (lockOrgAlerts) before reading
 * them, so two evaluations of the same rule (two pushes, a push and a fleet job) take turns, the
 * later one reads the totals the earlier one committed, and a crossing fires once. A push of
 * series without rules takes no org-wide lock. (Row locks on the rules would do too, but a row
 * lock writes every rule's tuple on every push.)
 */
export async function evaluateRules(q: Queryable, orgId: string, seriesKeys: string[], onlyRule?: string): Promise<DeliveryRef[]> {
  const any = await q.query('SELECT 1 FROM alert_rules r WHERE r.org_id = $1 AND r.series_key = ANY($2::text[]) LIMIT 1', [orgId, seriesKeys]);
  if (any.length === 0) return [];
  await lockOrgAlerts(q, orgId);
  // Only what the evaluation needs (reading 100 rules' every column measured 1.5 ms).
  const rules = await q.query<Pick<RuleRow, 'id' | 'series_key' | 'kind' | 'condition' | 'pending_seconds' | 'webhook_url' | 'format' | 'from_bucket' | 'state' | 'since_bucket'>>(
    `SELECT r.id, r.series_key, r.kind, r.condition, r.pending_seconds, r.webhook_url, r.format, r.from_bucket, r.state, r.since_bucket FROM alert_rules r WHERE r.org_id = $1 AND r.series_key = ANY($2::text[]) ${onlyRule ? 'AND r.id = $3' : ''}
     ORDER BY r.id`,
    onlyRule ? [orgId, seriesKeys, onlyRule] : [orgId, seriesKeys],
  );
  if (rules.length === 0) return [];
  const out: DeliveryRef[] = [];
  const updates = { id: [] as string[], state: [] as string[], since: [] as (string | null)[] };
  // Every series with a rule, in one statement. The series ids are a parameter of the totals
  // view (an init plan), so only their rows are summed, not every series of the org.
  const bySeries = new Map<string, SeriesPoint[]>();
  const wanted = [...new Set(rules.map((r) => r.series_key))];
  const rows = await q.query<{ series_key: string; bucket: Date | string; total: string }>(
    `SELECT s.series_key, a.bucket, ${SCALED_TOTAL} AS total FROM series_totals a JOIN series s ON s.org_id = a.org_id AND s.id = a.series_id
     WHERE a.org_id = $1 AND a.series_id = ANY(ARRAY(SELECT x.id FROM series x WHERE x.org_id = $1 AND x.series_key = ANY($2::text[])))
     ORDER BY s.series_key, a.bucket`,
    [orgId, wanted],
  );
  for (const r of rows) {
    let list = bySeries.get(r.series_key);
    if (!list) bySeries.set(r.series_key, (list = []));
    list.push({ t: ms(r.bucket)!, v: Number(r.total) });
  }
  let meta: { org: string; labels: Map<string, string> } | undefined;
  for (const rule of rules) {
    const pts = bySeries.get(rule.series_key);
    if (!pts || pts.length === 0) continue;
    const r = replay(rule.condition, Number(rule.pending_seconds), pts, ms(rule.from_bucket));
    const last = pts[pts.length - 1];
    const since = r.since === undefined ? null : pts[r.since].t;
    const storedSince = ms(rule.since_bucket);
    const events: ('firing' | 'resolved')[] = [];
    // A new breach (it started after the one that fired) is a new crossing: resolve, then fire.
    const newBreach = rule.state === 'firing' && r.state === 'firing' && since !== null && storedSince !== null && since > storedSince;
    if (rule.state === 'firing' && (r.state !== 'firing' || newBreach)) events.push('resolved');
    if (r.state === 'firing' && (rule.state !== 'firing' || newBreach)) events.push('firing');
    if (r.state !== rule.state || since !== storedSince) {
      updates.id.push(String(rule.id));
      updates.state.push(r.state);
      updates.since.push(since === null ? null : new Date(since).toISOString());
    }
    if (events.length === 0) continue;
    if (!meta) {
      const org = await q.query<{ name: string }>('SELECT name FROM orgs WHERE id = $1', [orgId]);
      const labels = await q.query<{ series_key: string; label: string }>('SELECT series_key, label FROM series WHERE org_id = $1 AND series_key = ANY($2::text[])', [orgId, seriesKeys]);
      meta = { org: org[0]?.name ?? orgId, labels: new Map(labels.map((l) => [l.series_key, l.label])) };
    }
    const detail = r.last?.detail ?? {};
    for (const status of events) {
      const ev = await q.query<{ id: string }>(
        'INSERT INTO alert_events (org_id, rule_id, status, bucket, value, detail) VALUES ($1, $2, $3, $4, $5, $6::jsonb) RETURNING id',
        [orgId, rule.id, status, new Date(last.t), last.v, JSON.stringify(detail)],
      );
      const base = publicBase();
      const body: AlertWebhookBody = {
        version: 1,
        status,
        org: meta.org,
        rule: { id: String(rule.id), kind: rule.kind, pendingSeconds: Number(rule.pending_seconds) },
        series: { id: rule.series_key, label: meta.labels.get(rule.series_key) ?? rule.series_key },
        event: String(ev[0].id),
        time: new Date(last.t).toISOString(),
        value: last.v,
        since: status === 'firing' && since !== null ? new Date(since).toISOString() : null,
        detail,
        links: base ? { page: `${base}/#alert-${rule.id}`, series: `${base}/api/v1/series/${rule.series_key}` } : {},
      };
      const d = await q.query<{ id: string }>(
        'INSERT INTO alert_deliveries (org_id, rule_id, event_id, url, body) VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING id',
        [orgId, rule.id, ev[0].id, rule.webhook_url, JSON.stringify(webhookBody(rule.format, body, rule.condition))],
      );
      out.push({ org: orgId, delivery: String(d[0].id) });
    }
  }
  // The rules whose state changed, in one statement; a push that changes no state writes nothing.
  if (updates.id.length > 0) {
    await q.query(
      `UPDATE alert_rules r SET state = u.state, since_bucket = u.since, state_changed_at = now()
       FROM unnest($2::bigint[], $3::text[], $4::timestamptz[]) AS u(id, state, since)
       WHERE r.org_id = $1 AND r.id = u.id`,
      [orgId, updates.id, updates.state, updates.since],
    );
  }
  return out;
}

/** The org's alert lock: evaluations of an org's rules take turns with each other and with the
 *  creation of a rule (pushes of series with rules take it in evaluateRules). */
export async function lockOrgAlerts(q: Queryable, orgId: string): Promise<void> {
  await q.query('SELECT pg_advisory_xact_lock(1129595219, ($1::bigint % 2147483647)::int)', [orgId]);
}

/** After points of these series were stored (a fleet job): evaluate their rules and hand the deliveries on. */
export async function evaluateAfterIngest(db: OrgDb, orgId: string, seriesKeys: string[], dispatcher?: AlertDispatcher): Promise<DeliveryRef[]> {
  if (seriesKeys.length === 0) return [];
  const refs = await withOrg(db, orgId, async (q) => {
    await lockOrgAlerts(q, orgId);
    return evaluateRules(q, orgId, seriesKeys);
  });
  if (refs.length > 0) await dispatcher?.enqueue(refs);
  return refs;
}

/** Deliveries still to send (after a restart: a job lost between commit and enqueue). As the owner. */
export async function pendingDeliveries(db: OrgDb): Promise<DeliveryRef[]> {
  const rows = await db.query<{ org_id: string; id: string }>(`SELECT org_id, id FROM alert_deliveries WHERE state = 'pending' ORDER BY id LIMIT 10000`);
  return rows.map((r) => ({ org: String(r.org_id), delivery: String(r.id) }));
}
