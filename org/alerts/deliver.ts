// Sending a webhook delivery: one bounded HTTP POST (http/https only, no redirects followed, a
// timeout, at most a few KiB of the answer read, no private or loopback address unless allowed),
// and its outcome recorded on the delivery row.
// Retries are the sender's: graphile-worker jobs on PostgreSQL (./runner.ts), the in-process
// sender on PGlite. Both back off e^attempt seconds.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP } from 'node:net';
import { ALERT_LIMITS } from '../../protocol/alerts';
import { withOrg, type OrgDb } from '../db';
import type { DeliveryRef } from './store';

export interface PostOutcome {
  ok: boolean;
  status: number | null;
  error: string | null;
  /** Trying again cannot help (the address is refused). */
  permanent?: boolean;
}

// Addresses a webhook may not reach unless CODE_INSIGHTS_ALERT_ALLOW_PRIVATE=1: loopback,
// private networks, link-local (cloud metadata at 169.254.169.254), carrier-grade NAT, multicast,
// reserved. A write token could otherwise make the service probe its own network.
const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 127],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv6');
}

/** Whether an IP address is one a webhook may not reach by default (not an IP: true). */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const ip = mapped ? mapped[1] : address;
  const v = isIP(ip);
  if (v === 4) return PRIVATE.check(ip, 'ipv4');
  if (v === 6) return PRIVATE.check(ip, 'ipv6');
  return true;
}

export const allowPrivateWebhooks = (): boolean => process.env.CODE_INSIGHTS_ALERT_ALLOW_PRIVATE === '1';

const PRIVATE_MESSAGE = 'the webhook resolves to a loopback, private or link-local address (CODE_INSIGHTS_ALERT_ALLOW_PRIVATE=1 on the sender allows it)';

/** dns.lookup that refuses private addresses: checked on the address the socket will use. */
const publicLookup: NonNullable<RequestOptions['lookup']> = (hostname, options, callback) => {
  dnsLookup(hostname, options, (err, address: string | LookupAddress[], family?: number) => {
    if (err) return callback(err, address as string, family);
    const list = Array.isArray(address) ? address.map((a) => a.address) : [address];
    if (list.some(isPrivateAddress)) return callback(Object.assign(new Error(PRIVATE_MESSAGE), { code: 'EPRIVATE' }), address as string, family);
    return callback(null, address as string, family);
  });
};

/** POSTs a JSON body; a 2xx answer is a delivery, anything else (3xx included: redirects are not
 *  followed) a failure. At most `webhookResponseBytes` of the answer are read; the whole exchange
 *  is given `timeoutMs`. */
export function postWebhook(url: string, body: unknown, timeoutMs: number = ALERT_LIMITS.webhookTimeoutMs, allowPrivate = allowPrivateWebhooks()): Promise<PostOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (o: PostOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(o);
    };
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return finish({ ok: false, status: null, error: 'not a URL' });
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return finish({ ok: false, status: null, error: `not an http(s) URL: ${u.protocol}` });
    const host = u.hostname.replace(/^\[|\]$/g, '');
    // An IP literal is connected to without a lookup: check it here.
    if (!allowPrivate && isIP(host) && isPrivateAddress(host)) return finish({ ok: false, status: null, error: PRIVATE_MESSAGE, permanent: true });
    const payload = Buffer.from(JSON.stringify(body), 'utf8');
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      u,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': String(payload.length), 'user-agent': 'code-insights-org-alerts/1' },
        ...(allowPrivate ? {} : { lookup: publicLookup }),
        agent: false,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        const ok = status >= 200 && status < 300;
        let read = 0;
        const done = () => finish({ ok, status, error: ok ? null : `HTTP ${status}` });
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read >= ALERT_LIMITS.webhookResponseBytes) {
            done(); // enough: the status is what counts
            res.destroy();
          }
        });
        res.on('end', done);
        res.on('close', done);
        res.on('error', done);
      },
    );
    timer = setTimeout(() => {
      finish({ ok: false, status: null, error: `no answer within ${timeoutMs} ms` });
      req.destroy();
    }, timeoutMs);
    req.on('error', (e: Error & { code?: string }) => finish({ ok: false, status: null, error: e.code === 'EPRIVATE' ? PRIVATE_MESSAGE : String(e.code ?? e.name).slice(0, 200), ...(e.code === 'EPRIVATE' ? { permanent: true } : {}) }));
    req.end(payload);
  });
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
  if (out.permanent) final = true;
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
