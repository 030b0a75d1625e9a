// Sends the outbox to the org service in batches. A batch leaves the outbox only after a 2xx.
// Network errors, 5xx and 429 are retried with exponential backoff and jitter (429/503 honour
// Retry-After); any other 4xx can never succeed as sent, so its points are marked failed with
// the service's message and kept: nothing is lost, nothing is retried in a loop.
import type { Database } from 'sql.js';
import { validateSeriesDefinition, type ApiError, type OrgPoint, type PushPointsRequest, type PushPointsResponse, type SeriesDefinition } from '../../protocol/org';
import { ensureOutbox, markFailed, markSent, nextBatch, outboxCounts } from './outbox';

export interface PushOptions {
  /** Base URL of the org service, e.g. https://insights.example.com */
  server: string;
  token: string;
  signal?: AbortSignal;
  fetchImpl?: typeof fetch;
  /** Points per request (default 5000). */
  batchSize?: number;
  /** Attempts per batch before giving up with the points still pending (default 8). */
  maxAttempts?: number;
  /** First backoff delay in ms (default 500); doubles per attempt, capped at maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Called after each batch is settled (e.g. to save the cache file). */
  onBatch?: (b: { sent: number; failed: number; response?: PushPointsResponse; error?: string }) => void;
  /** Called before each wait, for logs and progress. */
  onRetry?: (r: { attempt: number; delayMs: number; reason: string }) => void;
  random?: () => number;
  /**
   * On 401/403 stop at once and leave every point pending (the token is wrong, revoked or
   * read-only: no batch can succeed until it is fixed), instead of marking the batch failed.
   */
  stopOnAuthError?: boolean;
}

export interface PushResult {
  sent: number;
  batches: number;
  /** Points marked failed during this push (a non-retryable 4xx). */
  failed: number;
  /** Points still pending afterwards (0 unless retries ran out). */
  pending: number;
  /** Distinct error messages of failed batches. */
  errors: string[];
  /** Set when retries ran out: the reason of the last attempt. */
  gaveUp?: string;
  /** Set when stopOnAuthError stopped the push: the status and the service's message. */
  authError?: { status: 401 | 403; message: string };
}

export class PushAbortedError extends Error {
  readonly code = 'ABORTED';
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new PushAbortedError('push cancelled'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new PushAbortedError('push cancelled'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Retry-After as seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const t = Date.parse(header);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

export function pointsUrl(server: string): string {
  let u: URL;
  try {
    u = new URL(server);
  } catch {
    throw new Error(`--server "${server}" is not a URL: give the org service's address, e.g. https://insights.example.com`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`--server must be an http(s) URL, got "${server}"`);
  return new URL('api/v1/points', u.href.endsWith('/') ? u.href : `${u.href}/`).href;
}

type Settled = { kind: 'sent'; response?: PushPointsResponse } | { kind: 'refused'; message: string } | { kind: 'stop' };

export async function pushOutbox(db: Database, opts: PushOptions): Promise<PushResult> {
  ensureOutbox(db);
  const url = pointsUrl(opts.server);
  const doFetch = opts.fetchImpl ?? fetch;
  const batchSize = opts.batchSize ?? 5000;
  const maxAttempts = opts.maxAttempts ?? 8;
  const base = opts.baseDelayMs ?? 500;
  const cap = opts.maxDelayMs ?? 30_000;
  const random = opts.random ?? Math.random;
  const result: PushResult = { sent: 0, batches: 0, failed: 0, pending: 0, errors: [] };

  /** Sends one batch until it is sent, refused (a 4xx) or the push must stop (auth, retries out). */
  const settle = async (points: OrgPoint[], definitions: SeriesDefinition[]): Promise<Settled> => {
    const body: PushPointsRequest = { definitions, points };
    const json = JSON.stringify(body);
    for (let attempt = 1; ; attempt++) {
      if (opts.signal?.aborted) throw new PushAbortedError('push cancelled');
      let reason: string;
      let wait: number | undefined;
      try {
        const res = await doFetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${opts.token}`, accept: 'application/json' },
          body: json,
          signal: opts.signal,
        });
        const text = await res.text();
        if (res.ok) {
          let response: PushPointsResponse | undefined;
          try {
            response = JSON.parse(text) as PushPointsResponse;
          } catch {
            response = undefined;
          }
          return { kind: 'sent', response };
        }
        let message = `HTTP ${res.status}`;
        try {
          const e = JSON.parse(text) as ApiError;
          if (e?.error?.message) message = `HTTP ${res.status} ${e.error.code}: ${e.error.message}`;
        } catch {
          /* not our error shape */
        }
        if (opts.stopOnAuthError && (res.status === 401 || res.status === 403)) {
          result.authError = { status: res.status, message };
          return { kind: 'stop' };
        }
        if (res.status === 429 || res.status >= 500) {
          reason = message;
          wait = retryAfterMs(res.headers.get('retry-after'));
        } else {
          return { kind: 'refused', message }; // 4xx: can never succeed as sent
        }
      } catch (e) {
        if (opts.signal?.aborted) throw new PushAbortedError('push cancelled');
        const err = e as Error & { cause?: { code?: string; message?: string } };
        reason = `network error: ${err.cause?.code ?? err.cause?.message ?? err.message}`;
      }
      if (attempt >= maxAttempts) {
        result.gaveUp = `gave up after ${attempt} attempts: ${reason}`;
        return { kind: 'stop' };
      }
      // Full jitter over the upper half of the exponential step, so clients spread out.
      const step = Math.min(cap, base * 2 ** (attempt - 1));
      const delayMs = Math.min(Math.max(wait ?? 0, step / 2 + random() * (step / 2)), 5 * 60_000);
      opts.onRetry?.({ attempt, delayMs, reason });
      await sleep(delayMs, opts.signal);
    }
  };

  const sent = (points: OrgPoint[], response?: PushPointsResponse) => {
    markSent(db, points);
    result.sent += points.length;
    result.batches++;
    opts.onBatch?.({ sent: points.length, failed: 0, response });
  };
  const refused = (points: OrgPoint[], message: string) => {
    // Kept, marked with the reason, for the user to fix or drop (push --drop-refused).
    markFailed(db, points, message);
    result.failed += points.length;
    if (!result.errors.includes(message)) result.errors.push(message);
    opts.onBatch?.({ sent: 0, failed: points.length, error: message });
  };
  const named = (d: SeriesDefinition | undefined, id: string, message: string) => `series ${id}${d ? ` ${JSON.stringify(d.label.slice(0, 80))}` : ''}: ${message}`;

  for (;;) {
    const batch = nextBatch(db, batchSize);
    if (batch.points.length === 0) break;
    // What the service would refuse is refused here, without a round trip (an outbox written
    // by an older version may hold a definition today's checks refuse).
    const defs = new Map<string, SeriesDefinition>();
    const local = new Map<string, string>();
    batch.definitions.forEach((d) => {
      try {
        defs.set(d.id, validateSeriesDefinition(d, 'definition'));
      } catch (e) {
        local.set(d.id, named(d, d.id, `refused before sending: ${(e as Error).message}`));
      }
    });
    const groups = new Map<string, OrgPoint[]>();
    for (const p of batch.points) {
      let g = groups.get(p.series);
      if (!g) groups.set(p.series, (g = []));
      g.push(p);
    }
    for (const [id, pts] of groups) {
      if (!defs.has(id)) {
        refused(pts, local.get(id) ?? named(undefined, id, 'no definition of this series in the outbox'));
        groups.delete(id);
      }
    }
    if (groups.size === 0) continue;
    const points = [...groups.values()].flat();
    const out = await settle(points, [...groups.keys()].map((id) => defs.get(id)!));
    if (out.kind === 'stop') break;
    if (out.kind === 'sent') {
      sent(points, out.response);
      continue;
    }
    if (groups.size === 1) {
      const [id] = groups.keys();
      refused(points, named(defs.get(id), id, out.message));
      continue;
    }
    // One series' definition (or points) refused must not hold back the others: send each
    // series on its own, so the rest goes through and the refused one is named.
    for (const [id, pts] of groups) {
      const one = await settle(pts, [defs.get(id)!]);
      if (one.kind === 'stop') {
        result.pending = outboxCounts(db).pending;
        return result;
      }
      if (one.kind === 'sent') sent(pts, one.response);
      else refused(pts, named(defs.get(id), id, one.message));
    }
  }
  result.pending = outboxCounts(db).pending;
  return result;
}
