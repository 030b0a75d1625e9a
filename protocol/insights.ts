// Types every runtime context shares: insight definitions, series results, progress, and the
// constants of their semantics (kinds, steps, defaults), each declared once here and imported
// by the engine, the CLI, the extension, the webview and the org service. Types, constants and
// validators only; the one other function, escapeRegExp, is part of what a literal query means.
// protocol/insights.schema.json repeats the lists and defaults for editors; a test holds it equal.

import { arr, count, isoTime, num, obj, sha, str, type Validator } from './validate';

export const STEPS = ['day', 'week', 'month', 'quarter', 'year'] as const;
export type Step = (typeof STEPS)[number];

export const COUNT_MODES = ['matches', 'lines', 'files'] as const;
export type CountMode = (typeof COUNT_MODES)[number];

export const INSIGHT_KINDS = ['series', 'capture', 'languages', 'structural', 'external', 'command'] as const;
export type InsightKind = (typeof INSIGHT_KINDS)[number];

/** Languages of `structural` insights (ast-grep patterns); ast-grep's aliases (ts, js, py, rs, golang) are accepted too. */
export const STRUCTURAL_LANGUAGES = ['typescript', 'tsx', 'javascript', 'css', 'html', 'python', 'go', 'java', 'rust'] as const;
export type StructuralLanguage = (typeof STRUCTURAL_LANGUAGES)[number];

/** `command` insights: seconds a run may take unless told otherwise, and the most it may be given. */
export const DEFAULT_COMMAND_TIMEOUT = 60;
export const MAX_COMMAND_TIMEOUT = 3600;

/** Files above this many bytes are skipped unless told otherwise (1 MiB); 0 means no limit. */
export const DEFAULT_MAX_FILE_SIZE = 1 << 20;
/** A capture query yields series for this many captured values unless told otherwise. */
export const DEFAULT_CAPTURE_LIMIT = 20;
/** Bucket size and number of points of a series insight unless told otherwise. */
export const DEFAULT_STEP: Step = 'week';
export const DEFAULT_POINTS = 52;

/**
 * `external` insights: one series of values that CI records (`code-insights record`), such as
 * coverage or build time, rather than counts the engine computes from the history. Values are
 * non-negative decimal numbers with at most `decimals` fractional digits and an optional unit.
 */
export const EXTERNAL_LIMITS = {
  /** Fractional digits a value may have (the org service stores value × 10^decimals as an integer). */
  maxDecimals: 6,
  /** Largest value: also value × 10^decimals must stay a safe integer (below 2^53). */
  maxValue: 1e12,
  /** A unit is short text shown beside the numbers: `%`, `s`, `ms`, `tests`. */
  maxUnitLength: 16,
} as const;
/** A unit: letters (any script), digits, `%`, `/`, `°`, `µ`, `.`, `_`, `-`, inner spaces; 1–16 characters. */
export const UNIT_PATTERN = /^[\p{L}\p{N}%/°µ._-](?:[\p{L}\p{N}%/°µ._ -]{0,14}[\p{L}\p{N}%/°µ._-])?$/u;

/**
 * Why `value` cannot be a value of an external series with `decimals` fractional digits, or
 * undefined when it can. Shared by the CLI (`record --value`), the outbox and the org service.
 */
export function externalValueProblem(value: unknown, decimals: number): string | undefined {
  if (typeof value !== 'number') return `must be a number, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`}`;
  if (!Number.isFinite(value)) return `must be a finite number, got ${String(value)}`;
  if (value < 0) return `must not be negative, got ${value}`;
  if (value > EXTERNAL_LIMITS.maxValue) return `must be at most ${EXTERNAL_LIMITS.maxValue}, got ${value}`;
  const scaled = value * 10 ** decimals;
  if (!Number.isSafeInteger(Math.round(scaled))) return `× 10^${decimals} must stay below 2^53 (${value} has too many digits for ${decimals} decimals)`;
  if (Number(value.toFixed(decimals)) !== value) return `has more than ${decimals} decimal${decimals === 1 ? '' : 's'} (${value}); round it, or declare more "decimals" (up to ${EXTERNAL_LIMITS.maxDecimals})`;
  return undefined;
}

/** A result written as text: the extension's Export CSV/JSON and the CLI's `--format csv|json`. */
export const TEXT_EXPORT_FORMATS = ['csv', 'json'] as const;
export type TextExportFormat = (typeof TEXT_EXPORT_FORMATS)[number];
/** The CLI's `--format`: the text exports, or a table for a terminal. */
export const OUTPUT_FORMATS = ['table', ...TEXT_EXPORT_FORMATS] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Bounds of a result as it crosses a process boundary (to a webview, the org page). */
export const RESULT_LIMITS = {
  series: 1000,
  points: 5000,
  repos: 100_000,
  languages: 1000,
} as const;

/**
 * The pattern of a literal query: `text` with every character that means something in a
 * regular expression escaped. The engine counts with it and the extension highlights with it,
 * so both must agree; `-` and `/` need no escape outside a class and a literal.
 */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** One query of an insight, as written in `.vscode/insights.json` or given with `-q`. */
export interface QueryDefinition {
  /** A regular expression or literal; in a `structural` insight, the ast-grep pattern (also accepted as `pattern`). */
  query: string;
  label?: string;
  /** A goal for this query's series (overrides the insight's `goal` field by field). */
  goal?: GoalDefinition;
  /** `structural`: `query` is the canonical JSON of an ast-grep rule (written as `"rule"`: YAML text or an object). */
  rule?: boolean;
}

/**
 * A goal on a series (`code-insights check`, the charts): a threshold, a burn-down target, or a
 * ratchet against the base revision. Not part of a series' identity (its id): nothing computed
 * depends on it.
 */
export interface GoalDefinition {
  /** The value must stay at or below this. */
  max?: number;
  /** The value must stay at or above this. */
  min?: number;
  /** Reach `value` by `date` (ISO); on the chart, a line from `start` (default: the first point) to it. */
  target?: { value: number; date: string; start?: string };
  /** The value may never rise above the base revision's value. */
  ratchet?: boolean;
}
export const GOAL_KEYS = ['max', 'min', 'target', 'ratchet'] as const;
/** How a series stands against its goal: `warn` (a target off track before its date) never fails a check. */
export const GOAL_VERDICTS = ['ok', 'warn', 'broken'] as const;
export type GoalVerdict = (typeof GOAL_VERDICTS)[number];

/** One insight as written in `.vscode/insights.json` (`{"insights": [...]}`) or user settings. */
export interface InsightDefinition {
  /** Stable key chosen by the user, unique within the file (used to edit, delete, export). */
  id: string;
  title: string;
  kind: InsightKind;
  /** `series`, `capture` and `structural`: the queries (a capture query needs a capture group; a structural query is an ast-grep pattern). */
  queries?: QueryDefinition[];
  /** `structural`: the language of the patterns; files are chosen by its extensions. */
  language?: StructuralLanguage;
  literal?: boolean;
  ignoreCase?: boolean;
  count?: CountMode;
  include?: string[];
  exclude?: string[];
  /** Bytes; files above are skipped. Default DEFAULT_MAX_FILE_SIZE (1 MiB); 0 means no limit. */
  maxFileSize?: number;
  step?: Step;
  points?: number;
  /** ISO date; the last point. Default: now. */
  end?: string;
  /** Revision per repo instead of the default branch. */
  rev?: string;
  /** `capture`: how many captured values become series (default DEFAULT_CAPTURE_LIMIT, 20). */
  limit?: number;
  /** Regular expressions over repo identity or folder path; a repo is in scope if any matches. Empty: all. */
  repos?: string[];
  /** A goal for every series of the insight (a query's own `goal` overrides it field by field). */
  goal?: GoalDefinition;
  /** `external`: the unit of the values, shown beside them (`%`, `s`, `ms`, `tests`). */
  unit?: string;
  /** `external`: fractional digits a value may have, 0–6 (default 0). */
  decimals?: number;
  /** `capture`: a goal per captured value, e.g. {"17": {"max": 0}} (overrides the other goals). */
  captureGoals?: Record<string, GoalDefinition>;
  /**
   * `command`: run by `/bin/sh -c` at each sampled commit, in a temporary copy of its tree; it
   * prints a number (one series) or a JSON object of named numbers (one series per name).
   */
  command?: string;
  /** `command`: globs of the files the command reads; only they are copied unless `checkout`, and they key the cache. */
  inputs?: string[];
  /** `command`: seconds one run may take (default DEFAULT_COMMAND_TIMEOUT, at most MAX_COMMAND_TIMEOUT). */
  timeout?: number;
  /** `command` with `inputs`: copy the whole tree anyway (the command reads more than it is keyed by). Default false. */
  checkout?: boolean;
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
  /** For capture series: the captured value this series counts; for command series, the name in the command's JSON output. */
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
  /** Commands of command series run (the others were answered by the cache). */
  commandsRun?: number;
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

// -------------------------------------------------------------------------------- validators
// Results that cross a boundary (to a webview, the org page) are checked with these; see
// protocol/validate.ts for the kit.

// A point's value is any finite number: a count, a decimal value an external series recorded
// (never negative: `record` and the org service refuse that), or what a command printed (a
// size in KiB, a ratio, a difference).
const repoPoint: Validator<RepoPoint> = obj<RepoPoint>({ repo: str(), commit: sha, commitTime: isoTime, value: num });
const seriesPoint: Validator<SeriesPoint> = obj<SeriesPoint>({ time: isoTime, value: num, repos: arr(repoPoint, RESULT_LIMITS.repos) });
export const validateSeriesResult: Validator<SeriesResult> = obj<SeriesResult>(
  { id: str(128), label: str(), query: str(), capture: str(), points: arr(seriesPoint, RESULT_LIMITS.points), error: str() },
  { capture: true, error: true },
);
const languageCount: Validator<LanguageCount> = obj<LanguageCount>({ language: str(200), lines: count, files: count });
export const validateLanguagesPoint: Validator<LanguagesPoint> = obj<LanguagesPoint>({
  time: isoTime,
  languages: arr(languageCount, RESULT_LIMITS.languages),
  repos: arr(
    obj<LanguagesPoint['repos'][number]>({ repo: str(), commit: sha, commitTime: isoTime, languages: arr(languageCount, RESULT_LIMITS.languages) }),
    RESULT_LIMITS.repos,
  ),
});
