// `code-insights org worker`: a graphile-worker runner over the org's PostgreSQL with the fleet's
// tasks (compute one run, generic or routed to this worker's home; refresh heads on an interval),
// a folder of bare mirrors (each with its engine cache), and a heartbeat so the jobs of a worker
// killed mid-job are freed quickly and the waiting jobs of its home go to the others.
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { run, type Job, type JobHelpers, type Runner, type WorkerUtils } from 'graphile-worker';
import type pino from 'pino';
import { openDb, type OrgDb } from '../db';
import { migrate } from '../migrate';
import { createWorkerMetrics, serveMetrics } from './metrics';
import { MirrorStore } from './mirrors';
import { COMPUTE_TASK, HOME_TASK_PREFIX, REFRESH_BATCH_TASK, REFRESH_JOB_KEY, REFRESH_TASK, graphileLogger, homeTask, jobKey, openQueue, rerouteOrphanedHomeJobs, type FleetQueue } from './queue';
import { isRefreshBatch, refreshBatch, refreshPlan } from './refresh';
import { isRunKey, runComputeJob } from './task';
import { ALERT_DELIVERY_TASK, deliveryTask, graphileDispatcher } from '../alerts/runner';
import { evaluateAfterIngest } from '../alerts/store';

export interface WorkerOptions {
  databaseUrl: string;
  concurrency: number;
  mirrorDir: string;
  /** This worker's home (queue.ts): jobs of repositories whose mirror is here are routed to it. */
  home: string;
  /** Bytes; 0 = unbounded. */
  mirrorBudget: number;
  /** Seconds between head checks. */
  refreshInterval: number;
  /** Seconds without a heartbeat after which a worker's jobs are freed for others. */
  lockTimeout: number;
  /** Milliseconds between polls for new jobs when idle (LISTEN/NOTIFY wakes it sooner). */
  pollInterval: number;
  /** Serve Prometheus metrics on this port (0: any free port; undefined: not served). */
  metricsPort?: number;
  metricsHost?: string;
  log: pino.Logger;
}

export interface FleetWorker {
  /** The port /metrics is served on, when asked. */
  readonly metricsPort?: number;
  readonly workerIds: string[];
  stop(): Promise<void>;
  readonly done: Promise<void>;
}

/** This process's row in fleet_workers: inserted again if another worker took it for dead (a
 *  long stall) and removed it, so a live worker never loses its home for good. */
async function beatRows(db: OrgDb, ids: string[], home: string, lockTimeout: number): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    `INSERT INTO fleet_workers (worker_id, host, pid, home, lock_timeout_s) SELECT unnest($1::text[]), $2, $3, $4, $5
     ON CONFLICT (worker_id) DO UPDATE SET heartbeat_at = now(), home = excluded.home, lock_timeout_s = excluded.lock_timeout_s`,
    [ids, hostname(), process.pid, home, lockTimeout],
  );
}

async function heartbeat(db: OrgDb, ids: string[], home: string, lockTimeout: number, utils: WorkerUtils, log: pino.Logger): Promise<number> {
  await beatRows(db, ids, home, lockTimeout);
  const stale = await db.query<{ worker_id: string }>(
    `SELECT worker_id FROM fleet_workers WHERE heartbeat_at < now() - make_interval(secs => $1) AND NOT (worker_id = ANY($2::text[]))`,
    [lockTimeout, ids],
  );
  if (stale.length) {
    const gone = stale.map((s) => s.worker_id);
    // graphile-worker's own way to free a dead worker's jobs: they run again at once, elsewhere.
    await utils.forceUnlockWorkers(gone);
    await db.query('DELETE FROM fleet_workers WHERE worker_id = ANY($1::text[])', [gone]);
    log.warn({ workers: gone }, 'freed the jobs of workers whose heartbeat stopped');
  }
  // Jobs waiting for a home no live worker has (it died, stopped, or was routed to just as it
  // went): generic again, so any worker takes them. Also after the unlock above, in the same beat.
  const moved = await rerouteOrphanedHomeJobs(utils);
  if (moved) log.warn({ jobs: moved }, 're-routed the waiting jobs of homes with no live worker as generic jobs');
  return moved;
}

export async function startWorker(opts: WorkerOptions): Promise<FleetWorker> {
  const { log } = opts;
  const db = await openDb({ databaseUrl: opts.databaseUrl, poolSize: Math.max(4, opts.concurrency + 2), onPoolError: (err) => log.warn({ err: err.message }, 'idle database connection lost') });
  await migrate(db);
  const queue: FleetQueue = await openQueue(opts.databaseUrl, log);
  const mirrors = new MirrorStore(opts.mirrorDir, opts.mirrorBudget);
  const metrics = createWorkerMetrics({
    mirrorBytes: () => mirrors.totalBytes(),
    queueDepth: async () =>
      Number(
        (
          await db.query<{ n: string }>(
            `SELECT count(*) AS n FROM graphile_worker.jobs WHERE (task_identifier = $1 OR left(task_identifier, length($2)) = $2) AND locked_at IS NULL AND run_at <= now() AND attempts < max_attempts`,
            [COMPUTE_TASK, HOME_TASK_PREFIX],
          )
        )[0].n,
      ),
  });
  const ctx = {
    db,
    mirrors,
    engineCache: true,
    home: opts.home,
    log,
    onFetched: (bytes: number, cloned: boolean) => metrics.fetched.inc({ kind: cloned ? 'clone' : 'fetch' }, bytes),
    // Alert rules are evaluated when a job stored points; their deliveries are jobs of this queue.
    onStored: (org: string, keys: string[]) => evaluateAfterIngest(db, org, keys, graphileDispatcher(queue.utils)),
  };
  /** Counts and times a task, by outcome. */
  const measured = (task: string, fn: (payload: unknown, helpers: JobHelpers) => Promise<void>) => async (payload: unknown, helpers: JobHelpers) => {
    metrics.jobs.inc({ task, event: 'started' });
    const end = metrics.duration.startTimer({ task });
    try {
      await fn(payload, helpers);
      metrics.jobs.inc({ task, event: 'succeeded' });
      end({ outcome: 'succeeded' });
    } catch (err) {
      metrics.jobs.inc({ task, event: 'failed' });
      end({ outcome: 'failed' });
      throw err;
    }
  };

  // Jobs are locked by the worker pool's id (one per process): that id carries the heartbeat.
  const workerIds: string[] = [];
  const events = new EventEmitter() as NonNullable<Parameters<typeof run>[0]['events']>;
  events.on('pool:create', ({ workerPool }) => {
    workerIds.push(workerPool.id);
    beatRows(db, [workerPool.id], opts.home, opts.lockTimeout).catch((err) => log.error({ err }, 'could not record the worker heartbeat'));
  });

  const compute = async (payload: unknown, helpers: JobHelpers) => {
    if (!isRunKey(payload)) throw new Error(`not a fleet job payload: ${JSON.stringify(payload).slice(0, 200)}`);
    const job: Job = helpers.job;
    const jobLog = log.child({ job: job.id, org: payload.org, insight: payload.insight, repo: payload.repo, attempt: job.attempts, routed: job.task_identifier === COMPUTE_TASK ? 'generic' : 'home' });
    jobLog.info('job started');
    const t0 = performance.now();
    try {
      const r = await runComputeJob({ ...ctx, log: jobLog }, payload, { n: job.attempts, max: job.max_attempts }, helpers.abortSignal);
      jobLog.info({ ...r, ms: Math.round(performance.now() - t0) }, 'job finished');
    } catch (err) {
      jobLog.warn({ err: (err as Error).message, final: job.attempts >= job.max_attempts }, 'job failed');
      throw err;
    }
  };

  // The schedule's job: split the repositories into batch jobs (keyed per org and first id, so a
  // refresh that comes round before the last one's batches ran replaces them, never doubles them).
  const refresh = async (_payload: unknown, helpers: JobHelpers) => {
    try {
      const { batches, waiting } = await refreshPlan(db);
      for (let i = 0; i < batches.length; i += 1000) {
        await queue.utils.addJobs(
          batches.slice(i, i + 1000).map((b) => ({ identifier: REFRESH_BATCH_TASK, payload: b, jobKey: `fleet_refresh_batch:${b.org}:${b.repos[0]}`, maxAttempts: 1 })),
        );
      }
      // Runs marked queued whose job does not exist (an enqueue lost after its commit). Only
      // those: adding a job again resets its attempts, which would undo its backoff.
      if (waiting.length) {
        const known = await db.query<{ key: string }>('SELECT key FROM graphile_worker.jobs WHERE key = ANY($1::text[])', [waiting.map(jobKey)]);
        const have = new Set(known.map((k) => k.key));
        await queue.add(waiting.filter((w) => !have.has(jobKey(w))));
      }
      log.info({ batches: batches.length, repos: batches.reduce((s, b) => s + b.repos.length, 0) }, 'refresh planned');
    } finally {
      await helpers.addJob(REFRESH_TASK, {}, { jobKey: REFRESH_JOB_KEY, runAt: new Date(Date.now() + opts.refreshInterval * 1000), maxAttempts: 1 });
    }
  };
  const refreshOneBatch = async (payload: unknown, helpers: JobHelpers) => {
    if (!isRefreshBatch(payload)) throw new Error(`not a refresh batch payload: ${JSON.stringify(payload).slice(0, 200)}`);
    const r = await refreshBatch(db, payload, helpers.abortSignal);
    await queue.add(r.moved);
    log.info({ job: helpers.job.id, org: payload.org, checked: r.checked, queued: r.moved.length }, 'refresh batch done');
  };

  const runner: Runner = await run({
    connectionString: opts.databaseUrl,
    concurrency: opts.concurrency,
    noHandleSignals: true,
    pollInterval: opts.pollInterval,
    logger: graphileLogger(log),
    events,
    // No cron items: graphile-worker would otherwise read a file named crontab in the current folder.
    parsedCronItems: [],
    // The generic compute task and this home's: graphile-worker gives a home's jobs only to the
    // workers that registered its task.
    taskList: { [COMPUTE_TASK]: measured(COMPUTE_TASK, compute), [homeTask(opts.home)]: measured('fleet_compute_home', compute), [REFRESH_TASK]: measured(REFRESH_TASK, refresh), [REFRESH_BATCH_TASK]: measured(REFRESH_BATCH_TASK, refreshOneBatch), [ALERT_DELIVERY_TASK]: deliveryTask(db, log) },
  });
  // The schedule: one job for every worker of the database (the key), first run one interval from now.
  await queue.utils.addJob(REFRESH_TASK, {}, { jobKey: REFRESH_JOB_KEY, jobKeyMode: 'preserve_run_at', runAt: new Date(Date.now() + opts.refreshInterval * 1000), maxAttempts: 1 });

  const beatEvery = Math.max(200, (opts.lockTimeout * 1000) / 3);
  const beat = setInterval(() => {
    heartbeat(db, workerIds, opts.home, opts.lockTimeout, queue.utils, log).then((moved) => metrics.rerouted.inc(moved)).catch((err) => log.warn({ err: (err as Error).message }, 'heartbeat failed'));
  }, beatEvery);
  beat.unref();
  const metricsServer = opts.metricsPort !== undefined ? await serveMetrics(metrics.registry, opts.metricsPort, opts.metricsHost ?? '127.0.0.1') : undefined;
  const metricsPort = metricsServer ? (metricsServer.address() as { port: number }).port : undefined;
  log.info({ workers: workerIds, home: opts.home, metricsPort, concurrency: opts.concurrency, mirrorDir: opts.mirrorDir }, 'fleet worker started');

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      clearInterval(beat);
      await runner.stop();
      await new Promise((r) => (metricsServer ? metricsServer.close(r) : r(undefined)));
      await db.query('DELETE FROM fleet_workers WHERE worker_id = ANY($1::text[])', [workerIds]).catch(() => undefined);
      // This home's waiting jobs go generic now, unless another live worker shares the home.
      await rerouteOrphanedHomeJobs(queue.utils).then(
        (moved) => moved && log.info({ jobs: moved }, 're-routed this home\'s waiting jobs as generic jobs'),
        (err: unknown) => log.warn({ err: (err as Error).message }, 'could not re-route this home\'s waiting jobs (a live worker will)'),
      );
      await queue.close();
      await db.close();
    })());
  return { workerIds, metricsPort, stop, done: runner.promise };
}
