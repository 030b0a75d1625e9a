// Scheduled refresh: each repository's head is read with `git ls-remote`, and only the runs of
// repositories whose head moved since they were computed are queued again. It runs as a
// graphile-worker job that queues its own next run (one job key, so any number of workers share
// one schedule); also queues again any run marked queued whose job was lost.
import type pino from 'pino';
import type { OrgDb } from '../db';
import { remoteHead } from './mirrors';
import { allOrgIds, queuedRuns, recordHead, reposToCheck, type RunKey } from './store';

/** Head checks at once: each is a network round trip, not CPU. */
const CHECKS_AT_ONCE = 8;

export async function refreshHeads(db: OrgDb, log: pino.Logger, signal?: AbortSignal): Promise<{ checked: number; moved: RunKey[]; waiting: RunKey[] }> {
  const moved: RunKey[] = [];
  const waiting: RunKey[] = [];
  let checked = 0;
  for (const org of await allOrgIds(db)) {
    const repos = await reposToCheck(db, org);
    let next = 0;
    const one = async () => {
      while (next < repos.length) {
        const r = repos[next++];
        let head: string | null = null;
        let error: string | null = null;
        try {
          head = await remoteHead(r.url, signal);
        } catch (e) {
          error = (e as Error).message;
        }
        moved.push(...(await recordHead(db, org, r.id, head, error)));
        checked++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(CHECKS_AT_ONCE, repos.length) }, one));
    waiting.push(...(await queuedRuns(db, org)));
  }
  if (moved.length) log.info({ runs: moved.length }, 'heads moved: runs queued');
  return { checked, moved, waiting };
}
