// The org service's SQL: orgs and tokens (admin, as the owner role), ingest and reads (as the
// service role, scoped to one org by row-level security). Every statement is parameterised.
import { createHash, randomBytes } from 'node:crypto';
import type { OrgPoint, PushPointsResponse, SeriesDefinition, SeriesResponse, SeriesSummary } from '../protocol/org';
import { withOrg, type OrgDb, type Queryable } from './db';
import type { RepoMatcher } from './repoFilter';
import { checkStoredScales, fromStored } from './externalValues';

export class OrgError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const ORG_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const TOKEN_PREFIX = 'cit_';
const TOKEN_PATTERN = /^cit_[A-Za-z0-9_-]{43}$/;

/** `read`: series and fleet status; `write`: push points; `admin`: change the fleet (and read). */
export type Scope = 'read' | 'write' | 'admin';

export interface Principal {
  orgId: string;
  orgName: string;
  scope: Scope;
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export async function createOrg(db: OrgDb, name: string): Promise<{ id: string; name: string }> {
  if (!ORG_NAME_PATTERN.test(name)) {
    throw new OrgError('BAD_ORG_NAME', `org name "${name}" is not valid: use 1–63 lowercase letters, digits, ".", "_" or "-", starting with a letter or digit`);
  }
  const rows = await db.query<{ id: string }>('INSERT INTO orgs (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id', [name]);
  if (rows.length === 0) throw new OrgError('ORG_EXISTS', `org "${name}" already exists`);
  return { id: String(rows[0].id), name };
}

/** Creates a token and returns it: the only time it exists outside the caller's hands is as a hash. */
export async function createToken(db: OrgDb, orgName: string, scope: Scope): Promise<{ token: string; orgId: string }> {
  if (scope !== 'read' && scope !== 'write' && scope !== 'admin') throw new OrgError('BAD_SCOPE', `scope must be read, write or admin, got "${String(scope)}"`);
  const org = await db.query<{ id: string }>('SELECT id FROM orgs WHERE name = $1', [orgName]);
  if (org.length === 0) throw new OrgError('NO_SUCH_ORG', `org "${orgName}" does not exist: create it first with \`code-insights org create-org ${orgName}\``);
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  await db.query('INSERT INTO tokens (org_id, hash, prefix, scope) VALUES ($1, $2, $3, $4)', [org[0].id, hashToken(token), token.slice(0, 10), scope]);
  return { token, orgId: String(org[0].id) };
}

/** The principal of a bearer token, or null. Runs as the service role through ci_authenticate(). */
export async function authenticate(db: OrgDb, token: string): Promise<Principal | null> {
  if (!TOKEN_PATTERN.test(token)) return null;
  const rows = await withOrg(db, null, (q) =>
    q.query<{ org_id: string; org_name: string; scope: Scope }>('SELECT org_id, org_name, scope FROM ci_authenticate($1)', [hashToken(token)]),
  );
  if (rows.length !== 1) return null;
  return { orgId: String(rows[0].org_id), orgName: rows[0].org_name, scope: rows[0].scope };
}

/** Removes duplicates within a batch: for the same key the newest (commitTime, commit, value) wins,
 *  the same order the database applies, so a batch means the same whatever its order. Points must
 *  be validated (a time is exactly 24 characters, so series id + time is an unambiguous key within
 *  a repository). A batch without duplicates, the usual case, is returned as it is. Nested maps
 *  over the strings JSON.parse made avoid building a long key per point (measured 3x faster). */
export function dedupePoints(points: OrgPoint[]): OrgPoint[] {
  const byRepo = new Map<string, Map<string, OrgPoint>>();
  let duplicates = false;
  for (const p of points) {
    let m = byRepo.get(p.repo);
    if (!m) byRepo.set(p.repo, (m = new Map()));
    const key = p.series + p.time;
    const prev = m.get(key);
    if (!prev) m.set(key, p);
    else {
      duplicates = true;
      if (comparePoints(p, prev) > 0) m.set(key, p);
    }
  }
  if (!duplicates) return points;
  const out: OrgPoint[] = [];
  for (const m of byRepo.values()) for (const p of m.values()) out.push(p);
  return out;
}

/** Orders two points of the same key as the database does: commit time, then commit id, then value. */
export function comparePoints(a: OrgPoint, b: OrgPoint): number {
  if (a.commitTime !== b.commitTime) return Date.parse(a.commitTime) < Date.parse(b.commitTime) ? -1 : 1;
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  return a.value - b.value;
}

/** What ingest learned of an org's ids. Series and repository rows are never deleted and their
 *  ids never change, so a process keeps them and a push of known series and repositories skips
 *  the lookups (a round trip each: on loopback, a round trip costs both processes more CPU than
 *  most statements). Filled only after the transaction that created the rows committed. */
interface OrgIds {
  series: Map<string, string>;
  repos: Map<string, string>;
}
const idCache = new WeakMap<OrgDb, Map<string, OrgIds>>();
const MAX_CACHED = 200_000;

function orgIds(db: OrgDb, orgId: string): OrgIds {
  let byOrg = idCache.get(db);
  if (!byOrg) idCache.set(db, (byOrg = new Map()));
  let ids = byOrg.get(orgId);
  if (!ids || ids.repos.size > MAX_CACHED || ids.series.size > MAX_CACHED) byOrg.set(orgId, (ids = { series: new Map(), repos: new Map() }));
  return ids;
}

/** What ingest's transaction tells `afterStore`: the counts, and whether the org has alert
 *  rules on any series of the batch (read by the points statement). */
export interface StoredCounts {
  inserted: number;
  updated: number;
  rules: boolean;
}

/** Stores one validated batch in one transaction. Idempotent: a retry changes nothing.
 *  `afterStore` runs in the same transaction once the points are written (alert evaluation:
 *  org/alerts), with the counts; it is told the ids of the series in the batch.
 *  Pushes of different repositories run side by side: a push locks the repositories it writes
 *  (see MAX_REPO_LOCKS) and appends its changes of the org-wide totals to series_bucket_deltas,
 *  which foldDeltas moves into series_buckets now and then (migration 007). A push of known
 *  series and repositories is three round trips: settings and locks, the points statement,
 *  commit. */
export async function ingest(
  db: OrgDb,
  orgId: string,
  definitions: SeriesDefinition[],
  rawPoints: OrgPoint[],
  afterStore?: (q: Queryable, stored: StoredCounts, seriesKeys: string[]) => Promise<void>,
): Promise<PushPointsResponse> {
  const points = dedupePoints(rawPoints);
  for (let attempt = 1; ; attempt++) {
    try {
      const out = await ingestOnce(db, orgId, definitions, points, afterStore);
      if (out.inserted + out.updated > 0) await foldSoon(db, orgId);
      return { ...out, received: rawPoints.length };
    } catch (e) {
      // Two first pushes of the same new repository, each holding other repositories' locks,
      // can wait on each other; PostgreSQL ends one (deadlock_detected) and it runs again.
      if ((e as { code?: string }).code === '40P01' && attempt < 3) continue;
      throw e;
    }
  }
}

/** Above this many repositories in one batch, a push locks the whole org's ingest instead of
 *  each repository (advisory locks share one table of max_locks_per_transaction × connections
 *  slots). Pushes of one repository (a developer's or a fleet job's) stay far below it. */
export const MAX_REPO_LOCKS = 64;

// Advisory lock keys. Two-int keys: (namespace, org) for the org-wide ones (the alert lock in
// org/alerts/store.ts is 1129595219). One 64-bit key per repository: org in the high half,
// repository id in the low (a separate key space from the two-int keys).
const ORG_INGEST_LOCK = 1129595220;
const ORG_FOLD_LOCK = 1129595221;
const orgKey = (orgId: string) => `(${orgId}::bigint % 2147483647)::int`;
const repoLockSql = (orgId: string, idsSql: string) => `(SELECT count(pg_advisory_xact_lock((${orgId}::bigint << 32) | (r & 4294967295))) FROM unnest(${idsSql}) AS r)`;

/**
 * The points statement reads the stored point of each key before replacing it and derives the
 * change of the totals from that read, so two pushes of the same repository must take turns;
 * pushes of different repositories need not. Every push holds the org's ingest lock shared and
 * locks its repositories, known ones in id order in the transaction's first round trip; a batch
 * of more than MAX_REPO_LOCKS repositories holds the org's ingest lock exclusive instead. A
 * repository this push creates is locked as it is inserted (no one else can know its id yet).
 */
async function ingestOnce(
  db: OrgDb,
  orgId: string,
  definitions: SeriesDefinition[],
  points: OrgPoint[],
  afterStore?: (q: Queryable, stored: StoredCounts, seriesKeys: string[]) => Promise<void>,
): Promise<Omit<PushPointsResponse, 'received'>> {
  const cache = orgIds(db, orgId);
  const names = [...new Set(points.map((p) => p.repo))];
  const wide = names.length > MAX_REPO_LOCKS;
  // The repositories known now are the ones the prelude locks; the transaction uses exactly
  // these (the cache may learn more while it waits for a connection, unlocked by this push).
  const knownRepos = new Map<string, string>();
  for (const n of names) {
    const id = cache.repos.get(n);
    if (id !== undefined) knownRepos.set(n, id);
  }
  let prelude: string | undefined;
  if (names.length > 0) {
    if (wide) prelude = `SELECT pg_advisory_xact_lock(${ORG_INGEST_LOCK}, ${orgKey(orgId)})`;
    else {
      const known = [...knownRepos.values()].map(BigInt);
      known.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      prelude = `SELECT pg_advisory_xact_lock_shared(${ORG_INGEST_LOCK}, ${orgKey(orgId)}), ${repoLockSql(orgId, `'{${known.join(',')}}'::bigint[]`)}`;
    }
  }
  const learned: OrgIds = { series: new Map(), repos: new Map() };
  const out = await withOrg(
    db,
    orgId,
    async (q) => {
      const seriesIds = new Map<string, string>();
      const relabel: { id: string; label: string }[] = [];
      for (const d of definitions) {
        const id = cache.series.get(d.id);
        if (id === undefined) continue;
        seriesIds.set(d.id, id);
        relabel.push({ id, label: d.label });
      }
      const fresh = definitions.filter((d) => !seriesIds.has(d.id));
      if (fresh.length > 0) {
        for (const [key, id] of await resolveDefinitions(q, orgId, fresh)) {
          seriesIds.set(key, id);
          learned.series.set(key, id);
        }
      }
      // An external series keeps the unit and decimals it was stored with (cached or not).
      await checkStoredScales(q, orgId, definitions);
      const repoIds = new Map(knownRepos);
      const unknown = names.filter((n) => !repoIds.has(n));
      if (unknown.length > 0) {
        for (const [identity, id] of await resolveRepos(q, orgId, unknown, !wide)) {
          repoIds.set(identity, id);
          learned.repos.set(identity, id);
        }
      }
      const r = await upsertPoints(q, orgId, points, seriesIds, repoIds, relabel, [...seriesIds.keys()]);
      if (afterStore && r.inserted + r.updated > 0) await afterStore(q, r, [...seriesIds.keys()]);
      return {
        accepted: points.length,
        inserted: r.inserted,
        updated: r.updated,
        unchanged: points.length - r.inserted - r.updated,
        definitions: definitions.length,
      };
    },
    { prelude },
  );
  for (const [k, v] of learned.series) cache.series.set(k, v);
  for (const [k, v] of learned.repos) cache.repos.set(k, v);
  return out;
}

const FOLD_INTERVAL_MS = 500;
const lastFold = new WeakMap<OrgDb, Map<string, number>>();

/** Folds the org's pending deltas when this process has not done so for FOLD_INTERVAL_MS, so
 *  they stay few (a read sums them) without a fold per push. A failed fold loses nothing: the
 *  deltas stay, the totals read stay exact, and the next push folds them. */
async function foldSoon(db: OrgDb, orgId: string): Promise<void> {
  let m = lastFold.get(db);
  if (!m) lastFold.set(db, (m = new Map()));
  const now = Date.now();
  if (now - (m.get(orgId) ?? 0) < FOLD_INTERVAL_MS) return;
  m.set(orgId, now);
  await foldDeltas(db, orgId).catch(() => undefined);
}

/** Moves the org's pending total changes (series_bucket_deltas) into series_buckets in one
 *  transaction, so every reader sees either all of them folded or none. One folder per org at a
 *  time; another that finds it busy returns at once (false). The upserts run in (series, bucket)
 *  order, so a fold never waits on another in a circle. */
export async function foldDeltas(db: OrgDb, orgId: string): Promise<boolean> {
  return withOrg(db, orgId, async (q) => {
    const got = await q.query<{ ok: boolean }>(`SELECT pg_try_advisory_xact_lock(${ORG_FOLD_LOCK}, ${orgKey(orgId)}) AS ok`);
    if (!got[0].ok) return false;
    await q.query(
      `WITH moved AS (
         DELETE FROM series_bucket_deltas WHERE org_id = $1 RETURNING series_id, bucket, total, repos
       )
       INSERT INTO series_buckets AS a (org_id, series_id, bucket, total, repos)
       SELECT $1, series_id, bucket, sum(total), sum(repos) FROM moved GROUP BY series_id, bucket ORDER BY series_id, bucket
       ON CONFLICT (org_id, series_id, bucket) DO UPDATE SET total = a.total + excluded.total, repos = a.repos + excluded.repos`,
      [orgId],
    );
    return true;
  });
}

/** The row ids of series this process has not seen, creating those the org has not either.
 *  Known series are read, not upserted: an upsert locks the row even when it changes nothing,
 *  and every push of a series would wait on the pushes before it. The id is the hash of
 *  everything but the label, so only the label can change for an id (updated only when it
 *  differs). */
async function resolveDefinitions(q: Queryable, orgId: string, defs: SeriesDefinition[]): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  if (defs.length === 0) return ids;
  const known = await q.query<{ id: string; series_key: string; label: string }>(
    'SELECT id, series_key, label FROM series WHERE org_id = $1 AND series_key = ANY($2::text[])',
    [orgId, defs.map((d) => d.id)],
  );
  const labels = new Map<string, string>();
  for (const r of known) {
    ids.set(r.series_key, String(r.id));
    labels.set(r.series_key, r.label);
  }
  const relabel = defs.filter((d) => labels.has(d.id) && labels.get(d.id) !== d.label);
  if (relabel.length > 0) {
    await q.query(
      `UPDATE series s SET label = d.label, updated_at = now()
       FROM jsonb_to_recordset($2::jsonb) AS d(id text, label text)
       WHERE s.org_id = $1 AND s.series_key = d.id AND s.label IS DISTINCT FROM d.label`,
      [orgId, JSON.stringify(relabel.map((d) => ({ id: d.id, label: d.label })))],
    );
  }
  const fresh = defs.filter((d) => !ids.has(d.id));
  if (fresh.length === 0) return ids;
  const rows = await q.query<{ id: string; series_key: string }>(
    `INSERT INTO series (org_id, series_key, label, query, kind, literal, ignore_case, count_mode, include, exclude, max_file_size, semantics_version, unit, decimals, language, rule)
     SELECT $1, d.id, d.label, d.query, d.kind, d.literal, d."ignoreCase", d.count,
            ARRAY(SELECT jsonb_array_elements_text(d.include)), ARRAY(SELECT jsonb_array_elements_text(d.exclude)),
            d."maxFileSize", d."semanticsVersion", d.unit, d.decimals, d.language, d.rule
     FROM jsonb_to_recordset($2::jsonb) AS d(id text, label text, query text, kind text, literal boolean, "ignoreCase" boolean,
          count text, include jsonb, exclude jsonb, "maxFileSize" bigint, "semanticsVersion" integer, unit text, decimals smallint,
          language text, rule boolean)
     ON CONFLICT (org_id, series_key) DO NOTHING
     RETURNING id, series_key`,
    [orgId, JSON.stringify(fresh)],
  );
  for (const r of rows) ids.set(r.series_key, String(r.id));
  // Created meanwhile by a concurrent push (its insert committed before ours gave way).
  const missing = fresh.filter((d) => !ids.has(d.id)).map((d) => d.id);
  if (missing.length > 0) {
    const more = await q.query<{ id: string; series_key: string }>('SELECT id, series_key FROM series WHERE org_id = $1 AND series_key = ANY($2::text[])', [orgId, missing]);
    for (const r of more) ids.set(r.series_key, String(r.id));
  }
  return ids;
}

/** The ids of repositories this process has not seen, creating those the org has not either.
 *  `lock`: lock each one as the push writes it — created ones in the insert itself, found ones
 *  (created by another push meanwhile or before) in a statement of their own. */
async function resolveRepos(q: Queryable, orgId: string, names: string[], lock: boolean): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  const lockCol = lock ? `, pg_advisory_xact_lock((${orgId}::bigint << 32) | (id & 4294967295))` : '';
  const added = await q.query<{ id: string; identity: string }>(
    `WITH ins AS (INSERT INTO repos (org_id, identity) SELECT $1, unnest($2::text[]) ON CONFLICT (org_id, identity) DO NOTHING RETURNING id, identity)
     SELECT id, identity${lockCol} FROM ins`,
    [orgId, names],
  );
  for (const r of added) ids.set(r.identity, String(r.id));
  const existing = names.filter((n) => !ids.has(n));
  if (existing.length > 0) {
    const found = await q.query<{ id: string; identity: string }>('SELECT id, identity FROM repos WHERE org_id = $1 AND identity = ANY($2::text[]) ORDER BY id', [orgId, existing]);
    for (const r of found) ids.set(r.identity, String(r.id));
    if (lock && found.length > 0) await q.query(`SELECT ${repoLockSql(orgId, '$1::bigint[]')}`, [found.map((r) => String(r.id))]);
  }
  return ids;
}

async function upsertPoints(
  q: Queryable,
  orgId: string,
  points: OrgPoint[],
  seriesIds: Map<string, string>,
  repoIds: Map<string, string>,
  relabel: { id: string; label: string }[],
  seriesKeys: string[],
): Promise<StoredCounts> {
  // PostgreSQL array literals built by string concatenation: every element is digits, hex or an
  // ISO time (validated), so none needs quoting. pg's per-element array serialisation and even
  // Array.prototype.join measured several times slower than this for 20,000-element arrays.
  let s = '';
  let r = '';
  let b = '';
  let c = '';
  let ct = '';
  let v = '';
  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    const sep = i === 0 ? '' : ',';
    s += sep + seriesIds.get(p.series)!;
    r += sep + repoIds.get(p.repo)!;
    b += sep + p.time;
    c += sep + p.commit;
    ct += sep + p.commitTime;
    v += sep + p.value;
  }
  // One statement. `plan` reads the stored point of every input key (one primary-key probe each)
  // and keeps the input rows that will be written: new keys, and keys whose stored point is older
  // in the total order (commit time, commit id, value). The push holds its repositories' locks
  // (lockRepos), so nothing else writes these keys between that read and the upsert, and the delta
  // is computed from `plan` alone (measured 30 % less database CPU than joining the upsert's
  // RETURNING rows back to a separate read of the old values; an unchanged re-push writes nothing).
  // The upsert keeps its newer-only condition, so the stored state never goes back even so.
  const rows = await q.query<{ inserted: string; updated: string; rules: boolean }>(
    `WITH plan AS MATERIALIZED (
       SELECT i.series_id, i.repo_id, i.bucket, i.sha, i.commit_time, i.value, o.value AS old_value
       FROM (SELECT series_id, repo_id, bucket, decode(commit_hex, 'hex') AS sha, commit_time, value
             FROM unnest($2::bigint[], $3::bigint[], $4::timestamptz[], $5::text[], $6::timestamptz[], $7::bigint[])
               AS t(series_id, repo_id, bucket, commit_hex, commit_time, value)) i
       -- OFFSET 0: one primary-key probe per input row, whatever the planner thinks of the
       -- table's size (a plain join may be planned as a scan of every point of the org).
       LEFT JOIN LATERAL (
         SELECT p.commit_time, p.commit_sha, p.value FROM points p
         WHERE p.org_id = $1 AND p.series_id = i.series_id AND p.repo_id = i.repo_id AND p.bucket = i.bucket OFFSET 0
       ) o ON true
       WHERE o.value IS NULL OR (i.commit_time, i.sha, i.value) > (o.commit_time, o.commit_sha, o.value)
     ), ins AS (
       -- Keys with no stored point: a plain insert (measured cheaper than ON CONFLICT's
       -- speculative insertion). Under the locks nothing else can have inserted them meanwhile;
       -- if something did, the unique violation fails the batch rather than double-count it.
       INSERT INTO points (org_id, series_id, repo_id, bucket, commit_sha, commit_time, value)
       SELECT $1, series_id, repo_id, bucket, sha, commit_time, value FROM plan WHERE old_value IS NULL
     ), up AS (
       INSERT INTO points AS p (org_id, series_id, repo_id, bucket, commit_sha, commit_time, value)
       SELECT $1, series_id, repo_id, bucket, sha, commit_time, value FROM plan WHERE old_value IS NOT NULL
       ON CONFLICT (org_id, series_id, repo_id, bucket) DO UPDATE
         SET commit_sha = excluded.commit_sha, commit_time = excluded.commit_time, value = excluded.value
         WHERE (excluded.commit_time, excluded.commit_sha, excluded.value) > (p.commit_time, p.commit_sha, p.value)
     ), delta AS (
       SELECT series_id, bucket, sum(value - coalesce(old_value, 0))::bigint AS d,
              count(*) FILTER (WHERE old_value IS NULL) AS added, count(old_value) AS replaced
       FROM plan GROUP BY series_id, bucket
     ), agg AS (
       -- Appended, never updated: concurrent pushes of a series do not meet on its total rows.
       INSERT INTO series_bucket_deltas (org_id, series_id, bucket, total, repos)
       SELECT $1, series_id, bucket, d, added FROM delta
     ), relabel AS (
       -- Known series whose pushed label differs. A plain UPDATE locks only the rows it changes
       -- (an upsert would lock every series row of the push, and pushes would queue on them).
       UPDATE series s SET label = d.label, updated_at = now()
       FROM jsonb_to_recordset($8::jsonb) AS d(id bigint, label text)
       WHERE s.org_id = $1 AND s.id = d.id AND s.label IS DISTINCT FROM d.label
     )
     SELECT coalesce(sum(added), 0) AS inserted, coalesce(sum(replaced), 0) AS updated,
            EXISTS (SELECT 1 FROM alert_rules ar WHERE ar.org_id = $1 AND ar.series_key = ANY($9::text[])) AS rules
     FROM delta`,
    [orgId, `{${s}}`, `{${r}}`, `{${b}}`, `{${c}}`, `{${ct}}`, `{${v}}`, JSON.stringify(relabel), seriesKeys],
  );
  return { inserted: Number(rows[0].inserted), updated: Number(rows[0].updated), rules: Boolean(rows[0].rules) };
}

/** A series re-summed over some of the org's repositories ($1 org, $2 series row id, $3 repo
 *  ids): either the points of the repositories kept, summed, or — when the filter keeps most of
 *  them — the aggregate minus the points of the few left out, so a filter that keeps everything
 *  costs what one that keeps few does. OFFSET 0 keeps the per-repository lookups as primary-key
 *  probes: flattened, the planner may hash-join every point of the series instead. */
export function filteredReadSql(complement: boolean): string {
  const picked = `SELECT x.bucket, sum(x.value) AS total, count(*)::int AS repos
     FROM unnest($3::bigint[]) AS c(id) CROSS JOIN LATERAL (
       SELECT p.bucket, p.value FROM points p WHERE p.org_id = $1 AND p.series_id = $2 AND p.repo_id = c.id OFFSET 0
     ) x
     GROUP BY x.bucket`;
  if (!complement) return `${picked} ORDER BY x.bucket`;
  return `WITH left_out AS (${picked})
   SELECT a.bucket, a.total - coalesce(l.total, 0) AS total, a.repos - coalesce(l.repos, 0) AS repos
   FROM series_totals a LEFT JOIN left_out l ON l.bucket = a.bucket
   WHERE a.org_id = $1 AND a.series_id = $2 AND a.repos - coalesce(l.repos, 0) > 0
   ORDER BY a.bucket`;
}

function iso(v: unknown): string {
  return (v instanceof Date ? v : new Date(String(v))).toISOString();
}

export interface RepoFilterQuery {
  /** Keep repositories whose identity matches (org/repoFilter.ts). */
  include?: RepoMatcher;
  /** Drop repositories whose identity matches. */
  exclude?: RepoMatcher;
}

/** A series summed over the org's repos (from the aggregate), or over the repos a filter keeps
 *  (re-summed from per-repo points). Null when the org has no such series. */
export async function readSeries(db: OrgDb, orgId: string, seriesKey: string, filter: RepoFilterQuery = {}): Promise<SeriesResponse | null> {
  const filtered = filter.include !== undefined || filter.exclude !== undefined;
  if (!filtered) {
    // The dashboard's read: one statement (a consistent snapshot by itself), the series' row and
    // its totals together. The series id is an init-plan parameter of the totals view, so only
    // that series' rows are summed. Round trips are most of a read's cost under write load.
    const rows = await withOrg(db, orgId, (q) =>
      q.query<{ label: string; unit: string | null; decimals: number | null; bucket: Date | null; total: string; repos: number }>(
        `SELECT s.label, s.unit, s.decimals, t.bucket, t.total, t.repos
         FROM series s LEFT JOIN series_totals t
           ON t.org_id = $1 AND t.series_id = s.id AND t.series_id = (SELECT x.id FROM series x WHERE x.org_id = $1 AND x.series_key = $2)
         WHERE s.org_id = $1 AND s.series_key = $2 ORDER BY t.bucket`,
        [orgId, seriesKey],
      ),
    );
    if (rows.length === 0) return null;
    const decimals = rows[0].decimals === null ? undefined : Number(rows[0].decimals);
    return {
      id: seriesKey,
      label: rows[0].label,
      // External series only (values recorded by CI), so a computed series reads as before.
      ...(rows[0].unit !== null ? { unit: rows[0].unit } : {}),
      ...(decimals !== undefined ? { decimals } : {}),
      points: rows.filter((r) => r.bucket !== null).map((r) => ({ time: iso(r.bucket), value: fromStored(Number(r.total), decimals), repos: Number(r.repos) })),
    };
  }
  return withOrg(db, orgId, async (q) => {
    const s = await q.query<{ id: string; label: string; unit: string | null; decimals: number | null }>('SELECT id, label, unit, decimals FROM series WHERE org_id = $1 AND series_key = $2', [orgId, seriesKey]);
    if (s.length === 0) return null;
    // The filter runs here, in linear time, once per repository of the org (not per point):
    // the database gets the chosen ids. Same snapshot as the points read below.
    const repos = await q.query<{ id: string; identity: string }>('SELECT id, identity FROM repos WHERE org_id = $1', [orgId]);
    const kept: string[] = [];
    const dropped: string[] = [];
    for (const r of repos) {
      const keep = (!filter.include || filter.include.test(r.identity)) && !(filter.exclude && filter.exclude.test(r.identity));
      (keep ? kept : dropped).push(String(r.id));
    }
    const complement = kept.length * 2 > repos.length;
    const rows = await q.query<{ bucket: Date; total: string; repos: number }>(filteredReadSql(complement), [orgId, s[0].id, complement ? dropped : kept]);
    const decimals = s[0].decimals === null ? undefined : Number(s[0].decimals);
    return {
      id: seriesKey,
      label: s[0].label,
      // External series only (values recorded by CI), so a computed series reads as before.
      ...(s[0].unit !== null ? { unit: s[0].unit } : {}),
      ...(decimals !== undefined ? { decimals } : {}),
      points: rows.map((r) => ({ time: iso(r.bucket), value: fromStored(Number(r.total), decimals), repos: Number(r.repos) })),
    };
  }, { snapshot: true });
}

export async function listSeries(db: OrgDb, orgId: string): Promise<SeriesSummary[]> {
  return withOrg(db, orgId, async (q) => {
    const rows = await q.query<Record<string, unknown>>(
      `SELECT s.series_key, s.label, s.query, s.kind, s.literal, s.ignore_case, s.count_mode, s.include, s.exclude,
              s.max_file_size, s.semantics_version, s.unit, s.decimals, s.language, s.rule,
              a.buckets, a.repos, a.latest
       FROM series s
       LEFT JOIN LATERAL (
         SELECT count(*) AS buckets, coalesce(max(t.repos), 0) AS repos, max(t.bucket) AS latest
         FROM series_totals t WHERE t.org_id = s.org_id AND t.series_id = s.id
       ) a ON true
       WHERE s.org_id = $1 ORDER BY s.label, s.series_key`,
      [orgId],
    );
    return rows.map((r) => ({
      id: String(r.series_key),
      label: String(r.label),
      query: String(r.query),
      kind: r.kind as SeriesSummary['kind'],
      literal: Boolean(r.literal),
      ignoreCase: Boolean(r.ignore_case),
      count: r.count_mode as SeriesSummary['count'],
      include: r.include as string[],
      exclude: r.exclude as string[],
      maxFileSize: Number(r.max_file_size),
      semanticsVersion: Number(r.semantics_version),
      ...(r.unit != null ? { unit: String(r.unit) } : {}),
      ...(r.decimals != null ? { decimals: Number(r.decimals) } : {}),
      ...(r.language != null ? { language: r.language as SeriesSummary['language'] } : {}),
      ...(r.rule === true ? { rule: true } : {}),
      buckets: Number(r.buckets),
      repos: Number(r.repos),
      latest: r.latest == null ? null : iso(r.latest),
    }));
  });
}
