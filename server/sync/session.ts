// Sync as the insights server runs it for the editor ("Connect to Org Server", "Sync Now"):
// check a URL and token, send the outbox of a cache file, read the outbox's counts. Errors come
// back as values with a message a person can act on; points stay queued whatever happens.
// The token is used only in the Authorization header: it is never logged or stored here.
import { existsSync } from 'node:fs';
import type { OrgConnection, OrgSyncError, SyncResult, SyncStatus } from '../../protocol/lsp';
import type { ApiError, PushPointsResponse } from '../../protocol/org';
import { InsightsCache } from '../store/cache';
import { outboxCounts, outboxFailures } from './outbox';
import { pointsUrl, pushOutbox, PushAbortedError } from './push';

/** One request may take this long before it counts as a network error (and is retried). */
const REQUEST_TIMEOUT_MS = 30_000;

export { PushAbortedError };

/** The points URL of a server URL, or why the URL cannot be one. */
export function checkServerUrl(serverUrl: string): { url: string } | { error: OrgSyncError } {
  try {
    return { url: pointsUrl(serverUrl.trim()) };
  } catch (e) {
    return { error: { code: 'BAD_URL', message: (e as Error).message.replace('--server', 'the server URL') } };
  }
}

function timedFetch(signal?: AbortSignal): typeof fetch {
  return (input, init) => {
    const t = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    return fetch(input, { ...init, signal: signal ? AbortSignal.any([signal, t]) : t });
  };
}

function networkReason(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError') return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  return err?.cause?.code ?? err?.cause?.message ?? err?.message ?? String(e);
}

function authError(status: number, message: string, origin: string): OrgSyncError {
  return status === 401
    ? { code: 'UNAUTHORIZED', message: `${origin} does not accept this token (${message}). Run "Code Insights: Connect to Org Server" with a valid write token.` }
    : { code: 'FORBIDDEN', message: `this token may not send points to ${origin} (${message}): it is probably a read token. Run "Code Insights: Connect to Org Server" with a write token.` };
}

/**
 * Proves the URL is a Code Insights org service and the token is known and write-scoped: an
 * empty batch is valid input that stores nothing, and the service answers it only after
 * checking the token and its scope (401 unknown, 403 read-only).
 */
export async function verifyOrg(conn: OrgConnection, signal?: AbortSignal): Promise<{ ok: boolean; error?: OrgSyncError }> {
  const checked = checkServerUrl(conn.serverUrl);
  if ('error' in checked) return { ok: false, error: checked.error };
  const origin = new URL(checked.url).origin;
  let res: Response;
  let text: string;
  try {
    res = await timedFetch(signal)(checked.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${conn.token}` },
      body: JSON.stringify({ definitions: [], points: [] }),
    });
    text = await res.text();
  } catch (e) {
    if (signal?.aborted) throw new PushAbortedError('cancelled');
    return { ok: false, error: { code: 'UNREACHABLE', message: `cannot reach ${origin}: ${networkReason(e)}. Check the URL and that the org service is running.` } };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const apiMessage = (json as ApiError | undefined)?.error?.message;
  const message = apiMessage ? `HTTP ${res.status}: ${apiMessage}` : `HTTP ${res.status}`;
  if (res.status === 401 || res.status === 403) {
    if (apiMessage) return { ok: false, error: authError(res.status, message, origin) };
  }
  if (res.ok && typeof (json as PushPointsResponse | undefined)?.received === 'number') return { ok: true };
  if (res.status >= 500 || res.status === 429) return { ok: false, error: { code: 'SERVER_ERROR', message: `${origin} answered ${message}; try again later.` } };
  return { ok: false, error: { code: 'NOT_ORG_SERVICE', message: `${checked.url} is not a Code Insights org service (it answered ${message}). Check the URL.` } };
}

/** Counts of the outbox in a cache file (all zero when there is no cache yet). */
export async function outboxStatus(file: string): Promise<SyncStatus> {
  if (!existsSync(file)) return { pending: 0, failed: 0, failures: [] };
  const { cache } = await InsightsCache.open(file);
  try {
    return { ...outboxCounts(cache.db), failures: outboxFailures(cache.db) };
  } finally {
    cache.close();
  }
}

export interface SyncProgress {
  sent: number;
  total: number;
  message: string;
}

/**
 * Checks the connection, then sends the outbox of `file` in batches, saving the file after each
 * one. A point leaves the outbox only after the service acknowledged it; on any error it stays.
 * Throws PushAbortedError when `signal` aborts (the file is saved first).
 */
export async function syncCacheFile(file: string, conn: OrgConnection, opts: { signal?: AbortSignal; onProgress?: (p: SyncProgress) => void } = {}): Promise<SyncResult> {
  const verified = await verifyOrg(conn, opts.signal);
  const exists = existsSync(file);
  if (!verified.ok) {
    const pending = exists ? (await outboxStatus(file)).pending : 0;
    return { sent: 0, failed: 0, pending, error: { ...verified.error!, message: withQueued(verified.error!.message, pending) } };
  }
  if (!exists) return { sent: 0, failed: 0, pending: 0, syncedAt: new Date().toISOString() };
  const { cache } = await InsightsCache.open(file);
  const db = cache.db;
  const origin = new URL(pointsUrl(conn.serverUrl.trim())).origin;
  try {
    const total = outboxCounts(db).pending;
    let sent = 0;
    opts.onProgress?.({ sent, total, message: `sending ${total} points` });
    const res = await pushOutbox(db, {
      server: conn.serverUrl.trim(),
      token: conn.token,
      signal: opts.signal,
      fetchImpl: timedFetch(opts.signal),
      // Interactive: a few quick retries, then the user is told (the points stay queued).
      maxAttempts: 4,
      baseDelayMs: 500,
      maxDelayMs: 4_000,
      stopOnAuthError: true,
      onBatch: (b) => {
        sent += b.sent;
        cache.save();
        opts.onProgress?.({ sent, total, message: `sent ${sent} of ${total} points` });
      },
      onRetry: (r) => opts.onProgress?.({ sent, total, message: `${r.reason}; retrying in ${(r.delayMs / 1000).toFixed(1)} s` }),
    });
    cache.save();
    const out: SyncResult = { sent: res.sent, failed: res.failed, pending: res.pending };
    if (res.authError) out.error = authError(res.authError.status, res.authError.message, origin);
    else if (res.gaveUp) {
      const code = /network error/.test(res.gaveUp) ? 'UNREACHABLE' : 'SERVER_ERROR';
      out.error = { code, message: `${code === 'UNREACHABLE' ? `cannot reach ${origin}` : `${origin} keeps failing`}: ${res.gaveUp}` };
    } else if (res.failed) out.error = { code: 'REJECTED', message: `${origin} rejected ${res.failed} points: ${res.errors.join('; ')}` };
    if (out.error) out.error.message = withQueued(out.error.message, out.pending);
    else out.syncedAt = new Date().toISOString();
    return out;
  } catch (e) {
    cache.save();
    throw e;
  } finally {
    cache.close();
  }
}

function withQueued(message: string, pending: number): string {
  return pending ? `${message} The ${pending} points stay queued and are sent at the next sync.` : message;
}
