// Goals as they cross process boundaries: the result of checking them (`code-insights check`,
// the command "Code Insights: Check Goals", the request declared in lsp.ts) and the goal of each
// series on a dashboard card. Types and validators only (the webview bundle imports this).
import { GOAL_VERDICTS, type GoalDefinition, type GoalVerdict } from './insights';
import { arr, bool, num, obj, oneOf, str, type Validator } from './validate';

/** Where a broken goal gained (or lost) matches between base and head. */
export interface GoalCulprit {
  /** Path in the repository, `/`-separated. */
  path: string;
  /** 1-based line in head's file that added matches; absent for a file-level entry (a file that lost matches). */
  line?: number;
  /** Matches the line added (or the file's change: after minus before). */
  delta: number;
  /** The added line, trimmed to LIMITS.lineText characters (shown locally only; never synced). */
  text?: string;
}

export interface GoalSeriesCheck {
  insightId: string;
  insightTitle: string;
  seriesId: string;
  label: string;
  capture?: string;
  goal: GoalDefinition;
  /** Value at the base commit (absent when the base is the head). */
  base?: number;
  head: number;
  verdict: GoalVerdict;
  /** Why the verdict is not `ok`, one sentence each. */
  reasons: string[];
  /** For a broken series: the added lines (or changed files) between base and head, biggest first. */
  culprits?: GoalCulprit[];
  /** More culprits than listed. */
  truncated?: boolean;
}

export interface GoalCheckResult {
  repo: string;
  /** The working tree's folder. */
  path: string;
  base: { rev: string; commit: string };
  head: { commit: string };
  series: GoalSeriesCheck[];
  /** Insights with goals that could not be checked (a repository filter leaves this repo out…). */
  skipped: { insightId: string; reason: string }[];
  /** True when a goal is broken: the check fails (exit 1). */
  failed: boolean;
  elapsedMs: number;
}

export const GOAL_CHECK_LIMITS = { culprits: 50, lineText: 200 } as const;

/** The goal of one series of a computed insight, judged at its latest point (no base there: ratchets are judged by a check). */
export interface SeriesGoalState {
  seriesId: string;
  goal: GoalDefinition;
  verdict: GoalVerdict;
  reasons: string[];
}

const goalDefinition: Validator<GoalDefinition> = obj<GoalDefinition>(
  {
    max: num,
    min: num,
    ratchet: bool,
    target: obj<NonNullable<GoalDefinition['target']>>({ value: num, date: str(40), start: str(40) }, { start: true }),
  },
  { max: true, min: true, ratchet: true, target: true },
);
export const validateSeriesGoal: Validator<SeriesGoalState> = obj<SeriesGoalState>({
  seriesId: str(128),
  goal: goalDefinition,
  verdict: oneOf(GOAL_VERDICTS),
  reasons: arr(str(1000), 10),
});
