// The insights server's custom requests and notifications, declared once: the extension, the
// server and the tests all import these declarations (method name + parameter and result types).
import {
  ProtocolNotificationType,
  ProtocolRequestType,
  type WorkDoneProgressParams,
} from 'vscode-languageserver-protocol';
import type { InsightDefinition, InsightKind, LanguagesPoint, RepoStatus, RunStats, SeriesResult, Step, TextExportFormat } from './insights';
import type { DrillDownQuery, DrillDownResult } from './webview';

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
}

// ---------------------------------------------------------------- requests (client → server)

export namespace ListInsightsRequest {
  export const method = 'insights/list' as const;
  export const type = new ProtocolRequestType<Record<string, never>, { insights: InsightSummary[] }, never, void, void>(method);
}

export interface ComputeParams extends WorkDoneProgressParams {
  /** Insight keys; absent means every insight. */
  keys?: string[];
}
export namespace ComputeInsightsRequest {
  export const method = 'insights/compute' as const;
  export const type = new ProtocolRequestType<ComputeParams, { results: InsightResult[] }, never, void, void>(method);
}

export namespace GetSeriesRequest {
  export const method = 'insights/series' as const;
  /** The last computed result of an insight (null when it was never computed). */
  export const type = new ProtocolRequestType<{ key: string }, InsightResult | null, never, void, void>(method);
}

export namespace CancelComputeRequest {
  export const method = 'insights/cancel' as const;
  /** Cancels every running computation; answers how many were cancelled. */
  export const type = new ProtocolRequestType<Record<string, never>, { cancelled: number }, never, void, void>(method);
}

export type ExportFormat = TextExportFormat;
export namespace ExportInsightRequest {
  export const method = 'insights/export' as const;
  /** The last computed result as text, formatted exactly as the command line prints it. */
  export const type = new ProtocolRequestType<{ key: string; format: ExportFormat }, { text: string }, never, void, void>(method);
}

export namespace DrillDownRequest {
  export const method = 'insights/drillDown' as const;
  /** Files, changes and commits behind one point of one series in one repository (the dashboard's drill-down). */
  export const type = new ProtocolRequestType<DrillDownQuery, DrillDownResult, never, void, void>(method);
}

/** How a series counts, to highlight its matches in a file. */
export interface SeriesQuery {
  query: string;
  literal: boolean;
  ignoreCase: boolean;
}
export namespace SeriesQueryRequest {
  export const method = 'insights/seriesQuery' as const;
  /** The query behind a series of an insight's last result (null when the series is unknown). */
  export const type = new ProtocolRequestType<{ key: string; seriesId: string }, SeriesQuery | null, never, void, void>(method);
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
  /** Computes the edit (keeping comments and formatting); the client applies it so that undo works. */
  export const type = new ProtocolRequestType<EditDefinitionsParams, EditDefinitionsResult, never, void, void>(method);
}

// ------------------------------------------------------------ notifications (server → client)

export namespace InsightsChangedNotification {
  export const method = 'insights/didChange' as const;
  /** The list of insights or their states changed (definitions edited, a computation finished). */
  export const type = new ProtocolNotificationType<{ insights: InsightSummary[] }, void>(method);
}

export namespace PartialResultNotification {
  export const method = 'insights/partial' as const;
  /** A repository finished: the insight's series summed over the repositories done so far. */
  export const type = new ProtocolNotificationType<{ result: InsightResult; reposDone: number; reposTotal: number }, void>(method);
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
export namespace SettingsNotification {
  export const method = 'insights/settings' as const;
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

export namespace VerifyOrgRequest {
  export const method = 'insights/verifyOrg' as const;
  /**
   * Proves the URL is a Code Insights org service and the token is known and write-scoped, with
   * an empty batch (`POST /api/v1/points` `{"definitions":[],"points":[]}`), which stores nothing.
   */
  export const type = new ProtocolRequestType<OrgConnection, { ok: boolean; error?: OrgSyncError }, never, void, void>(method);
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
  /** Sends the outbox of the local cache; cancellable; reports work-done progress. Answers RequestCancelled when cancelled. */
  export const type = new ProtocolRequestType<SyncParams, SyncResult, never, void, void>(method);
}

export interface SyncStatus {
  pending: number;
  failed: number;
  /** Why points were rejected, most common first. */
  failures: { error: string; points: number }[];
}
export namespace SyncStatusRequest {
  export const method = 'insights/syncStatus' as const;
  /** The outbox's counts, without sending anything. */
  export const type = new ProtocolRequestType<Record<string, never>, SyncStatus, never, void, void>(method);
}
