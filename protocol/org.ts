// Org service API (`/api/v1`): the payloads that cross from a developer's machine (the sync
// client in server/sync/) to the org service (org/), and from the org service to its dashboard.
// One declaration for both ends, plus the strict validator the service applies at its boundary
// (a schema in code: no coercion, unknown fields rejected, every size bounded).
//
// Privacy: a point carries only a series id, a repository identity, times, a commit id and a
// number. A definition carries the query as the user wrote it. Nothing else leaves the machine.

import { EXTERNAL_LIMITS, externalValueProblem, STRUCTURAL_LANGUAGES, UNIT_PATTERN, type CountMode, type InsightKind, type StructuralLanguage } from './insights';

/** One repository's value of one series at one bucket boundary. */
export interface OrgPoint {
  /** Series id: the engine's hash of the canonical definition (lowercase hex, 16–64 chars). */
  series: string;
  /** Repo identity: normalised origin URL (host/owner/name), else `root:<hash of root commit>`. */
  repo: string;
  /** Bucket boundary, ISO UTC (`2026-11-02T00:00:00.000Z`). */
  time: string;
  /** The commit sampled for this bucket (40 or 64 lowercase hex). */
  commit: string;
  /** Committer time of `commit`, ISO UTC. For the same key the newer commit wins. */
  commitTime: string;
  /**
   * A count: a non-negative integer. For a series whose definition has `decimals` (an external
   * series: values recorded by CI), a non-negative number with at most that many fractional digits.
   */
  value: number;
}

/** What the org service needs to know about a series (everything that its id hashes, plus a label). */
export interface SeriesDefinition {
  id: string;
  label: string;
  query: string;
  kind: InsightKind;
  literal: boolean;
  ignoreCase: boolean;
  count: CountMode;
  include: string[];
  exclude: string[];
  /** Bytes; 0 = no limit. */
  maxFileSize: number;
  /** The engine's counting semantics version (part of the id). */
  semanticsVersion: number;
  /**
   * External series only (kind `external`; absent for computed series, and from older clients):
   * the unit of the values, shown beside them. Part of the id.
   */
  unit?: string;
  /** External series only: fractional digits of the values, 0–6. Part of the id. */
  decimals?: number;
  /**
   * Structural series only (kind `structural`): the language of the ast-grep pattern in `query`.
   * Part of the id.
   */
  language?: StructuralLanguage;
  /** Structural series only: `query` is an ast-grep YAML rule, not a pattern. Part of the id. */
  rule?: boolean;
}

/** `POST /api/v1/points` body. Every point's series must be defined in the same batch. */
export interface PushPointsRequest {
  definitions: SeriesDefinition[];
  points: OrgPoint[];
}

/** `POST /api/v1/points` answer (200): what happened to the batch. */
export interface PushPointsResponse {
  /** Points in the request. */
  received: number;
  /** Distinct keys after removing duplicates within the batch (the newest commit of a key kept). */
  accepted: number;
  /** Keys stored for the first time. */
  inserted: number;
  /** Keys whose stored point was replaced by a newer commit. */
  updated: number;
  /** Keys already stored with the same or a newer commit (a retry or an older machine). */
  unchanged: number;
  /** Series definitions stored or refreshed. */
  definitions: number;
}

/** `GET /api/v1/series/:id` answer. */
export interface SeriesResponse {
  id: string;
  label: string;
  /** External series: the unit and fractional digits of the values (absent for computed series). */
  unit?: string;
  decimals?: number;
  /** Oldest first; value summed over the org's repos (or those matching `?repo=`). */
  points: { time: string; value: number; repos: number }[];
}

/** One entry of `GET /api/v1/series`. */
export interface SeriesSummary extends SeriesDefinition {
  /** Number of buckets with data. */
  buckets: number;
  /** Distinct repositories that reported any point. */
  repos: number;
  /** Newest bucket with data, ISO, or null. */
  latest: string | null;
}

export interface SeriesListResponse {
  org: string;
  series: SeriesSummary[];
}

/** Every non-2xx answer. `code` is stable; `message` says what to do. */
export interface ApiError {
  error: { code: ApiErrorCode; message: string };
}

export type ApiErrorCode =
  | 'BAD_REQUEST'
  | 'INVALID_BODY'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RATE_LIMITED'
  | 'DB_UNAVAILABLE'
  | 'INTERNAL';

// ---------------------------------------------------------------------------------------------
// Limits (the service answers 413 above the body/batch limits, 400 above field limits).

export const ORG_LIMITS = {
  /** Request body bytes. */
  maxBodyBytes: 16 * 1024 * 1024,
  maxPointsPerBatch: 50_000,
  maxDefinitionsPerBatch: 1_000,
  maxRepoLength: 512,
  maxLabelLength: 300,
  maxQueryLength: 4_096,
  maxGlobs: 100,
  maxGlobLength: 1_024,
  /** `?repo=` regex length. */
  maxRepoFilterLength: 512,
  /** semanticsVersion is stored as a 32-bit integer. */
  maxSemanticsVersion: 2_147_483_647,
} as const;

export const SERIES_ID_PATTERN = /^[0-9a-f]{16,64}$/;
export const COMMIT_PATTERN = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
/** ISO UTC as `Date.prototype.toISOString()` prints it (what the engine emits). */
export const ISO_UTC_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
// A UTF-16 surrogate without its pair: JSON can carry it (\ud800), UTF-8 and PostgreSQL cannot.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why the org service cannot store this text, or undefined when it can: PostgreSQL text holds
 *  neither NUL nor half of a UTF-16 surrogate pair. The client checks definitions with it too. */
export function storableTextProblem(s: string): string | undefined {
  if (s.includes('\u0000')) return 'must not contain the NUL character (\\u0000)';
  if (LONE_SURROGATE.test(s)) return 'must not contain a lone UTF-16 surrogate (half of a surrogate pair, e.g. \\ud800)';
  return undefined;
}

const KINDS: readonly InsightKind[] = ['series', 'capture', 'languages', 'external', 'structural'];
const COUNTS: readonly CountMode[] = ['matches', 'lines', 'files'];

export type Validation<T> =
  | { ok: true; value: T }
  | { ok: false; status: 400 | 413; code: 'INVALID_BODY' | 'PAYLOAD_TOO_LARGE'; message: string };

class Invalid extends Error {
  constructor(
    message: string,
    readonly status: 400 | 413 = 400,
  ) {
    super(message);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function exactKeys(o: Record<string, unknown>, keys: readonly string[], where: string, optional: readonly string[] = []): void {
  for (const k of Object.keys(o)) {
    if (!keys.includes(k) && !optional.includes(k)) throw new Invalid(`${where}: unknown field "${k.slice(0, 60)}" (allowed: ${[...keys, ...optional].join(', ')})`);
  }
  for (const k of keys) {
    if (!(k in o)) throw new Invalid(`${where}: missing field "${k}"`);
  }
}

function str(o: Record<string, unknown>, k: string, where: string, max: number, allowEmpty = false): string {
  const v = o[k];
  if (typeof v !== 'string') throw new Invalid(`${where}.${k} must be a string, got ${typeName(v)}`);
  if (!allowEmpty && v.length === 0) throw new Invalid(`${where}.${k} must not be empty`);
  if (v.length > max) throw new Invalid(`${where}.${k} is ${v.length} characters; the limit is ${max}`);
  const problem = storableTextProblem(v);
  if (problem) throw new Invalid(`${where}.${k} ${problem}`);
  return v;
}

function bool(o: Record<string, unknown>, k: string, where: string): boolean {
  const v = o[k];
  if (typeof v !== 'boolean') throw new Invalid(`${where}.${k} must be true or false, got ${typeName(v)}`);
  return v;
}

function count(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new Invalid(`${what} must be a non-negative integer, got ${typeof v === 'number' ? String(v) : typeName(v)}`);
  }
  return v;
}

// Times repeat heavily within a batch (every repo shares the bucket times): remember the valid ones.
const validTimes = new Set<string>();

function isoTime(o: Record<string, unknown>, k: string, where: string): string {
  const v = str(o, k, where, 64);
  if (validTimes.has(v)) return v;
  if (!ISO_UTC_PATTERN.test(v) || Number.isNaN(Date.parse(v)) || new Date(v).toISOString() !== v) {
    throw new Invalid(`${where}.${k} must be an ISO UTC time like 2026-11-02T00:00:00.000Z, got "${v.slice(0, 80)}"`);
  }
  // PostgreSQL has no year 0 (1 BC comes before 1 AD); no git commit is that old anyway.
  if (v.startsWith('0000')) throw new Invalid(`${where}.${k} must be in the years 0001–9999, got "${v}"`);
  if (validTimes.size > 100_000) validTimes.clear();
  validTimes.add(v);
  return v;
}

function seriesId(v: string, what: string): string {
  if (!SERIES_ID_PATTERN.test(v)) throw new Invalid(`${what} must be 16–64 lowercase hex characters, got "${v.slice(0, 80)}"`);
  return v;
}

function globs(o: Record<string, unknown>, k: string, where: string): string[] {
  const v = o[k];
  if (!Array.isArray(v)) throw new Invalid(`${where}.${k} must be an array of strings, got ${typeName(v)}`);
  if (v.length > ORG_LIMITS.maxGlobs) throw new Invalid(`${where}.${k} has ${v.length} entries; the limit is ${ORG_LIMITS.maxGlobs}`);
  v.forEach((g, i) => {
    if (typeof g !== 'string' || g.length === 0 || g.length > ORG_LIMITS.maxGlobLength) {
      throw new Invalid(`${where}.${k}[${i}] must be a non-empty string of at most ${ORG_LIMITS.maxGlobLength} characters`);
    }
    const problem = storableTextProblem(g);
    if (problem) throw new Invalid(`${where}.${k}[${i}] ${problem}`);
  });
  return v as string[];
}

const DEFINITION_KEYS = ['id', 'label', 'query', 'kind', 'literal', 'ignoreCase', 'count', 'include', 'exclude', 'maxFileSize', 'semanticsVersion'] as const;
/** Fields a definition may leave out: what older clients never send. */
const OPTIONAL_DEFINITION_KEYS = ['unit', 'decimals', 'language', 'rule'] as const;
const POINT_KEYS = ['series', 'repo', 'time', 'commit', 'commitTime', 'value'] as const;

export function validateSeriesDefinition(v: unknown, where = 'definition'): SeriesDefinition {
  if (!isPlainObject(v)) throw new Invalid(`${where} must be an object, got ${typeName(v)}`);
  exactKeys(v, DEFINITION_KEYS, where, OPTIONAL_DEFINITION_KEYS);
  const kind = v.kind;
  if (typeof kind !== 'string' || !KINDS.includes(kind as InsightKind)) throw new Invalid(`${where}.kind must be one of ${KINDS.join(', ')}`);
  const cnt = v.count;
  if (typeof cnt !== 'string' || !COUNTS.includes(cnt as CountMode)) throw new Invalid(`${where}.count must be one of ${COUNTS.join(', ')}`);
  const semanticsVersion = count(v.semanticsVersion, `${where}.semanticsVersion`);
  if (semanticsVersion < 1 || semanticsVersion > ORG_LIMITS.maxSemanticsVersion) {
    throw new Invalid(`${where}.semanticsVersion must be an integer from 1 to ${ORG_LIMITS.maxSemanticsVersion}, got ${semanticsVersion}`);
  }
  const label = str(v, 'label', where, ORG_LIMITS.maxLabelLength);
  if (CONTROL_CHARS.test(label)) throw new Invalid(`${where}.label must not contain control characters`);
  const scale = valueScale(v, kind as InsightKind, where);
  const structural = structuralFields(v, kind as InsightKind, where);
  return {
    id: seriesId(str(v, 'id', where, 64), `${where}.id`),
    label,
    query: str(v, 'query', where, ORG_LIMITS.maxQueryLength),
    kind: kind as InsightKind,
    literal: bool(v, 'literal', where),
    ignoreCase: bool(v, 'ignoreCase', where),
    count: cnt as CountMode,
    include: globs(v, 'include', where),
    exclude: globs(v, 'exclude', where),
    maxFileSize: count(v.maxFileSize, `${where}.maxFileSize`),
    semanticsVersion,
    ...scale,
    ...structural,
  };
}

/** `language` and `rule` of a definition: only a structural series has them, and it has a language. */
function structuralFields(v: Record<string, unknown>, kind: InsightKind, where: string): { language?: StructuralLanguage; rule?: boolean } {
  if (kind !== 'structural') {
    for (const k of ['language', 'rule'] as const) {
      if (k in v) throw new Invalid(`${where}.${k} applies to structural series only (kind "structural"), not to kind "${kind}"`);
    }
    return {};
  }
  const language = v.language;
  if (typeof language !== 'string' || !STRUCTURAL_LANGUAGES.includes(language as StructuralLanguage)) {
    throw new Invalid(`${where}.language must be one of ${STRUCTURAL_LANGUAGES.join(', ')} (a structural series' pattern is in one language)`);
  }
  if (!('rule' in v)) return { language: language as StructuralLanguage };
  if (v.rule !== true) throw new Invalid(`${where}.rule must be true when given (the query is an ast-grep YAML rule)`);
  return { language: language as StructuralLanguage, rule: true };
}

/** `unit` and `decimals` of a definition: only an external series has them, and it has `decimals`. */
function valueScale(v: Record<string, unknown>, kind: InsightKind, where: string): { unit?: string; decimals?: number } {
  if (kind !== 'external') {
    for (const k of ['unit', 'decimals'] as const) {
      if (k in v) throw new Invalid(`${where}.${k} applies to external series only (kind "external"), not to kind "${kind}"`);
    }
    return {};
  }
  if (!('decimals' in v)) throw new Invalid(`${where}: missing field "decimals" (an external series says how many fractional digits its values have, 0 to ${EXTERNAL_LIMITS.maxDecimals})`);
  const d = v.decimals;
  if (typeof d !== 'number' || !Number.isInteger(d) || d < 0 || d > EXTERNAL_LIMITS.maxDecimals) {
    throw new Invalid(`${where}.decimals must be a whole number from 0 to ${EXTERNAL_LIMITS.maxDecimals}, got ${typeof d === 'number' ? String(d) : typeName(d)}`);
  }
  if (!('unit' in v)) return { decimals: d };
  const unit = str(v, 'unit', where, EXTERNAL_LIMITS.maxUnitLength);
  if (!UNIT_PATTERN.test(unit)) {
    throw new Invalid(`${where}.unit must be short text of letters, digits, %, /, °, µ, ".", "_", "-" or inner spaces (e.g. "%", "s", "tests"), got "${unit.slice(0, 40)}"`);
  }
  return { unit, decimals: d };
}

/** A point's value for a series with `decimals` fractional digits (undefined: a count). */
export function pointValueProblem(value: unknown, decimals: number | undefined): string | undefined {
  if (decimals === undefined) {
    return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? undefined : `must be a non-negative integer, got ${typeof value === 'number' ? String(value) : typeName(value)}`;
  }
  return externalValueProblem(value, decimals);
}

/** A point; `decimals` is its series' (undefined for a computed series: the value is a count). */
export function validateOrgPoint(v: unknown, where = 'point', decimals?: number): OrgPoint {
  if (!isPlainObject(v)) throw new Invalid(`${where} must be an object, got ${typeName(v)}`);
  exactKeys(v, POINT_KEYS, where);
  const repo = str(v, 'repo', where, ORG_LIMITS.maxRepoLength);
  if (CONTROL_CHARS.test(repo)) throw new Invalid(`${where}.repo must not contain control characters`);
  const commit = str(v, 'commit', where, 64);
  if (!COMMIT_PATTERN.test(commit)) throw new Invalid(`${where}.commit must be a full commit id (40 or 64 lowercase hex), got "${commit}"`);
  return {
    series: seriesId(str(v, 'series', where, 64), `${where}.series`),
    repo,
    time: isoTime(v, 'time', where),
    commit,
    commitTime: isoTime(v, 'commitTime', where),
    value: pointValue(v.value, `${where}.value`, decimals),
  };
}

function pointValue(v: unknown, what: string, decimals: number | undefined): number {
  const problem = pointValueProblem(v, decimals);
  if (problem) throw new Invalid(`${what} ${problem}`);
  return v as number;
}

/** Validates a parsed `POST /api/v1/points` body. Never throws; never coerces. */
export function validatePushPointsRequest(body: unknown): Validation<PushPointsRequest> {
  try {
    if (!isPlainObject(body)) throw new Invalid(`body must be a JSON object {"definitions": [...], "points": [...]}, got ${typeName(body)}`);
    exactKeys(body, ['definitions', 'points'], 'body');
    const defs = body.definitions;
    const points = body.points;
    if (!Array.isArray(defs)) throw new Invalid(`body.definitions must be an array, got ${typeName(defs)}`);
    if (!Array.isArray(points)) throw new Invalid(`body.points must be an array, got ${typeName(points)}`);
    if (points.length > ORG_LIMITS.maxPointsPerBatch) {
      throw new Invalid(`batch has ${points.length} points; the limit is ${ORG_LIMITS.maxPointsPerBatch}: send smaller batches`, 413);
    }
    if (defs.length > ORG_LIMITS.maxDefinitionsPerBatch) {
      throw new Invalid(`batch has ${defs.length} definitions; the limit is ${ORG_LIMITS.maxDefinitionsPerBatch}: send smaller batches`, 413);
    }
    const definitions = defs.map((d, i) => validateSeriesDefinition(d, `definitions[${i}]`));
    const byId = new Map<string, SeriesDefinition>();
    definitions.forEach((d, i) => {
      const prev = byId.get(d.id);
      if (prev && JSON.stringify(prev) !== JSON.stringify(d)) {
        throw new Invalid(`definitions[${i}]: series ${d.id} is defined twice with different contents`);
      }
      byId.set(d.id, d);
    });
    const out = points.map((p, i) => {
      const series = isPlainObject(p) && typeof p.series === 'string' ? byId.get(p.series) : undefined;
      const pt = validateOrgPoint(p, `points[${i}]`, series?.decimals);
      if (!byId.has(pt.series)) {
        throw new Invalid(`points[${i}].series ${pt.series} has no definition in this batch: add it to "definitions"`);
      }
      return pt;
    });
    return { ok: true, value: { definitions: [...byId.values()], points: out } };
  } catch (e) {
    if (e instanceof Invalid) {
      return { ok: false, status: e.status, code: e.status === 413 ? 'PAYLOAD_TOO_LARGE' : 'INVALID_BODY', message: e.message };
    }
    throw e;
  }
}

/** Checks the shape of a `?repo=` filter (a string, its length, its characters). Its syntax is
 *  checked where it is compiled: org/repoFilter.ts (RE2 syntax, linear-time matching). */
export function validateRepoFilter(v: unknown): Validation<string> {
  if (typeof v !== 'string' || v.length === 0) {
    return { ok: false, status: 400, code: 'INVALID_BODY', message: 'repo must be a non-empty regular expression' };
  }
  if (v.length > ORG_LIMITS.maxRepoFilterLength) {
    return { ok: false, status: 400, code: 'INVALID_BODY', message: `repo filter is ${v.length} characters; the limit is ${ORG_LIMITS.maxRepoFilterLength}` };
  }
  if (CONTROL_CHARS.test(v)) return { ok: false, status: 400, code: 'INVALID_BODY', message: 'repo filter must not contain control characters' };
  const problem = storableTextProblem(v);
  if (problem) return { ok: false, status: 400, code: 'INVALID_BODY', message: `repo filter ${problem}` };
  return { ok: true, value: v };
}
