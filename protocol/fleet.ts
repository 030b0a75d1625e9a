// Org-defined insights computed by the worker fleet (issue 13): the payloads of the fleet's API
// under /api/v1 and of `code-insights org status --format json`, declared once for the service,
// the CLI and the dashboard page, with the validators the service applies at its boundary.
import type { InsightDefinition } from './insights';

/** A repository the org computes. */
export interface FleetRepo {
  id: string;
  /** The clone URL (any git transport) or local path, as added. */
  url: string;
  /** Normalised identity: host/owner/name, or `path:` + the absolute path of a local repository. */
  identity: string;
  addedAt: string;
  /** Head last seen by the scheduled refresh or computed by a worker (null: not yet). */
  headSeen: string | null;
  status: 'ok' | 'unreachable';
  lastError: string | null;
}

/** Which repositories of the org an insight covers. */
export type FleetScope = { kind: 'all' } | { kind: 'regex'; regex: string } | { kind: 'list'; repos: string[] };

/** `POST /api/v1/fleet/repos` */
export interface AddReposRequest {
  urls: string[];
}
export interface AddReposResponse {
  added: FleetRepo[];
  /** Already in the org (same identity): left as they were. */
  existing: FleetRepo[];
  /** (insight, repository) computations queued for the added repositories. */
  queued: number;
}

/** `DELETE /api/v1/fleet/repos` (body: URLs or identities). */
export interface RemoveReposRequest {
  urls: string[];
}
export interface RemoveReposResponse {
  removed: number;
  /** Given URLs that named no repository of the org. */
  unknown: string[];
}

/** `POST /api/v1/fleet/insights`: `config` is the text of an insights.json file. */
export interface CreateInsightRequest {
  config: string;
  scope: FleetScope;
}
export interface CreateInsightResponse {
  insights: { id: string; name: string; title: string }[];
  queued: number;
}

/** `PUT /api/v1/fleet/insights`: the file's ids name the insights replaced; without `scope`, each
 *  keeps its own. */
export interface UpdateInsightRequest {
  config: string;
  scope?: FleetScope;
}
export interface UpdateInsightResponse {
  /** `recomputed`: the definition changed, so every repository in scope was queued again. */
  insights: { id: string; name: string; title: string; recomputed: boolean }[];
  queued: number;
}

/** `DELETE /api/v1/fleet/insights/:name` */
export interface DeleteInsightResponse {
  deleted: string;
}

/** A problem of a definitions file, as `.vscode/insights.json` reports it. */
export interface FleetDefinitionProblem {
  line: number;
  column: number;
  code: string;
  message: string;
  severity: 'error' | 'warning';
}

/** Progress of one org-defined insight over its repositories. */
export interface FleetInsightStatus {
  id: string;
  name: string;
  title: string;
  scope: FleetScope;
  /** Ids of the org series this insight's points go to (one per query): the org page marks their
   *  charts incomplete while the backfill runs. */
  series: string[];
  /** The definition as stored (the page's form edits it). */
  definition: InsightDefinition;
  /** Repositories in scope. */
  total: number;
  done: number;
  /** Waiting for a worker (including those waiting for a retry after an error). */
  queued: number;
  running: number;
  /** Out of attempts; retried only by `org retry-failed`. */
  failed: number;
  /** In scope but never queued (added while no queue was reachable). */
  pending: number;
  failures: { repo: string; error: string }[];
  backfillStartedAt: string;
  /** Seconds until every repository is computed, from the rate so far; null when unknown or done. */
  etaSeconds: number | null;
}

export interface FleetStatusResponse {
  org: string;
  repos: number;
  insights: FleetInsightStatus[];
}

export interface RetryFailedResponse {
  requeued: number;
}

export const FLEET_LIMITS = {
  maxUrlLength: 2048,
  maxUrlsPerRequest: 10_000,
  maxConfigBytes: 1 << 20,
  maxScopeRepos: 10_000,
  maxRegexLength: 512,
} as const;

// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** A clone URL or path a person typed: refused with a reason, or null when acceptable. A leading
 *  "-" would be read by git as an option (`--upload-pack=…`), so it is never accepted. */
export function repoUrlProblem(url: unknown): string | null {
  if (typeof url !== 'string' || url.trim() === '') return 'must be a non-empty string (a clone URL or a path)';
  if (url.length > FLEET_LIMITS.maxUrlLength) return `is ${url.length} characters; the limit is ${FLEET_LIMITS.maxUrlLength}`;
  if (CONTROL_CHARS.test(url)) return 'must not contain control characters';
  if (url.trim().startsWith('-')) return `"${url.slice(0, 80)}" starts with "-", which git would read as an option`;
  if (/^ext::/i.test(url.trim())) return 'the ext:: transport runs commands and is not accepted';
  return null;
}

/** A scope regex: a JavaScript regular expression over repository identities. */
export function scopeRegexProblem(re: unknown): string | null {
  if (typeof re !== 'string' || re === '') return 'must be a non-empty regular expression';
  if (re.length > FLEET_LIMITS.maxRegexLength) return `is ${re.length} characters; the limit is ${FLEET_LIMITS.maxRegexLength}`;
  try {
    new RegExp(re);
  } catch (e) {
    return `is not a valid regular expression: ${(e as Error).message}`;
  }
  return null;
}

export type FleetValidation<T> = { ok: true; value: T } | { ok: false; message: string };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(o: Record<string, unknown>, keys: string[], where: string): string | null {
  for (const k of Object.keys(o)) if (!keys.includes(k)) return `${where}: unknown field "${k.slice(0, 60)}" (allowed: ${keys.join(', ')})`;
  return null;
}

export function validateUrlList(body: unknown): FleetValidation<string[]> {
  if (!isObject(body)) return { ok: false, message: 'body must be a JSON object {"urls": [...]}' };
  const extra = onlyKeys(body, ['urls'], 'body');
  if (extra) return { ok: false, message: extra };
  const urls = body.urls;
  if (!Array.isArray(urls) || urls.length === 0) return { ok: false, message: 'body.urls must be a non-empty array of clone URLs' };
  if (urls.length > FLEET_LIMITS.maxUrlsPerRequest) return { ok: false, message: `body.urls has ${urls.length} entries; the limit is ${FLEET_LIMITS.maxUrlsPerRequest} per request` };
  for (let i = 0; i < urls.length; i++) {
    const p = repoUrlProblem(urls[i]);
    if (p) return { ok: false, message: `body.urls[${i}] ${p}` };
  }
  return { ok: true, value: (urls as string[]).map((u) => u.trim()) };
}

export function validateScope(v: unknown, where = 'scope'): FleetValidation<FleetScope> {
  if (!isObject(v)) return { ok: false, message: `${where} must be {"kind": "all"}, {"kind": "regex", "regex": "…"} or {"kind": "list", "repos": [...]}` };
  if (v.kind === 'all') {
    const e = onlyKeys(v, ['kind'], where);
    return e ? { ok: false, message: e } : { ok: true, value: { kind: 'all' } };
  }
  if (v.kind === 'regex') {
    const e = onlyKeys(v, ['kind', 'regex'], where) ?? (scopeRegexProblem(v.regex) ? `${where}.regex ${scopeRegexProblem(v.regex)}` : null);
    return e ? { ok: false, message: e } : { ok: true, value: { kind: 'regex', regex: v.regex as string } };
  }
  if (v.kind === 'list') {
    const e = onlyKeys(v, ['kind', 'repos'], where);
    if (e) return { ok: false, message: e };
    const repos = v.repos;
    if (!Array.isArray(repos) || repos.length === 0) return { ok: false, message: `${where}.repos must be a non-empty array of repository URLs or identities` };
    if (repos.length > FLEET_LIMITS.maxScopeRepos) return { ok: false, message: `${where}.repos has ${repos.length} entries; the limit is ${FLEET_LIMITS.maxScopeRepos}` };
    for (let i = 0; i < repos.length; i++) {
      const p = repoUrlProblem(repos[i]);
      if (p) return { ok: false, message: `${where}.repos[${i}] ${p}` };
    }
    return { ok: true, value: { kind: 'list', repos: (repos as string[]).map((r) => r.trim()) } };
  }
  return { ok: false, message: `${where}.kind must be "all", "regex" or "list"` };
}

export function validateUpdateInsightRequest(body: unknown): FleetValidation<UpdateInsightRequest> {
  if (isObject(body) && body.scope === undefined) {
    const v = validateCreateInsightRequest(body);
    return v.ok ? { ok: true, value: { config: v.value.config } } : v;
  }
  return validateCreateInsightRequest(body);
}

export function validateCreateInsightRequest(body: unknown): FleetValidation<CreateInsightRequest> {
  if (!isObject(body)) return { ok: false, message: 'body must be a JSON object {"config": "<insights.json text>", "scope": {...}}' };
  const extra = onlyKeys(body, ['config', 'scope'], 'body');
  if (extra) return { ok: false, message: extra };
  if (typeof body.config !== 'string' || body.config.trim() === '') return { ok: false, message: 'body.config must be the text of an insights.json file' };
  if (body.config.length > FLEET_LIMITS.maxConfigBytes) return { ok: false, message: `body.config is ${body.config.length} characters; the limit is ${FLEET_LIMITS.maxConfigBytes}` };
  const scope = validateScope(body.scope ?? { kind: 'all' }, 'body.scope');
  if (!scope.ok) return scope;
  return { ok: true, value: { config: body.config, scope: scope.value } };
}
