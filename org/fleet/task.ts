// One job: an org-defined insight over one repository. Fetch the mirror, compute with the engine,
// store the points through ingest (newer commit wins, in the org's row-level-security
// transaction: a job of org A cannot write a row of org B), and record the outcome for status.
import { setMaxListeners } from 'node:events';
import type pino from 'pino';
import { ORG_LIMITS } from '../../protocol/org';
import type { OrgDb } from '../db';
import { ingest } from '../store';
import { computeOverMirror } from './compute';
import { runGit, type MirrorStore } from './mirrors';
import { loadRun, markDone, markError, markRunning, type RunKey } from './store';

export interface TaskContext {
  db: OrgDb;
  mirrors: MirrorStore;
  /** Keep an engine cache in each mirror (per-blob counts: a second insight over a repository, or
   *  a new commit, reads only blobs it has not counted). False: compute without a cache. */
  engineCache: boolean;
  log: pino.Logger;
  /** The worker's home (PostgreSQL fleet): recorded on the repository when a job succeeds, so its
   *  next jobs come to this worker's mirror. Absent on PGlite (one process, one mirror folder). */
  home?: string;
  onFetched?: (bytes: number, cloned: boolean) => void;
  /** After a job stored points: evaluate the alert rules of these series (org/alerts). */
  onStored?: (org: string, seriesKeys: string[]) => Promise<unknown>;
}

export function isRunKey(v: unknown): v is RunKey {
  const o = v as Record<string, unknown>;
  return typeof o === 'object' && o !== null && ['org', 'repo', 'insight'].every((k) => typeof o[k] === 'string' && /^\d{1,19}$/.test(o[k] as string));
}

export type RunOutcome =
  | { outcome: 'done'; points: number; inserted: number; updated: number; cloned: boolean; fetchedBytes: number; commitsSampled: number; blobsRead: number; blobsFromCache: number; computeMs: number }
  | { outcome: 'gone' };

export async function runComputeJob(ctx: TaskContext, key: RunKey, attempt: { n: number; max: number }, outer?: AbortSignal): Promise<RunOutcome> {
  // A signal of this job's own: the engine's git processes each listen on it (more than Node's
  // default of 10 at once is normal, not a leak), and the worker's signal keeps one listener a job.
  const own = new AbortController();
  setMaxListeners(0, own.signal);
  const forward = () => own.abort(outer!.reason);
  if (outer?.aborted) own.abort(outer.reason);
  outer?.addEventListener('abort', forward, { once: true });
  try {
    return await runJob(ctx, key, attempt, own.signal);
  } finally {
    outer?.removeEventListener('abort', forward);
  }
}

async function runJob(ctx: TaskContext, key: RunKey, attempt: { n: number; max: number }, signal: AbortSignal): Promise<RunOutcome> {
  const run = await loadRun(ctx.db, key);
  if (!run) return { outcome: 'gone' }; // removed since it was queued: nothing to do
  await markRunning(ctx.db, key, attempt.n);
  let fetched = { cloned: false, fetchedBytes: 0 };
  try {
    const res = await ctx.mirrors.use(
      run.url,
      async (m) => {
        ctx.onFetched?.(m.fetchedBytes, m.cloned);
        fetched = { cloned: m.cloned, fetchedBytes: m.fetchedBytes };
        const headRes = await runGit(['--git-dir', m.gitDir, 'rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], { signal });
        const head = headRes.code === 0 ? headRes.stdout.trim() : null;
        const batch = await computeOverMirror(run.definition, m, { engineCache: ctx.engineCache, signal });
        return { ...batch, head };
      },
      signal,
    );
    let inserted = 0;
    let updated = 0;
    // Definitions go with every slice: ingest needs each point's series defined in its batch.
    for (let i = 0; i === 0 || i < res.points.length; i += ORG_LIMITS.maxPointsPerBatch) {
      const r = await ingest(ctx.db, key.org, res.definitions, res.points.slice(i, i + ORG_LIMITS.maxPointsPerBatch));
      inserted += r.inserted;
      updated += r.updated;
    }
    await markDone(ctx.db, key, res.head, ctx.home);
    if (inserted + updated > 0 && ctx.onStored) {
      // The job is done whatever the alerts say: a failed evaluation is logged, not retried as the job.
      await ctx.onStored(key.org, res.definitions.map((d) => d.id)).catch((err: unknown) => ctx.log.error({ err: (err as Error).message }, 'alert evaluation failed'));
    }
    const { commitsSampled, blobsRead, blobsFromCache, elapsedMs } = res.stats;
    return { outcome: 'done', points: res.points.length, inserted, updated, ...fetched, commitsSampled, blobsRead, blobsFromCache, computeMs: elapsedMs };
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    await markError(ctx.db, key, message, attempt.n >= attempt.max).catch((e) => ctx.log.error({ err: e }, 'could not record the failure'));
    throw err;
  }
}
