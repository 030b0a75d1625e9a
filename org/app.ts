// The org service's HTTP surface (fastify): the API under /api/v1, /metrics, /healthz and the
// dashboard page. Built as a function of its database so tests run it in-process or as a child.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import {
  ORG_LIMITS,
  SERIES_ID_PATTERN,
  validatePushPointsRequest,
  validateRepoFilter,
  type ApiError,
  type ApiErrorCode,
  type PushPointsResponse,
  type SeriesListResponse,
} from '../protocol/org';
import type { OrgDb } from './db';
import { createMetrics, type OrgMetrics } from './metrics';
import { RateLimiter, type RateLimitOptions } from './rateLimit';
import { compileRepoFilter } from './repoFilter';
import { PrincipalCache } from './principalCache';
import { authenticate, ingest, listSeries, OrgError, readSeries, type Principal, type RepoFilterQuery, type Scope } from './store';
import { toStoredValues } from './externalValues';
import { dashboardAssets, dashboardHtml } from './dashboard/page';
import { registerFleetRoutes, type FleetRouteOptions } from './fleet/routes';
import { registerAlertRoutes } from './alerts/routes';
import { evaluateRules, type AlertDispatcher, type DeliveryRef } from './alerts/store';

export interface AppOptions {
  db: OrgDb;
  /** A pino logger, or false for none (tests). */
  logger?: FastifyBaseLogger | false;
  rateLimit?: RateLimitOptions;
  /** Host the shared webview bundle on the dashboard page (default: when dist/webview.js exists). */
  dashboardBundle?: boolean;
  /** How long a valid token's org and scope are remembered (default 5 s; 0: ask the database
   *  every time). A revoked token stops working within this time. */
  authCacheMs?: number;
  /** Timeouts and the connection limit (defaults: DEFAULT_SERVER_LIMITS). */
  limits?: Partial<ServerLimits>;
  /** The fleet's job queue and wake-up hook (org/fleet/routes.ts). */
  fleet?: Pick<FleetRouteOptions, 'queue' | 'onQueued' | 'allowLocalPaths'>;
  /** Sends the webhook deliveries of alert rules (org/alerts/runner.ts); without it they are
   *  recorded pending and sent by whichever sender runs on the database. */
  alerts?: { dispatcher?: AlertDispatcher };
}

/** What one client can hold of the service: a connection that sends nothing, a request that
 *  trickles in, a kept-alive socket, and how many sockets at once. */
export interface ServerLimits {
  /** The whole request head must arrive within this (slowloris). */
  headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this (a 16 MiB body at 1 MB/s fits). */
  requestTimeoutMs: number;
  /** A kept-alive socket with no request is closed after this. */
  keepAliveTimeoutMs: number;
  /** A socket with no traffic at all is closed after this (also mid-body). */
  idleTimeoutMs: number;
  /** Sockets open at once; more are closed on arrival. */
  maxConnections: number;
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 15_000,
  maxConnections: 1_000,
};

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    stored?: PushPointsResponse;
  }
}

function send(reply: FastifyReply, status: number, code: ApiErrorCode, message: string): FastifyReply {
  const body: ApiError = { error: { code, message } };
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}

/** Errors that mean "the database is not there right now": the client should retry. */
export function isTransientDbError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  const msg = typeof e?.message === 'string' ? e.message : '';
  if (/^(08|57P|53)/.test(code) || code === '40001' || code === '40P01') return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN'].includes(code)) return true;
  return /Connection terminated|connection error|timeout exceeded when trying to connect|Connection refused|not queryable|Client was closed/i.test(msg);
}

export async function buildApp(opts: AppOptions): Promise<{ app: FastifyInstance; metrics: OrgMetrics }> {
  const { db } = opts;
  const metrics = createMetrics(() => db.poolState());
  const limiter = new RateLimiter(opts.rateLimit ?? { perSecond: 50, burst: 100 });
  const principals = new PrincipalCache((token) => authenticate(db, token), opts.authCacheMs ?? 5_000);
  const assets = dashboardAssets();
  if (opts.dashboardBundle === false) assets.delete('webview.js');
  if (opts.dashboardBundle === true && !assets.has('webview.js')) throw new Error('dist/webview.js is not built: run npm run build');

  const limits: ServerLimits = { ...DEFAULT_SERVER_LIMITS, ...opts.limits };
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    // Node checks the header and request timeouts on an interval (30 s by default): check often
    // enough that a timeout means what it says.
    serverFactory: (handler) => {
      const server = createServer(
        {
          headersTimeout: limits.headersTimeoutMs,
          requestTimeout: limits.requestTimeoutMs,
          keepAliveTimeout: limits.keepAliveTimeoutMs,
          connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 4))),
        },
        handler,
      );
      server.setTimeout(limits.idleTimeoutMs);
      server.maxConnections = limits.maxConnections;
      return server;
    },
    // A URL that is not valid percent-encoded UTF-8 (/api/v1/series/%ff%fe) gets our error shape.
    frameworkErrors: (err, _req, reply) => {
      const e = err as { code?: string; statusCode?: number; message?: string };
      // The reply is sent here; Fastify ignores the handler's return value.
      if (e.code === 'FST_ERR_BAD_URL') void send(reply, 400, 'BAD_REQUEST', 'the URL is not valid: percent-encoding must spell UTF-8');
      else void send(reply, e.statusCode && e.statusCode < 500 ? e.statusCode : 400, 'BAD_REQUEST', (e.message ?? 'bad request').slice(0, 200));
    },
    bodyLimit: ORG_LIMITS.maxBodyBytes,
    genReqId: (req) => {
      const h = req.headers['x-request-id'];
      return typeof h === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(h) ? h : randomUUID();
    },
    return503OnClosing: true,
    // One log line per request (onResponse below) instead of fastify's two plus ours: under a
    // fleet of pushers, writing log lines was the largest CPU cost of the service (profiled).
    logController: new LogController({ disableRequestLogging: true }),
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  });

  // JSON only: a text/plain body is answered 415 instead of being parsed as a string.
  app.removeContentTypeParser('text/plain');

  // While shutting down, answers in flight close their connection: a kept-alive socket would
  // otherwise hold close() open until its keep-alive timeout.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (req, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    reply.header('x-request-id', req.id);
    reply.header('x-content-type-options', 'nosniff');
    return payload;
  });
  app.addHook('onRequest', async (req) => {
    req.log.debug({ req }, 'incoming request');
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    req.log.info({ req, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10, org: req.principal?.orgName, ...req.stored }, 'request');
    metrics.httpRequests.inc({ method: req.method, route, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  app.setNotFoundHandler((req, reply) => send(reply, 404, 'NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0].slice(0, 200)}`));
  app.setErrorHandler((err: unknown, req, reply) => {
    const e = err as { code?: string; statusCode?: number; message?: string };
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return send(reply, 413, 'PAYLOAD_TOO_LARGE', `body is larger than ${ORG_LIMITS.maxBodyBytes} bytes: send smaller batches`);
    }
    if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return send(reply, 415, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
    }
    if (isTransientDbError(err)) {
      req.log.warn({ err }, 'database unavailable');
      reply.header('retry-after', '1');
      return send(reply, 503, 'DB_UNAVAILABLE', 'the database is unavailable; retry shortly');
    }
    if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      // fastify's own client errors: bad JSON, empty body, poisoned keys, bad headers
      return send(reply, e.statusCode, 'BAD_REQUEST', (e.message ?? 'bad request').slice(0, 300));
    }
    req.log.error({ err }, 'request failed');
    return send(reply, 500, 'INTERNAL', `internal error (request id ${req.id})`);
  });

  /** Runs before the body is read (onRequest): the token, its scope and rate, and the body's
   *  encoding are checked first, so an unauthenticated or unreadable body is never parsed. */
  const guard = (scope: Scope) => async (req: FastifyRequest, reply: FastifyReply) => {
    // An answer before the body was read closes the connection instead of draining the body.
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    if (hasBody) reply.header('connection', 'close');
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer ([^\s]+)$/.exec(h) : null;
    if (!m) {
      reply.header('www-authenticate', 'Bearer');
      return send(reply, 401, 'UNAUTHORIZED', 'missing "Authorization: Bearer <token>" header: create a token with `code-insights org create-token`');
    }
    const principal = await principals.get(m[1]);
    if (!principal) {
      reply.header('www-authenticate', 'Bearer error="invalid_token"');
      return send(reply, 401, 'UNAUTHORIZED', 'the token is not valid (unknown or revoked)');
    }
    // An admin token (the fleet's changes) also reads: whoever runs the fleet watches it.
    if (principal.scope !== scope && !(principal.scope === 'admin' && scope === 'read')) {
      return send(reply, 403, 'FORBIDDEN', `this token has scope "${principal.scope}"; this request needs ${scope === 'admin' ? 'an' : 'a'} "${scope}" token`);
    }
    const wait = limiter.take(m[1]);
    if (wait > 0) {
      reply.header('retry-after', String(wait));
      return send(reply, 429, 'RATE_LIMITED', `too many requests for this token; retry after ${wait} s`);
    }
    if (hasBody) {
      const enc = req.headers['content-encoding'];
      if (enc !== undefined && enc.trim().toLowerCase() !== 'identity') {
        return send(reply, 415, 'UNSUPPORTED_MEDIA_TYPE', `Content-Encoding "${enc.slice(0, 40)}" is not accepted: send the JSON body uncompressed`);
      }
      const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1];
      if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
        return send(reply, 415, 'UNSUPPORTED_MEDIA_TYPE', `charset "${charset.slice(0, 40)}" is not accepted: send the body as UTF-8 (application/json; charset=utf-8)`);
      }
    }
    reply.removeHeader('connection');
    req.principal = principal;
  };

  app.get('/healthz', async (_req, reply) => {
    try {
      await db.query('SELECT 1');
      return reply.send({ ok: true, db: db.kind });
    } catch (err) {
      return send(reply, 503, 'DB_UNAVAILABLE', `database check failed: ${(err as Error).message}`.slice(0, 300));
    }
  });

  app.get('/metrics', async (_req, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  app.post('/api/v1/points', { onRequest: guard('write') }, async (req, reply) => {
    const v = validatePushPointsRequest(req.body);
    if (!v.ok) {
      metrics.ingestBatches.inc({ outcome: 'rejected' });
      return send(reply, v.status, v.code, v.message);
    }
    const end = metrics.ingestDuration.startTimer();
    let res;
    let fired: DeliveryRef[] = [];
    try {
      // Alert rules of the series that changed are evaluated in the push's own transaction, on
      // the org-wide sums it just wrote (the points statement tells whether the org has rules on
      // them: no statement more when it has none); the deliveries are handed to the sender once
      // it committed. Decimal values of external series are stored as integers
      // (org/externalValues.ts).
      res = await ingest(db, req.principal!.orgId, v.value.definitions, toStoredValues(v.value.definitions, v.value.points), async (q, stored, keys) => {
        if (stored.rules) fired = await evaluateRules(q, req.principal!.orgId, keys);
      });
    } catch (err) {
      if (err instanceof OrgError && err.code === 'SCALE_CONFLICT') {
        metrics.ingestBatches.inc({ outcome: 'rejected' });
        return send(reply, 400, 'INVALID_BODY', err.message);
      }
      metrics.ingestBatches.inc({ outcome: 'failed' });
      throw err;
    }
    end();
    metrics.ingestBatches.inc({ outcome: 'stored' });
    metrics.ingestPoints.inc({ outcome: 'inserted' }, res.inserted);
    metrics.ingestPoints.inc({ outcome: 'updated' }, res.updated);
    metrics.ingestPoints.inc({ outcome: 'unchanged' }, res.unchanged);
    metrics.ingestPoints.inc({ outcome: 'duplicate' }, res.received - res.accepted);
    req.stored = res; // logged with the request's line
    if (fired.length > 0) {
      // Stored and committed: a sender that cannot take them now finds them pending later.
      await opts.alerts?.dispatcher?.enqueue(fired).catch((err: unknown) => req.log.error({ err }, 'could not queue alert deliveries'));
    }
    return reply.send(res);
  });

  app.get('/api/v1/series', { onRequest: guard('read') }, async (req, reply) => {
    const body: SeriesListResponse = { org: req.principal!.orgName, series: await listSeries(db, req.principal!.orgId) };
    return reply.send(body);
  });

  app.get<{ Params: { id: string }; Querystring: Record<string, unknown> }>('/api/v1/series/:id', { onRequest: guard('read') }, async (req, reply) => {
    const id = req.params.id;
    if (!SERIES_ID_PATTERN.test(id)) return send(reply, 400, 'BAD_REQUEST', 'series id must be 16–64 lowercase hex characters');
    const unknown = Object.keys(req.query ?? {}).filter((k) => k !== 'repo' && k !== 'exclude');
    if (unknown.length > 0) return send(reply, 400, 'BAD_REQUEST', `unknown query parameter "${unknown[0].slice(0, 40)}" (allowed: repo, exclude)`);
    const filter: RepoFilterQuery = {};
    for (const [param, key] of [['repo', 'include'], ['exclude', 'exclude']] as const) {
      const raw = req.query[param];
      if (raw === undefined || raw === '') continue; // an empty filter field means no filter
      const f = validateRepoFilter(raw);
      if (!f.ok) return send(reply, 400, 'BAD_REQUEST', `?${param}=: ${f.message}`);
      const c = compileRepoFilter(f.value);
      if (!c.ok) return send(reply, 400, 'BAD_REQUEST', `?${param}=: ${c.message}`);
      filter[key] = c.matcher;
    }
    const out = await readSeries(db, req.principal!.orgId, id, filter);
    if (!out) return send(reply, 404, 'NOT_FOUND', `this org has no series ${id}`);
    return reply.send(out);
  });

  registerFleetRoutes(app, { db, guard, ...opts.fleet });
  registerAlertRoutes(app, { db, guard, dispatcher: opts.alerts?.dispatcher });

  app.get('/', async (_req, reply) => {
    const { html, csp } = dashboardHtml(assets.has('webview.js'));
    reply.header('content-security-policy', csp);
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    reply.header('cache-control', 'no-store');
    return reply.type('text/html; charset=utf-8').send(html);
  });

  app.get('/favicon.ico', async (_req, reply) => reply.code(204).send());

  app.get<{ Params: { name: string } }>('/assets/:name', async (req, reply) => {
    const a = assets.get(req.params.name);
    if (!a) return send(reply, 404, 'NOT_FOUND', 'no such asset');
    reply.header('cache-control', 'no-cache');
    return reply.type(a.type).send(a.body);
  });

  return { app, metrics };
}
