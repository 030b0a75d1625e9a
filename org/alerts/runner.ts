// Who sends webhook deliveries. On PostgreSQL: graphile-worker, the fleet's queue — one job per
// delivery (task alert_deliver, key alert_delivery:<org>:<id>), retried with graphile-worker's
// backoff (e^attempt s) up to CODE_INSIGHTS_ALERT_MAX_ATTEMPTS (8) attempts, run by `org serve`
// and by every `org worker`. On PGlite (one connection, no LISTEN/NOTIFY for graphile-worker):
// the service itself, as the fleet's in-process runner does — the oldest pending delivery whose
// backoff has passed is next (alert_deliveries.next_attempt_at).
import { makeWorkerUtils, run, type JobHelpers, type Runner, type Task, type WorkerUtils } from 'graphile-worker';
import type pino from 'pino';
import type { OrgDb } from '../db';
import { graphileLogger, graphilePool } from '../fleet/queue';
import { attemptDelivery } from './deliver';
import { pendingDeliveries, type AlertDispatcher, type DeliveryRef } from './store';

export const ALERT_DELIVERY_TASK = 'alert_deliver';

export function maxDeliveryAttempts(): number {
  const v = Number(process.env.CODE_INSIGHTS_ALERT_MAX_ATTEMPTS);
  return Number.isInteger(v) && v >= 1 && v <= 25 ? v : 8;
}

const jobKey = (r: DeliveryRef): string => `alert_delivery:${r.org}:${r.delivery}`;

function isDeliveryRef(v: unknown): v is DeliveryRef {
  const o = v as Record<string, unknown>;
  return typeof o === 'object' && o !== null && typeof o.org === 'string' && /^\d{1,19}$/.test(o.org) && typeof o.delivery === 'string' && /^\d{1,19}$/.test(o.delivery);
}

/** Queues deliveries as graphile-worker jobs. */
export function graphileDispatcher(utils: WorkerUtils): AlertDispatcher {
  return {
    async enqueue(refs) {
      if (refs.length === 0) return;
      const maxAttempts = maxDeliveryAttempts();
      await utils.addJobs(refs.map((r) => ({ identifier: ALERT_DELIVERY_TASK, payload: r, jobKey: jobKey(r), maxAttempts })));
    },
  };
}

/** The graphile-worker task: one attempt; a failure throws, so graphile-worker retries it later. */
export function deliveryTask(db: OrgDb, log: pino.Logger): Task {
  return async (payload: unknown, helpers: JobHelpers) => {
    if (!isDeliveryRef(payload)) throw new Error(`not an alert delivery payload: ${JSON.stringify(payload).slice(0, 200)}`);
    const final = helpers.job.attempts >= helpers.job.max_attempts;
    const r = await attemptDelivery(db, payload, final);
    log.info({ org: payload.org, delivery: payload.delivery, attempt: helpers.job.attempts, result: r }, 'alert delivery');
    // A failure for good is recorded on the delivery row (its history); only a retry goes back to the queue.
    if (r === 'retry') throw new Error(`webhook delivery ${payload.delivery} failed (attempt ${helpers.job.attempts})`);
  };
}

/** Deliveries recorded pending whose job is missing (an enqueue lost between commit and enqueue):
 *  queued again. Only those: re-adding a job by its key would reset its attempts and backoff. */
async function requeueLost(db: OrgDb, dispatcher: AlertDispatcher): Promise<void> {
  const pending = await pendingDeliveries(db);
  if (pending.length === 0) return;
  const known = await db.query<{ key: string }>('SELECT key FROM graphile_worker.jobs WHERE key = ANY($1::text[])', [pending.map(jobKey)]);
  const have = new Set(known.map((k) => k.key));
  await dispatcher.enqueue(pending.filter((p) => !have.has(jobKey(p))));
}

export interface AlertSender {
  dispatcher: AlertDispatcher;
  stop(): Promise<void>;
}

/** graphile-worker runner for deliveries (PostgreSQL). */
export async function startGraphileAlertSender(db: OrgDb, databaseUrl: string, log: pino.Logger, opts: { concurrency?: number; pollInterval?: number } = {}): Promise<AlertSender> {
  // One pool for the utils and the runner, ended on stop: graphile-worker's own pools could outlive
  // stop() and throw when their connections are ended (a dropped test database, a server restart).
  const pool = await graphilePool(databaseUrl, log, (opts.concurrency ?? 2) + 4);
  const utils = await makeWorkerUtils({ pgPool: pool, logger: graphileLogger(log) });
  await utils.migrate();
  const dispatcher = graphileDispatcher(utils);
  const runner: Runner = await run({
    pgPool: pool,
    concurrency: opts.concurrency ?? 2,
    noHandleSignals: true,
    pollInterval: opts.pollInterval ?? 2000,
    logger: graphileLogger(log),
    parsedCronItems: [],
    taskList: { [ALERT_DELIVERY_TASK]: deliveryTask(db, log) },
  });
  await requeueLost(db, dispatcher).catch((err) => log.warn({ err: (err as Error).message }, 'could not requeue pending alert deliveries'));
  return {
    dispatcher,
    async stop() {
      await runner.stop();
      await utils.release();
      await pool.end();
    },
  };
}

/** The in-process sender (PGlite): one delivery at a time, backoff e^attempt s × `backoffScale`. */
export function startLocalAlertSender(db: OrgDb, log: pino.Logger, opts: { backoffScale?: number; idleWait?: number } = {}): AlertSender {
  const abort = new AbortController();
  let wakeUp: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        wakeUp = undefined;
        resolve();
      }
      wakeUp = done;
    });
  const max = maxDeliveryAttempts();
  const idle = opts.idleWait ?? 5000;
  const loop = (async () => {
    while (!abort.signal.aborted) {
      try {
        const rows = await db.query<{ org_id: string; id: string; attempts: number; wait_ms: number }>(
          `SELECT org_id, id, attempts, greatest(0, extract(epoch FROM next_attempt_at - now()) * 1000)::float8 AS wait_ms
           FROM alert_deliveries WHERE state = 'pending' ORDER BY next_attempt_at, id LIMIT 1`,
        );
        const next = rows[0];
        if (!next || Number(next.wait_ms) > 0) {
          await sleep(next ? Math.min(idle, Math.ceil(Number(next.wait_ms))) : idle);
          continue;
        }
        const ref = { org: String(next.org_id), delivery: String(next.id) };
        const r = await attemptDelivery(db, ref, Number(next.attempts) + 1 >= max, { backoffScale: opts.backoffScale });
        log.info({ ...ref, attempt: Number(next.attempts) + 1, result: r }, 'alert delivery');
      } catch (err) {
        if (abort.signal.aborted) break;
        log.error({ err: (err as Error).message }, 'alert sender error');
        await sleep(idle);
      }
    }
  })();
  return {
    dispatcher: {
      async enqueue() {
        wakeUp?.();
      },
    },
    async stop() {
      abort.abort();
      wakeUp?.();
      await loop;
    },
  };
}

/** What `org serve` runs: graphile-worker on PostgreSQL, the in-process sender on PGlite. */
export async function startAlertSender(db: OrgDb, databaseUrl: string | undefined, log: pino.Logger): Promise<AlertSender> {
  if (db.kind === 'postgres' && databaseUrl) return startGraphileAlertSender(db, databaseUrl, log.child({ alerts: 'graphile-worker' }));
  return startLocalAlertSender(db, log.child({ alerts: 'in-process' }));
}
