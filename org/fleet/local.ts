// The fleet on the embedded database: `org serve` on PGlite computes the org's queued runs itself,
// one at a time, with the same task as a worker (mirror, engine, ingest) and the same head
// refresh. graphile-worker needs a PostgreSQL server (LISTEN/NOTIFY, several connections, SKIP
// LOCKED), which a single-connection PGlite is not; so on PGlite the run table is read directly:
// the oldest queued run whose backoff has passed is next. For more than one machine or more than a
// few repositories, use PostgreSQL and `org worker`.
import type pino from 'pino';
import type { OrgDb } from '../db';
import { MirrorStore } from './mirrors';
import { maxAttempts } from './queue';
import { refreshHeads } from './refresh';
import { runComputeJob, type TaskContext } from './task';
import type { RunKey } from './store';

export interface LocalFleetOptions {
  mirrorDir: string;
  mirrorBudget: number;
  /** Seconds between head checks. */
  refreshInterval: number;
  /** Milliseconds between looks at the run table when idle (a new run wakes it at once). */
  idleWait?: number;
  /** An engine cache in each mirror (see TaskContext). */
  engineCache: boolean;
  log: pino.Logger;
  /** After a run stored points (alert evaluation, org/alerts). */
  onStored?: TaskContext['onStored'];
}

export interface LocalFleet {
  /** New runs were queued: look now. */
  wake(): void;
  stop(): Promise<void>;
}

/** The next run to compute: the oldest queued one whose retry backoff (e^attempts s, as
 *  graphile-worker's) has passed. Read as the owner across orgs; the run itself is computed in its
 *  org's row-level-security transactions. */
async function nextRun(db: OrgDb): Promise<(RunKey & { attempts: number }) | undefined> {
  const rows = await db.query<{ org_id: string; insight_id: string; repo_id: string; attempts: number }>(
    `SELECT org_id, insight_id, repo_id, attempts FROM fleet_runs
     WHERE state = 'queued' AND (attempts = 0 OR finished_at IS NULL OR finished_at + make_interval(secs => exp(least(attempts, 10))) <= now())
     ORDER BY queued_at LIMIT 1`,
  );
  const r = rows[0];
  return r && { org: String(r.org_id), insight: String(r.insight_id), repo: String(r.repo_id), attempts: Number(r.attempts) };
}

export function startLocalFleet(db: OrgDb, opts: LocalFleetOptions): LocalFleet {
  const ctx: TaskContext = { db, mirrors: new MirrorStore(opts.mirrorDir, opts.mirrorBudget), engineCache: opts.engineCache, log: opts.log, onStored: opts.onStored };
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

  const loop = (async () => {
    let nextRefresh = Date.now() + opts.refreshInterval * 1000;
    while (!abort.signal.aborted) {
      try {
        if (Date.now() >= nextRefresh) {
          nextRefresh = Date.now() + opts.refreshInterval * 1000;
          const r = await refreshHeads(db, opts.log, abort.signal);
          opts.log.info({ checked: r.checked, queued: r.moved.length }, 'refresh done');
        }
        const run = await nextRun(db);
        if (!run) {
          await sleep(Math.min(opts.idleWait ?? 5000, Math.max(0, nextRefresh - Date.now())));
          continue;
        }
        const log = opts.log.child({ org: run.org, insight: run.insight, repo: run.repo, attempt: run.attempts + 1 });
        const t0 = performance.now();
        try {
          const r = await runComputeJob({ ...ctx, log }, run, { n: run.attempts + 1, max: maxAttempts() }, abort.signal);
          log.info({ ...r, ms: Math.round(performance.now() - t0) }, 'run finished');
        } catch (err) {
          log.warn({ err: (err as Error).message }, 'run failed');
        }
      } catch (err) {
        if (abort.signal.aborted) break;
        opts.log.error({ err: (err as Error).message }, 'fleet loop error');
        await sleep(opts.idleWait ?? 5000);
      }
    }
  })();

  return {
    wake: () => wakeUp?.(),
    async stop() {
      abort.abort();
      wakeUp?.();
      await loop;
    },
  };
}
