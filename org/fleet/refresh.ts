// Scheduled refresh: each repository's head is read with `git ls-remote`, and only the runs of
// repositories whose head moved since they were computed are queued again. On PostgreSQL it runs
// as a graphile-worker job that queues its own next run (one job key, so any number of workers
// share one schedule) and splits the repositories into batch jobs (`fleet_refresh_batch`, 500
// repositories each by default) that every worker takes, so the head checks of 100,000
// repositories spread over the fleet instead of one worker's 8 connections; it also queues again
// any run marked queued whose job was lost. On PGlite the service walks the batches itself.
import type pino from 'pino';
import type { OrgDb } from '../db';
import { remoteHead } from './mirrors';
import { allOrgIds, queuedRuns, recordHead, reposToCheck, type RunKey } from './store';

/** Head checks at once: each is a network round trip, not CPU. */
const CHECKS_AT_ONCE = 8;

/** Repositories per batch job (CODE_INSIGHTS_REFRESH_BATCH, default 500). */
export function refreshBatchSize(): number {
  const v = Number(process.env.CODE_INSIGHTS_REFRESH_BATCH);
  return Number.isInteger(v) && v >= 1 && v <= 100_000 ? v : 500;
}

export interface RefreshBatch {
  org: string;
  /** fleet_repos ids of the org. */
  repos: string[];
}

export function isRefreshBatch(v: unknown): v is RefreshBatch {
  const o = v as Record<string, unknown>;
  const id = (x: unknown) => typeof x === 'string' && /^\d{1,19}$/.test(x);
  return typeof o === 'object' && o !== null && id(o.org) && Array.isArray(o.repos) && o.repos.length <= 100_000 && o.repos.every(id);
}

/** Every org's repositories in batches, and the runs marked queued (to re-add a lost job). */
export async function refreshPlan(db: OrgDb): Promise<{ batches: RefreshBatch[]; waiting: RunKey[] }> {
  const size = refreshBatchSize();
  const batches: RefreshBatch[] = [];
  const waiting: RunKey[] = [];
  for (const org of await allOrgIds(db)) {
    const ids = (await reposToCheck(db, org)).map((r) => r.id);
    for (let i = 0; i < ids.length; i += size) batches.push({ org, repos: ids.slice(i, i + size) });
    waiting.push(...(await queuedRuns(db, org)));
  }
  return { batches, waiting };
}

/** Checks the heads of one batch (CHECKS_AT_ONCE at a time); returns the runs queued again. */
export async function refreshBatch(db: OrgDb, batch: RefreshBatch, signal?: AbortSignal): Promise<{ checked: number; moved: RunKey[] }> {
  const repos = await reposToCheck(db, batch.org, batch.repos);
  const moved: RunKey[] = [];
  let checked = 0;
  let next = 0;
  const one = async () => {
    while (next < repos.length) {
      signal?.throwIfAborted();
      const r = repos[next++];
      let head: string | null = null;
      let error: string | null = null;
      try {
        head = await remoteHead(r.url, signal);
      } catch (e) {
        error = (e as Error).message;
      }
      moved.push(...(await recordHead(db, batch.org, r.id, head, error)));
      checked++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(CHECKS_AT_ONCE, repos.length) }, one));
  return { checked, moved };
}

/** The whole refresh in this process (the service on PGlite): every batch in turn. */
export async function refreshHeads(db: OrgDb, log: pino.Logger, signal?: AbortSignal): Promise<{ checked: number; moved: RunKey[]; waiting: RunKey[] }> {
  const { batches, waiting } = await refreshPlan(db);
  const moved: RunKey[] = [];
  let checked = 0;
  for (const b of batches) {
    const r = await refreshBatch(db, b, signal);
    checked += r.checked;
    moved.push(...r.moved);
  }
  if (moved.length) log.info({ runs: moved.length }, 'heads moved: runs queued');
  return { checked, moved, waiting };
}
