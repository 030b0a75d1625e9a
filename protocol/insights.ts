// Types every runtime context shares: insight definitions, series results, progress.
// Types only — no logic lives in protocol/.

export type Step = 'day' | 'week' | 'month' | 'quarter' | 'year';
export const STEPS: readonly Step[] = ['day', 'week', 'month', 'quarter', 'year'];

export type CountMode = 'matches' | 'lines' | 'files';
export const COUNT_MODES: readonly CountMode[] = ['matches', 'lines', 'files'];

export type InsightKind = 'series' | 'capture' | 'languages';

/** One query of an insight, as written in `.vscode/insights.json` or given with `-q`. */
export interface QueryDefinition {
  query: string;
  label?: string;
}

/** One insight as written in `.vscode/insights.json` (`{"insights": [...]}`) or user settings. */
export interface InsightDefinition {
  /** Stable key chosen by the user, unique within the file (used to edit, delete, export). */
  id: string;
  title: string;
  kind: InsightKind;
  /** `series` and `capture`: the queries (a capture query needs a capture group). */
  queries?: QueryDefinition[];
  literal?: boolean;
  ignoreCase?: boolean;
  count?: CountMode;
  include?: string[];
  exclude?: string[];
  /** Bytes; files above are skipped. Default 1 MiB; 0 means no limit. */
  maxFileSize?: number;
  step?: Step;
  points?: number;
  /** ISO date; the last point. Default: now. */
  end?: string;
  /** Revision per repo instead of the default branch. */
  rev?: string;
  /** `capture`: how many captured values become series (default 20). */
  limit?: number;
  /** Regular expressions over repo identity or folder path; a repo is in scope if any matches. Empty: all. */
  repos?: string[];
}

export interface InsightsFile {
  $schema?: string;
  insights: InsightDefinition[];
  dashboards?: DashboardDefinition[];
}

export interface DashboardDefinition {
  id: string;
  title: string;
  /** Insight ids, in display order. */
  insights: string[];
}

/** One repository's share of a point. */
export interface RepoPoint {
  /** Repo identity: normalised origin URL (host/owner/name), else `root:<hash of root commit>`. */
  repo: string;
  commit: string;
  /** Committer time of `commit`, ISO. */
  commitTime: string;
  value: number;
}

export interface SeriesPoint {
  /** Bucket boundary (or the `end` point), ISO UTC. */
  time: string;
  value: number;
  repos: RepoPoint[];
}

export interface SeriesResult {
  /** Stable id: hash of the canonical definition (same on every machine). */
  id: string;
  label: string;
  query: string;
  /** For capture series: the captured value this series counts. */
  capture?: string;
  points: SeriesPoint[];
  /** A per-series failure (for example a regex that exceeded its budget); points may be empty. */
  error?: string;
}

export interface RepoStatus {
  repo: string;
  path: string;
  /** Set when the repo could not contribute, or contributed only in part (shallow history). */
  warning?: string;
  error?: string;
}

export interface RunStats {
  repos: number;
  commitsSampled: number;
  blobsRead: number;
  blobsFromCache: number;
  /** Blobs `git grep` showed to hold none of the literal queries: counted zero, never read into Node. */
  blobsRuledOut: number;
  /** Blobs holding a plain literal query that git grep counted exactly, never read into Node. */
  blobsCountedByGit: number;
  bytesRead: number;
  elapsedMs: number;
  /** True when the run memo beside the cache answered: no cache opened, no history walked. */
  fromRunMemo?: boolean;
}

export interface LanguageCount {
  language: string;
  lines: number;
  files: number;
}

export interface LanguagesPoint {
  time: string;
  languages: LanguageCount[];
  repos: { repo: string; commit: string; commitTime: string; languages: LanguageCount[] }[];
}

export interface Progress {
  phase: 'discover' | 'history' | 'blobs' | 'count' | 'done';
  reposDone: number;
  reposTotal: number;
  commitsDone: number;
  commitsTotal: number;
  blobsDone: number;
  blobsTotal: number;
  message?: string;
}
