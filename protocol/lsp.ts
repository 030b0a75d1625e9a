// The insights server's custom requests and notifications, declared once: the extension, the
// server and the tests all import these declarations. As in vscode-languageserver-protocol,
// each is a namespace named for it with its `method`, `messageDirection` and `type`, whose
// params, result and error data are named types declared here.
import {
  MessageDirection,
  ProtocolNotificationType,
  ProtocolRequestType,
  type WorkDoneProgressParams,
} from 'vscode-languageserver-protocol';
import type { InsightDefinition, InsightKind, LanguagesPoint, RepoStatus, RunStats, SeriesResult, Step, TextExportFormat } from './insights';
import { arr, bool, obj, ProtocolError, str, validate } from './validate';
import type { DrillDownQuery, DrillDownResult } from './webview';
import type { GoalCheckResult, SeriesGoalState } from './goals';

// ---------------------------------------------------------------------------------- errors

/**
 * The JSON-RPC error codes of the server's refusals (beside LSP's own, such as
 * RequestCancelled). The ResponseError's `data` says which refusal (InsightsErrorData).
 */
export const InsightsErrorCodes = {
  /** The workspace is not trusted: nothing that runs git is done. */
  untrusted: -32001,
  /** The request cannot succeed as asked (unknown insight, not computed, bad regex…); `message` says what to do. */
  user: -32002,
} as const;

/** The `data` of every ResponseError the insights server answers with. */
export interface InsightsErrorData {
  /**
   * Stable: `UNTRUSTED`, `NOT_COMPUTED`, `UNKNOWN_INSIGHT`, `INTERNAL`, or the code of the
   * engine's InsightsError (`BAD_REGEX`, `BAD_COMMIT`, `UNKNOWN_SERIES`…).
   */
  code: string;
}

const errorData = obj<InsightsErrorData>({ code: str(100) });

/**
 * The typed data of an error a request failed with, when the insights server sent it; else
 * undefined (a cancellation, a dropped connection, an error of the client itself).
 */
export function insightsErrorData(err: unknown): InsightsErrorData | undefined {
  const data = (err as { data?: unknown } | null)?.data;
  if (data === undefined) return undefined;
  try {
    return validate(errorData, data, 'error data');
  } catch (e) {
    if (e instanceof ProtocolError) return undefined;
    throw e;
  }
}

/** A request type of this server: every failure carries InsightsErrorData. */
class InsightsRequestType<P, R> extends ProtocolRequestType<P, R, never, InsightsErrorData, void> {}

/** Where an insight comes from: a workspace folder's definitions file, or user settings. */
export interface InsightSource {
  /** `file:` URI of `.vscode/insights.json`, or `settings` for user-level insights. */
  uri: string;
  /** The insight object's place in the file (absent for settings). */
  offset?: number;
  length?: number;
}

export type InsightState = 'idle' | 'computing' | 'partial' | 'done' | 'failed';

/** One insight as the tree view shows it. */
export interface InsightSummary {
  /** Unique across the workspace: `<folder name>/<id>` for files, `settings/<id>` for settings. */
  key: string;
  id: string;
  title: string;
  kind: InsightKind;
  step: Step;
  source: InsightSource;
  state: InsightState;
  /** The newest point summed over every series of the insight, and the one before it. */
  latest?: { time: string; value: number };
  previous?: { time: string; value: number };
  error?: string;
}

export interface InsightResult {
  key: string;
  id: string;
  title: string;
  kind: InsightKind;
  series: SeriesResult[];
  languages?: LanguagesPoint[];
  repos: RepoStatus[];
  stats?: RunStats;
  /** Set while repositories are still being computed (a partial result). */
  partial?: boolean;
  error?: { code: string; message: string };
  /** The goals of its series (those that have one), judged at the latest point. */
  goals?: SeriesGoalState[];
  /** Kind `external`: the unit and fractional digits of the recorded values. */
  unit?: string;
  decimals?: number;
}

// ---------------------------------------------------------------- requests (client → server)

/** A request that takes no parameters. */
export type NoParams = Record<string, never>;

export interface ListInsightsResult {
  insights: InsightSummary[];
}
export namespace ListInsightsRequest {
  export const method = 'insights/list' as const;
  export const messageDirection = MessageDirection.clientToServer;
  export const type = new InsightsRequestType<NoParams, ListInsightsResult>(method);
}

export interface ComputeParams extends WorkDoneProgressParams {
  /** Insight keys; absent means every insight. */
  keys?: string[];
}
export interface ComputeInsightsResult {
  results: InsightResult[];
}
export namespace ComputeInsightsRequest {
  export const method = 'insights/compute' as const;
  export const messageDirection = MessageDirection.clientToServer;
  export const type = new InsightsRequestType<ComputeParams, ComputeInsightsResult>(method);
}

/** Names one insight of the workspace by its key. */
export interface InsightKeyParams {
  key: string;
}
export namespace GetSeriesRequest {
  export const method = 'insights/series' as const;
  export const messageDirection = MessageDirection.clientToServer;
  /** The last computed result of an insight (null when it was never computed). */
  export const type = new InsightsRequestType<InsightKeyParams, InsightResult | null>(method);
}

export interface CancelComputeResult {
  /** How many computations were running and are now cancelled. */
  cancelled: number;
}
export namespace CancelComputeRequest {
  export const method = 'insights/cancel' as const;
  export const messageDirection = MessageDirection.clientToServer;
  /** Cancels every running computation; answers how many were cancelled. */
  export const type = new InsightsRequestType<NoParams, CancelComputeResult>(method);
}

export type ExportFormat = TextExportFormat;
export interface ExportInsightParams extends InsightKeyParams {
  format: ExportFormat;
}
export interface ExportInsightResult {
  text: string;
}
export namespace ExportInsightRequest {
  export const method = 'insights/export' as const;
  export const messageDirection = MessageDirection.clientToServer;
  /** The last computed result as text, formatted exactly as the command line prints it. */
  export const type = new InsightsRequestType<ExportInsightParams, ExportInsightResult>(method);
}

export namespace DrillDownRequest {
  export const method = 'insights/drillDown' as const;
  export const messageDirection = MessageDirection.clientToServer;
  /** Files, changes and commits behind one point of one series in one repository (the dashboard's drill-down). */
  export const type = new InsightsRequestType<DrillDownQuery, DrillDownResult>(method);
}

/** How a series counts, to highlight its matches in a file. */
export interface SeriesQuery {
  query: string;
  literal: boolean;
  ignoreCase: boolean;
}
export interface SeriesQueryParams extends InsightKeyParams {
  seriesId: string;
}
export namespace SeriesQueryRequest {
  export const method = 'insights/seriesQuery' as const;
  export const messageDirection = MessageDirection.clientToServer;
  /** The query behind a series of an insight's last result (null when the series is unknown). */
  export const type = new InsightsRequestType<SeriesQueryParams, SeriesQuery | null>(method);
}

/** A text change to a definitions file, as offsets in its current text. */
export interface TextChange {
  offset: number;
  length: number;
  content: string;
}
export interface EditDefinitionsParams {
  /** `file:` URI of the workspace folder whose `.vscode/insights.json` changes. */
  folderUri: string;
  add?: InsightDefinition;
  /** The id of an insight to remove. */
  remove?: string;
  /**
   * The file's text as the client holds it (its editor's text, or what it read from disk), so
   * the changes apply to exactly that text; absent: the server's own view of the file.
   */
  text?: string;
}
export interface EditDefinitionsResult {
  /** `file:` URI of the definitions file. */
  uri: string;
  /** The file does not exist yet: create it with `content` of the single change. */
  create: boolean;
  changes: TextChange[];
}
export namespace EditDefinitionsRequest {
  export const method = 'insights/editDefinitions' as const;
  export const messageDirection = MessageDirection.clientToServer;
  /** Computes the edit (keeping comments and formatting); the client applies it so that undo works. */
  export const type = new InsightsRequestType<EditDefinitionsParams, EditDefinitionsResult>(method);
}

// ------------------------------------------------------------ notifications (server → client)

export interface InsightsChangedParams {
  insights: InsightSummary[];
}
export namespace InsightsChangedNotification {
  export const method = 'insights/didChange' as const;
  export const messageDirection = MessageDirection.serverToClient;
  /** The list of insights or their states changed (definitions edited, a computation finished). */
  export const type = new ProtocolNotificationType<InsightsChangedParams, void>(method);
}

export interface PartialResultParams {
  result: InsightResult;
  reposDone: number;
  reposTotal: number;
}
export namespace PartialResultNotification {
  export const method = 'insights/partial' as const;
  export const messageDirection = MessageDirection.serverToClient;
  /** A repository finished: the insight's series summed over the repositories done so far. */
  export const type = new ProtocolNotificationType<PartialResultParams, void>(method);
}

/** Settings the client sends at start (initializationOptions) and on change. */
export interface ServerSettings {
  /** User-level insights from the `codeInsights.insights` setting. */
  insights: unknown[];
  /** Compute on start and whenever the definitions change. */
  autoCompute: boolean;
  /** sql.js cache file; empty = the default location. */
  cacheFile?: string;
  /** False in a restricted (untrusted) workspace: definitions are read, nothing is computed. */
  trusted: boolean;
}
const settingsShape = obj<Partial<ServerSettings>>(
  {
    // Each insight is checked where definitions are read (server/engine/definitions.ts), which
    // names every problem; here only that they come as a list.
    insights: arr((v: unknown) => v, 10_000),
    autoCompute: bool,
    cacheFile: str(),
    trusted: bool,
  },
  { insights: true, autoCompute: true, cacheFile: true, trusted: true },
);
/** Settings as the server receives them (initializationOptions or the notification); throws ProtocolError. */
export function validateServerSettings(v: unknown): Partial<ServerSettings> {
  return validate(settingsShape, v, 'settings');
}

export namespace SettingsNotification {
  export const method = 'insights/settings' as const;
  export const messageDirection = MessageDirection.clientToServer;
  export const type = new ProtocolNotificationType<ServerSettings, void>(method);
}

// ------------------------------------------------------------------ org sync (client → server)
// The extension keeps the org token in SecretStorage and hands it to the server only inside
// these requests, over the IPC channel; the server never stores or logs it. Everything that
// leaves the machine is what server/sync/ sends: definitions, repo identity, commits, times, numbers.

/** Why a sync or a check did not succeed; `code` is stable, `message` says what to do. */
export type OrgSyncErrorCode = 'BAD_URL' | 'UNREACHABLE' | 'UNAUTHORIZED' | 'FORBIDDEN' | 'NOT_ORG_SERVICE' | 'REJECTED' | 'SERVER_ERROR';
export interface OrgSyncError {
  code: OrgSyncErrorCode;
  message: string;
}

export interface OrgConnection {
  /** Base URL of the org service, e.g. https://insights.example.com */
  serverUrl: string;
  token: string;
}

export interface VerifyOrgResult {
  ok: boolean;
  error?: OrgSyncError;
}
export namespace VerifyOrgRequest {
  export const method = 'insights/verifyOrg' as const;
  export const messageDirection = MessageDirection.clientToServer;
  /**
   * Proves the URL is a Code Insights org service and the token is known and write-scoped, with
   * an empty batch (`POST /api/v1/points` `{"definitions":[],"points":[]}`), which stores nothing.
   */
  export const type = new InsightsRequestType<OrgConnection, VerifyOrgResult>(method);
}

export interface SyncParams extends OrgConnection, WorkDoneProgressParams {}
export interface SyncResult {
  /** Points the service acknowledged during this sync. */
  sent: number;
  /** Points the service rejected for good (a 4xx other than 401/403/429), kept and marked failed. */
  failed: number;
  /** Points still waiting in the outbox afterwards. */
  pending: number;
  /** ISO time the sync finished (set when it succeeded). */
  syncedAt?: string;
  error?: OrgSyncError;
}
export namespace SyncRequest {
  export const method = 'insights/sync' as const;
  export const messageDirection = MessageDirection.clientToServer;
  /** Sends the outbox of the local cache; cancellable; reports work-done progress. Answers RequestCancelled when cancelled. */
  export const type = new InsightsRequestType<SyncParams, SyncResult>(method);
}

export interface SyncStatus {
  pending: number;
  failed: number;
  /** Why points were rejected, most common first. */
  failures: { error: string; points: number }[];
}
export namespace SyncStatusRequest {
  export const method = 'insights/syncStatus' as const;
  export const messageDirection = MessageDirection.clientToServer;
  /** The outbox's counts, without sending anything. */
  export const type = new InsightsRequestType<NoParams, SyncStatus>(method);
}

/** Runs `code-insights check` in a workspace folder's repository (command "Check Goals"). */
export interface CheckGoalsParams {
  /** `file:` URI of the workspace folder; default: the first folder whose definitions set a goal. */
  folderUri?: string;
  /** Base revision; default: the merge-base with the default branch. */
  base?: string;
}
export interface CheckGoalsResult {
  /** One check per repository of the folder (the folder's own, or each one found in it). */
  results: GoalCheckResult[];
  /** True when a goal is broken in any of them. */
  failed: boolean;
  /** The checks as `code-insights check` prints them (the table and the lines to change). */
  text: string;
}
export namespace CheckGoalsRequest {
  export const method = 'insights/checkGoals' as const;
  export const messageDirection = MessageDirection.clientToServer;
  export const type = new InsightsRequestType<CheckGoalsParams, CheckGoalsResult>(method);
}

/** The text of a file in the editor (saved or not), to mark the lines that break a ratchet as they are typed. */
export interface WorkingTreeGoalsParams {
  /** `file:` URI of the document. */
  uri: string;
  text: string;
}
export interface WorkingTreeGoalsResult {
  /** 0-based lines and why each breaks a ratchet. */
  marks: { line: number; message: string }[];
  /** False when the document's folder has no ratchet goal: the client may stop asking until the definitions change. */
  active: boolean;
}
export namespace WorkingTreeGoalsRequest {
  export const method = 'insights/workingTreeGoals' as const;
  export const messageDirection = MessageDirection.clientToServer;
  export const type = new InsightsRequestType<WorkingTreeGoalsParams, WorkingTreeGoalsResult>(method);
}

