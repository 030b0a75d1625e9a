// The result of checking goals (`code-insights check`, the command "Code Insights: Check Goals"),
// declared once for the CLI's JSON output, the insights server's request and the extension.
import { MessageDirection, ProtocolRequestType } from 'vscode-languageserver-protocol';
import type { GoalDefinition, GoalVerdict } from './insights';
import type { InsightsErrorData } from './lsp';

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

/** Runs the check in a workspace folder's repository (the insights server's request). */
export interface CheckGoalsParams {
  /** `file:` URI of the workspace folder; default: the first folder with a definitions file. */
  folder?: string;
  /** Base revision; default: the merge-base with the default branch. */
  base?: string;
}

export namespace CheckGoalsRequest {
  export const method = 'insights/checkGoals' as const;
  export const messageDirection = MessageDirection.clientToServer;
  export const type = new ProtocolRequestType<CheckGoalsParams, GoalCheckResult, never, InsightsErrorData, void>(method);
}
