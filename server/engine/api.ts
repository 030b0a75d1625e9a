// The engine's small public API: compute these series over these repositories, with progress
// callbacks and an AbortSignal. The CLI and the insights server are thin adapters over it.
import type { CountMode, LanguagesPoint, Progress, RepoStatus, RunStats, SeriesResult, Step } from '../../protocol/insights';

/** A normalised query, ready to count (what a definition or `-q` becomes). */
export interface SeriesSpec {
  label: string;
  query: string;
  literal: boolean;
  ignoreCase: boolean;
  count: CountMode;
  include: string[];
  exclude: string[];
  /** Bytes; 0 = no limit. */
  maxFileSize: number;
  /** Present for capture-group insights: one series per distinct captured value. */
  capture?: { limit: number };
}

export interface ComputeRequest {
  /** Working trees, bare repositories, or folders searched for repositories. */
  paths: string[];
  series: SeriesSpec[];
  /** Also compute lines per language at every point. */
  languages?: boolean;
  /** Size limit for the languages count (bytes; 0 = none; default 1 MiB). */
  languagesMaxFileSize?: number;
  step: Step;
  points: number;
  /** The last point; default now. */
  end?: Date;
  /** Revision to sample instead of the default branch. */
  rev?: string;
  /** Descend into submodules' working trees when discovering repos. */
  submodules?: boolean;
  /** Keep only repos whose identity or path matches one of these regexes. */
  repoFilters?: string[];
}

export interface ComputeOptions {
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** Called as each repository finishes, with the series summed over the repos finished so far. */
  onPartial?: (partial: ComputeResult) => void;
  /** sql.js cache file; undefined = the default location; null = no cache. */
  cacheFile?: string | null;
  /** Queue bucket-boundary points in the cache's sync outbox (default true when a cache is used). */
  queueForSync?: boolean;
  /** Repositories processed at once (default: number of cores). */
  concurrency?: number;
}

export interface ComputeResult {
  series: SeriesResult[];
  languages?: LanguagesPoint[];
  repos: RepoStatus[];
  stats: RunStats;
}
