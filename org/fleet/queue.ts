// The job queue: graphile-worker in the org's own PostgreSQL. One job per (repository, insight),
// keyed `fleet:<org>:<insight>:<repo>` so queuing it again replaces the waiting job instead of
// adding a second one (and a job queued while its twin runs is a fresh job, run after).
import { Logger, makeWorkerUtils, type WorkerUtils } from 'graphile-worker';
import type pino from 'pino';
import type { RunKey } from './store';

export const COMPUTE_TASK = 'fleet_compute';
export const REFRESH_TASK = 'fleet_refresh';
export const REFRESH_JOB_KEY = 'fleet_refresh';
/** One batch of a refresh's head checks (any worker takes it). */
export const REFRESH_BATCH_TASK = 'fleet_refresh_batch';

export const jobKey = (k: RunKey): string => `fleet:${k.org}:${k.insight}:${k.repo}`;

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

/** Connects to graphile-worker's schema (creating or upgrading it first) for enqueuing. */
export async function openQueue(connectionString: string, log?: pino.Logger): Promise<FleetQueue> {
  const utils = await makeWorkerUtils({ connectionString, ...(log ? { logger: graphileLogger(log) } : {}) });
  await utils.migrate();
  return {
    utils,
    async add(runs, opts = {}) {
      const attempts = maxAttempts();
      for (let i = 0; i < runs.length; i += 1000) {
        await utils.addJobs(
          runs.slice(i, i + 1000).map((r) => ({ identifier: COMPUTE_TASK, payload: r, jobKey: jobKey(r), maxAttempts: attempts })),
          opts.preserveRunAt === true,
        );
      }
      return runs.length;
    },
    close: async () => {
      await utils.release();
    },
  };
}
