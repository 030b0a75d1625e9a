// One repository's values at its sampled commits: walk the trees (the first commit listed whole
// unless its values are stored, later ones diffed against their predecessor), fetch or search
// the new blobs once, then running totals along the commits.
import type { RepoLocation } from './discoverRepos';
import { throwIfAborted } from './errors';
import { searchAll } from './gitSearch';
import { objectsDir } from './grepPrefilter';
import { RepoBlobs } from './repoBlobs';
import type { RunContext } from './runContext';
import { runningTotals, storedValues } from './runningTotals';
import type { ChainCommit } from './sampleCommits';
import { diffPairs, listTree, type FileChange, type TreeEntry } from './treeChanges';
import type { UnitValue } from './units';

export async function computeRepo(loc: RepoLocation, ctx: RunContext, sampled: (ChainCommit | undefined)[], notes: string[]): Promise<Map<string, UnitValue[]>> {
  const { units, store, signal } = ctx;
  // Distinct sampled commits, oldest first; consecutive buckets often share a commit.
  const distinct: ChainCommit[] = [];
  for (const c of sampled) if (c && distinct[distinct.length - 1]?.sha !== c.sha) distinct.push(c);
  ctx.stats.commitsSampled += distinct.length;
  ctx.progress.commitsTotal += distinct.length;
  const values = storedValues(store, units, distinct);

  const fullEntries: TreeEntry[] = [];
  const changes: FileChange[][] = distinct.map(() => []);
  const blobs = new RepoBlobs(loc.gitDir, ctx);
  // Known before the search starts: the temporary repositories borrow this object directory.
  if (ctx.grepNeedles || ctx.gitLines) objectsDir(loc.gitDir, signal).catch(() => { /* the search reports it */ });
  try {
    // Tree phase: the first commit to compute is listed whole unless a stored commit precedes
    // it; later ones are diffed against their predecessor. Listing and diffing run at once.
    const pairs: { older: string; newer: string; index: number }[] = [];
    const walks: Promise<void>[] = [];
    for (let i = 0; i < distinct.length; i++) {
      if (values[i]) continue;
      if (i === 0) {
        walks.push(listTree(loc.gitDir, distinct[0].sha, (e) => {
          fullEntries.push(e);
          blobs.need(e.path, e.oid, e.size);
        }, signal));
      } else pairs.push({ older: distinct[i - 1].sha, newer: distinct[i].sha, index: i });
    }
    walks.push(diffPairs(loc.gitDir, pairs, (pi, c) => {
      changes[pairs[pi].index].push(c);
      if (c.new) blobs.need(c.path, c.new, -1);
      if (c.old) blobs.need(c.path, c.old, -1);
    }, signal));
    await Promise.all(walks);
    ctx.trace(`trees walked; blobs requested ${ctx.progress.blobsTotal}, done ${ctx.progress.blobsDone}`);
    ctx.progress.phase = 'blobs';
    ctx.report();
    if (blobs.toGrep.length) await searchAll(loc.gitDir, ctx, blobs);
    await blobs.finish();
  } finally {
    blobs.kill();
  }
  throwIfAborted(signal);
  if (blobs.missing > 0) {
    notes.push(`${blobs.missing} objects are missing from the repository (a partial clone?); their files count as 0 and these values are not cached`);
  }
  return runningTotals({
    units,
    blobs: blobs.blobs,
    commits: distinct,
    values,
    fullEntries,
    changes,
    store: store && blobs.missing === 0
      ? { put: (u, c, v) => store.putCommitValue(u, c, v), keep: (u) => u.matcher === undefined || !ctx.guards[u.matcher]?.failed }
      : undefined,
    onCommit: () => void ctx.progress.commitsDone++,
  });
}
