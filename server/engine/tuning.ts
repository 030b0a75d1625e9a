// Knobs of the engine that are not part of a request: read from the environment once by the
// caller (server/runs/), passed in, so the engine reads no environment variable itself.

export interface Tuning {
  /** Below this many new blobs, reading them costs less than building a tree for git grep. */
  grepMinBlobs: number;
  /** Let git grep count plain literals and lines itself (off only to compare with reading). */
  gitCounts: boolean;
  /** Phase times for profiling (not for users). */
  trace?: (what: string) => void;
  /** Time budget per blob for patterns that may backtrack without bound (guardedCount.ts). */
  regexBudgetMs?: number;
}

export const DEFAULT_TUNING: Tuning = { grepMinBlobs: 64, gitCounts: true };
