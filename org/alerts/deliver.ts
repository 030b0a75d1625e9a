// Sending a webhook delivery: one bounded HTTP POST (http/https only, no redirects followed, a
// timeout, at most a few KiB of the answer read), and its outcome recorded on the delivery row.
// Retries are the sender's: graphile-worker jobs on PostgreSQL (./runner.ts), the in-process
// sender on PGlite. Both back off e^attempt seconds.
import { ALERT_LIMITS } from '../../protocol/alerts';
import { withOrg, type OrgDb } from '../db';
import type { DeliveryRef } from './store';

export interface PostOutcome {
  ok: boolean;
  status: number | null;
  error: string | null;
}

/** POSTs a JSON body; a 2xx answer is a delivery, anything else (3xx included) a failure. */
export async function postWebhook(url: string, body: unknown, timeoutMs: number = ALERT_LIMITS.webhookTimeoutMs): Promise<PostOutcome> {
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return { ok: false, status: null, error: `not an http(s) URL: ${u.protocol}` };
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(u, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'code-insights-org-alerts/1' },
      body: JSON.stringify(body),
      redirect: 'manual',
      signal,
    });
    // Read a little of the answer (so the connection can be reused) and drop the rest.
    let read = 0;
    const reader = res.body?.getReader();
    if (reader) {
      try {
        while (read < ALERT_LIMITS.webhookResponseBytes) {
          const { done, value } = await reader.read();
          if (done) break;
          read += value.byteLength;
        }
      } finally {
        await reader.cancel().catch(() => undefined);
      }
    }
    const ok = res.status >= 200 && res.status < 300;
    return { ok, status: res.status, error: ok ? null : `HTTP ${res.status}` };
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } };
    const reason = signal.aborted ? `no answer within ${timeoutMs} ms` : (err.cause?.code ?? err.name ?? 'error');
    return { ok: false, status: null, error: String(reason).slice(0, 200) };
  }
}

export type AttemptResult = 'delivered' | 'retry' | 'failed' | 'gone';

/** Backoff before attempt n+1, as graphile-worker's: e^n seconds (n capped at 10), times `scale`. */
export const backoffMs = (attempts: number, scale = 1): number => Math.exp(Math.min(attempts, 10)) * 1000 * scale;

/** One attempt of one delivery. `final`: no attempt follows a failure of this one. */
export async function attemptDelivery(db: OrgDb, ref: DeliveryRef, final: boolean, opts: { timeoutMs?: number; backoffScale?: number } = {}): Promise<AttemptResult> {
  const rows = await withOrg(db, ref.org, (q) =>
    q.query<{ url: string; body: unknown; attempts: number }>(`SELECT url, body, attempts FROM alert_deliveries WHERE org_id = $1 AND id = $2 AND state = 'pending'`, [ref.org, ref.delivery]),
  );
  if (rows.length === 0) return 'gone'; // sent already, or its rule was deleted
  const out = await postWebhook(rows[0].url, rows[0].body, opts.timeoutMs);
  const attempts = Number(rows[0].attempts) + 1;
  const state = out.ok ? 'delivered' : final ? 'failed' : 'pending';
  await withOrg(db, ref.org, (q) =>
    q.query(
      `UPDATE alert_deliveries SET attempts = $3, last_status = $4, last_error = $5, state = $6,
         delivered_at = CASE WHEN $6 = 'delivered' THEN now() END,
         next_attempt_at = now() + make_interval(secs => $7::double precision / 1000)
       WHERE org_id = $1 AND id = $2`,
      [ref.org, ref.delivery, attempts, out.status, out.error, state, backoffMs(attempts, opts.backoffScale)],
    ),
  );
  return out.ok ? 'delivered' : final ? 'failed' : 'retry';
}
