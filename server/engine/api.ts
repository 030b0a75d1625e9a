// The engine's small public API: compute these series over these repositories, with progress
// callbacks and an AbortSignal, through an optional store. The run layer (server/runs/) adds
// the cache file, the sync queue and the run memo; the CLI and the insights server call that.
import type { CountMode, LanguagesPoint, Progress, RepoStatus, RunStats, SeriesResult, Step, StructuralLanguage } from '../../protocol/insights';
import type { Recall, RepoRecord } from './recall';
import type { OpenedStore } from './store';
import type { Tuning } from './tuning';

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
  /**
   * Present for structural insights: `query` is an ast-grep pattern in this language, or with
   * `rule` the canonical JSON of an ast-grep rule (literal and ignoreCase are false).
   */
  structural?: { language: StructuralLanguage; rule?: boolean };
  /**
   * Present for command insights: `query` is a shell command run at each sampled commit in a
   * temporary copy of its tree (commandSeries.ts); the count fields do not apply.
   */
  command?: CommandSpec;
}

export interface CommandSpec {
  /** Globs of the files the command reads (pathFilter's include globs); empty: the whole tree. */
  inputs: string[];
  /** Copy the whole tree even when `inputs` are given. */
  checkout: boolean;
  /** Milliseconds one run may take before its process group is killed. */
  timeoutMs: number;
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

/** How a computation runs: none of it changes the values computed. */
export interface EngineOptions {
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** Called as each repository finishes, with the series summed over the repos finished so far. */
  onPartial?: (partial: ComputeResult) => void;
  /** Repositories processed at once (default: number of cores). */
  concurrency?: number;
  /**
   * Opens the store of per-blob counts and per-commit values; none = every blob is read.
   * Called while git answers the discovery (or once `recall` has missed).
   */
  openStore?: () => Promise<OpenedStore>;
  /** Earlier runs' results: when it answers every repository, no store is opened. */
  recall?: Recall;
  /** Each repository's record as it finishes (what a later `recall` may answer with). */
  onRepoDone?: (record: RepoRecord) => void;
  tuning?: Partial<Tuning>;
}

export interface ComputeResult {
  series: SeriesResult[];
  languages?: LanguagesPoint[];
  repos: RepoStatus[];
  stats: RunStats;
}
