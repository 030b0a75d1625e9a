// A repository's first git calls, which need no store: its revision, the URL of its origin,
// and whether replace refs are in use. They start while the store opens, and they are all a
// recall (an earlier run's results) needs to answer a repository.
import type { RepoLocation } from './discoverRepos';
import { hasReplacements } from './git';
import type { Recall, RepoRecord } from './recall';
import { originIdentity } from './repoIdentity';
import { resolveRev } from './sampleCommits';

export interface RepoStart {
  head: ReturnType<typeof resolveRev>;
  origin: Promise<string | undefined>;
  /** git replace refs in use: the repository must not share the content-addressed store. */
  replaced: Promise<boolean>;
}

export function startRepo(loc: RepoLocation, rev: string | undefined, signal?: AbortSignal): RepoStart {
  const start = { head: resolveRev(loc.gitDir, rev, signal), origin: originIdentity(loc.gitDir, signal), replaced: hasReplacements(loc.gitDir, signal) };
  start.head.catch(() => { /* awaited in processRepo */ });
  start.origin.catch(() => { /* awaited in processRepo */ });
  start.replaced.catch(() => { /* awaited in processRepo */ });
  return start;
}

/**
 * The recalled records of these repositories, if the recall answers every one: each at the
 * revision and origin it had, asked of git through `starts` a few repositories at a time,
 * stopping at the first that differs. Any failure to ask is a miss; the run then reports it
 * the usual way.
 */
export async function recallRepos(recall: Recall, locations: RepoLocation[], ctx: { starts: Map<RepoLocation, RepoStart>; rev?: string; signal?: AbortSignal; concurrency: number }): Promise<RepoRecord[] | undefined> {
  if (recall.repoCount !== locations.length) return undefined;
  const out: RepoRecord[] = [];
  try {
    for (let i = 0; i < locations.length; i += ctx.concurrency) {
      const batch = locations.slice(i, i + ctx.concurrency);
      for (const loc of batch) if (!ctx.starts.has(loc)) ctx.starts.set(loc, startRepo(loc, ctx.rev, ctx.signal));
      const now = await Promise.all(
        batch.map(async (loc) => {
          const s = ctx.starts.get(loc)!;
          const [head, origin, replaced] = await Promise.all([s.head, s.origin, s.replaced]);
          if (replaced) return undefined; // never remembered (its runs warn), nor answered if replace refs came since
          return recall.answer({ gitDir: loc.gitDir, head: head.sha, detached: head.detached, origin: origin ?? null });
        }),
      );
      if (now.some((r) => !r)) return undefined;
      out.push(...(now as RepoRecord[]));
    }
    return out;
  } catch {
    return undefined;
  }
}
