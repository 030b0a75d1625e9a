// What every repository of a run shares: the plan, the store, the counters and the knobs.
import type { Progress } from '../../protocol/insights';
import type { ComputeRequest, ComputeResult } from './api';
import type { Bucket } from './buckets';
import type { Slots } from './commandSeries';
import type { BlobMatcher } from './countMatches';
import type { RepoLocation } from './discoverRepos';
import type { GuardedCounter } from './guardedCount';
import type { RepoStart } from './repoStart';
import type { InsightsStore } from './store';
import type { Tuning } from './tuning';
import type { Unit } from './units';

export interface RunContext {
  req: ComputeRequest;
  units: Unit[];
  matchers: BlobMatcher[];
  buckets: Bucket[];
  timesSec: number[];
  /** Undefined: no store, or a repository whose object ids are not its content's (replace refs). */
  store: InsightsStore | undefined;
  /** The largest size limit of any unit: a larger blob is never read. */
  maxLimit: number;
  needLines: boolean;
  /** Languages only: lines are counted by git grep -c '' rather than read into Node. */
  gitLines: boolean;
  stats: ComputeResult['stats'];
  progress: Progress;
  report: () => void;
  signal?: AbortSignal;
  repoFilters: RegExp[];
  readersPerRepo: number;
  /** Per matcher: the budgeted worker for patterns that may backtrack without bound. */
  guards: (GuardedCounter | undefined)[];
  /** Set when every query is literal and no line counts are needed: the git grep prefilter applies. */
  grepNeedles: { needles: string[]; ignoreCase: boolean } | undefined;
  /** Set when every query is one plain ASCII literal and none can overlap another: git grep counts them exactly. */
  exactNeedles: string[] | undefined;
  /** Repositories whose first git calls started before the store was open. */
  starts: ReadonlyMap<RepoLocation, RepoStart>;
  tuning: Tuning;
  /** Command series' runs, shared by every repository (each command may use a core of its own). */
  commandSlots: Slots;
  trace: (what: string) => void;
}
