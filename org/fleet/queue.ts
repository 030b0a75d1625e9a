// The job queue: graphile-worker in the org's own PostgreSQL. One job per (repository, insight),
// keyed `fleet:<org>:<insight>:<repo>` so queuing it again replaces the waiting job instead of
// adding a second one (and a job queued while its twin runs is a fresh job, run after).
//
// Mirror affinity: a repository's job goes to the worker that holds its mirror. Every worker has
// a home (a stable name: its host and mirror folder by default) and runs two compute tasks, the
// generic `fleet_compute` and its home's `fleet_compute_h_<home>`. A job that succeeds records its
// worker's home on the repository (fleet_repos.home); queuing a run gives it the task of that home
// while a worker of the home beats (fleet_workers), the generic task otherwise. The job key is the
// same either way, so queuing again still replaces the waiting job (graphile-worker's replace
// also switches its task). A home whose workers stopped beating has its waiting jobs re-added as
// generic jobs under the same key by any live worker (rerouteOrphanedHomeJobs), so none waits for
// a worker that is gone. graphile-worker does the rest: which worker takes a job is only which
// tasks it registered.
import { createHash } from 'node:crypto';
import { Logger, makeWorkerUtils, type WorkerUtils } from 'graphile-worker';
import type { Pool } from 'pg';
import type pino from 'pino';
import type { RunKey } from './store';

export const COMPUTE_TASK = 'fleet_compute';
export const REFRESH_TASK = 'fleet_refresh';
export const REFRESH_JOB_KEY = 'fleet_refresh';
/** One batch of a refresh's head checks (any worker takes it). */
export const REFRESH_BATCH_TASK = 'fleet_refresh_batch';
/** The task of a home's jobs is this prefix and the home's name. */
export const HOME_TASK_PREFIX = 'fleet_compute_h_';
/** A home name: letters, digits, `_`, `.`, `-`; at most 100 (graphile-worker's task identifiers
 *  are at most 128 characters). */
export const HOME_NAME = /^[A-Za-z0-9_.-]{1,100}$/;
export const homeTask = (home: string): string => `${HOME_TASK_PREFIX}${home}`;

/** The default home of a worker: its host name and a hash of its absolute mirror folder, so a
 *  worker restarted on the same folder (which keeps the mirrors) has the same home, and two
 *  workers of one host with their own folders have two. */
export function defaultHome(host: string, mirrorDir: string): string {
  const h = host.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 80) || 'host';
  return `${h}-${createHash('sha256').update(mirrorDir).digest('hex').slice(0, 12)}`;
}

const repoKey = (org: string, repo: string) => `${org}:${repo}`;

/** The task of each run: its repository's home's task when that home is live (in `liveHomes`,
 *  keyed `org:repo`), else the generic one. The key is the run's, whatever the task. */
export function routeRuns(runs: RunKey[], liveHomes: Map<string, string>): { run: RunKey; identifier: string; jobKey: string }[] {
  return runs.map((run) => {
    const home = liveHomes.get(repoKey(run.org, run.repo));
    return { run, identifier: home ? homeTask(home) : COMPUTE_TASK, jobKey: jobKey(run) };
  });
}

/** `org:repo` → home, for the repositories of `runs` whose recorded home has a worker whose
 *  heartbeat is younger than that worker's own lock timeout. Read as the database owner (the
 *  queue's connection), like the refresh plan: fleet_workers is not org data. */
export async function liveHomesOf(utils: WorkerUtils, runs: RunKey[]): Promise<Map<string, string>> {
  if (runs.length === 0) return new Map();
  const rows = await utils.withPgClient((c) =>
    c.query<{ org: string; repo: string; home: string }>(
      `SELECT r.org_id::text AS org, r.id::text AS repo, r.home FROM fleet_repos r
         JOIN unnest($1::bigint[], $2::bigint[]) AS k(org_id, repo_id) ON r.org_id = k.org_id AND r.id = k.repo_id
       WHERE r.home IS NOT NULL AND EXISTS (
         SELECT 1 FROM fleet_workers w WHERE w.home = r.home AND w.heartbeat_at > now() - make_interval(secs => w.lock_timeout_s))`,
      [runs.map((r) => r.org), runs.map((r) => r.repo)],
    ),
  );
  return new Map(rows.rows.map((r) => [repoKey(r.org, r.repo), r.home]));
}

/** Waiting jobs of homes with no live worker, re-added as generic jobs with the same key (and
 *  run time: a retry's backoff stays; graphile-worker's replace resets the attempt count). Jobs
 *  held by a worker are left to the heartbeat check, which frees a dead worker's jobs first;
 *  failed-for-good ones stay failed. Returns how many were re-routed. */
export async function rerouteOrphanedHomeJobs(utils: WorkerUtils): Promise<number> {
  let moved = 0;
  for (;;) {
    const rows = await utils.withPgClient((c) =>
      c.query<{ key: string; run_at: Date; max_attempts: number }>(
        `SELECT j.key, j.run_at, j.max_attempts FROM graphile_worker.jobs j
         WHERE left(j.task_identifier, length($1)) = $1 AND j.key ~ '^fleet:[0-9]{1,19}:[0-9]{1,19}:[0-9]{1,19}$'
           AND j.locked_at IS NULL AND j.attempts < j.max_attempts
           AND NOT EXISTS (SELECT 1 FROM fleet_workers w WHERE w.home IS NOT NULL AND j.task_identifier = $1 || w.home
                             AND w.heartbeat_at > now() - make_interval(secs => w.lock_timeout_s))
         LIMIT 1000`,
        [HOME_TASK_PREFIX],
      ),
    );
    if (rows.rows.length === 0) return moved;
    // The key is the whole payload (graphile-worker's jobs view does not show payloads).
    await utils.addJobs(
      rows.rows.map((r) => ({ identifier: COMPUTE_TASK, payload: runOfKey(r.key)!, jobKey: r.key, runAt: r.run_at, maxAttempts: r.max_attempts })),
      true,
    );
    moved += rows.rows.length;
    if (rows.rows.length < 1000) return moved;
  }
}

export const jobKey = (k: RunKey): string => `fleet:${k.org}:${k.insight}:${k.repo}`;

/** The run a compute job's key names (its payload). */
export function runOfKey(key: string): RunKey | undefined {
  const m = /^fleet:(\d{1,19}):(\d{1,19}):(\d{1,19})$/.exec(key);
  return m ? { org: m[1], insight: m[2], repo: m[3] } : undefined;
}

/** Attempts per job before it is failed for good (graphile-worker backs off exp(attempt) s). */
export function maxAttempts(): number {
  const v = Number(process.env.CODE_INSIGHTS_FLEET_MAX_ATTEMPTS);
  return Number.isInteger(v) && v >= 1 && v <= 25 ? v : 5;
}

export interface FleetQueue {
  add(runs: RunKey[], opts?: { preserveRunAt?: boolean }): Promise<number>;
  readonly utils: WorkerUtils;
  close(): Promise<void>;
}

/** graphile-worker's log lines as pino lines (with the job id, task and worker in each). */
export function graphileLogger(log: pino.Logger): Logger {
  return new Logger((scope) => (level, message, meta) => {
    const fields = { ...scope, ...(meta ?? {}) };
    if (level === 'error') log.error(fields, message);
    else if (level === 'warning') log.warn(fields, message);
    else if (level === 'info') log.info(fields, message);
    else log.debug(fields, message);
  });
}

/** A pg pool for graphile-worker that we end ourselves, with error handlers on it and on every
 *  client: a connection the server ends (a restart, a dropped database) is logged, never an
 *  unhandled 'error' event that takes the process down. */
export async function graphilePool(connectionString: string, log?: pino.Logger, max = 10): Promise<Pool> {
  // Loaded when used, as org/db.ts loads it: a service on PGlite never needs it.
  const pg = await import('pg');
  const pool = new pg.Pool({ connectionString, max });
  const onError = (err: Error) => log?.warn({ err: err.message }, 'queue connection lost');
  pool.on('error', onError);
  pool.on('connect', (client) => client.on('error', onError));
  return pool;
}

/** Connects to graphile-worker's schema (creating or upgrading it first) for enqueuing. */
export async function openQueue(connectionString: string, log?: pino.Logger): Promise<FleetQueue> {
  const pool = await graphilePool(connectionString, log);
  const utils = await makeWorkerUtils({ pgPool: pool, ...(log ? { logger: graphileLogger(log) } : {}) });
  try {
    await utils.migrate();
  } catch (err) {
    await utils.release();
    await pool.end();
    throw err;
  }
  return {
    utils,
    async add(runs, opts = {}) {
      const attempts = maxAttempts();
      for (let i = 0; i < runs.length; i += 1000) {
        const slice = runs.slice(i, i + 1000);
        const routed = routeRuns(slice, await liveHomesOf(utils, slice));
        await utils.addJobs(
          routed.map((r) => ({ identifier: r.identifier, payload: r.run, jobKey: r.jobKey, maxAttempts: attempts })),
          opts.preserveRunAt === true,
        );
      }
      return runs.length;
    },
    close: async () => {
      await utils.release();
      await pool.end();
    },
  };
}
