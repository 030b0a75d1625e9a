// What a caller may remember of earlier runs, as the engine sees it: given each repository's
// revision now, the results a run kept for it. The engine asks before it needs a store, so a
// rerun answered this way opens none. The caller (server/runs/runMemo.ts) decides what it
// remembers; the engine hands it each repository's record as the repository finishes.
import type { RepoStatus } from '../../protocol/insights';
import type { ChainCommit } from './sampleCommits';

/** A repository at the revision a run computed. */
export interface RepoRevision {
  gitDir: string;
  head: string;
  detached: boolean;
  origin: string | null;
}

/** One repository's results, with each unit's value as its kind serialises it. */
export interface RepoRecord extends RepoRevision {
  status: RepoStatus;
  /** Per bucket: the commit and each unit's value, or null when the repo has no commit then. */
  points: ({ commit: ChainCommit; values: string[] } | null)[];
}

export interface Recall {
  /** How many repositories the remembered run covered: another number is a miss at once. */
  repoCount: number;
  /** The remembered record of this repository if it answers it now. */
  answer(now: RepoRevision): RepoRecord | undefined;
}
