// The fleet's SQL: an org's repositories, its insights, and the state of each (insight,
// repository) computation. Every statement runs in the org's row-level-security transaction
// (withOrg), so nothing here can read or write another org's rows.
import type { InsightDefinition } from '../../protocol/insights';
import type { FleetDefinitionProblem, FleetInsightStatus, FleetRepo, FleetScope } from '../../protocol/fleet';
import { lineColumn, parseDefinitions } from '../../server/engine/definitions';
import { syncedSeriesIds } from '../../server/runs/seriesIds';
import { withOrg, type OrgDb, type Queryable } from '../db';
import { OrgError } from '../store';
import { repoRef } from './identity';
import { scopeFromRow, scopeMatcher } from './scope';

/** One computation: an insight of an org over one of its repositories (the job's payload). */
export interface RunKey {
  org: string;
  repo: string;
  insight: string;
}

export class FleetDefinitionsError extends OrgError {
  constructor(readonly problems: FleetDefinitionProblem[]) {
    const errors = problems.filter((p) => p.severity === 'error');
    super('BAD_DEFINITIONS', `the insights file has ${errors.length} error(s); nothing was created: ${errors.map((p) => `${p.line}:${p.column}: ${p.message}`).join('; ')}`);
  }
}

export async function orgIdByName(db: OrgDb, name: string): Promise<string> {
  const org = await db.query<{ id: string }>('SELECT id FROM orgs WHERE name = $1', [name]);
  if (org.length === 0) throw new OrgError('NO_SUCH_ORG', `org "${name}" does not exist: create it first with \`code-insights org create-org ${name}\``);
  return String(org[0].id);
}

interface RepoRow {
  id: string;
  url: string;
  identity: string;
  added_at: Date | string;
  head_seen: string | null;
  status: 'ok' | 'unreachable';
  last_error: string | null;
}

const iso = (v: Date | string | null): string | null => (v === null ? null : (v instanceof Date ? v : new Date(v)).toISOString());

function toRepo(r: RepoRow): FleetRepo {
  return { id: String(r.id), url: r.url, identity: r.identity, addedAt: iso(r.added_at)!, headSeen: r.head_seen, status: r.status, lastError: r.last_error };
}

interface InsightRow {
  id: string;
  name: string;
  definition: InsightDefinition;
  scope_kind: string;
  scope_regex: string | null;
  scope_repos: string[];
  created_at: Date | string;
}

async function insightsOf(q: Queryable, orgId: string): Promise<InsightRow[]> {
  return q.query<InsightRow>('SELECT id, name, definition, scope_kind, scope_regex, scope_repos, created_at FROM fleet_insights WHERE org_id = $1 ORDER BY id', [orgId]);
}

async function reposOf(q: Queryable, orgId: string): Promise<RepoRow[]> {
  return q.query<RepoRow>('SELECT id, url, identity, added_at, head_seen, status, last_error FROM fleet_repos WHERE org_id = $1 ORDER BY id', [orgId]);
}

/** Marks runs queued (a new run, or a done/failed one asked again). Returns the keys to enqueue. */
export async function markQueued(q: Queryable, orgId: string, pairs: { insight: string; repo: string }[]): Promise<RunKey[]> {
  if (pairs.length === 0) return [];
  await q.query(
    `INSERT INTO fleet_runs AS r (org_id, insight_id, repo_id, state, queued_at)
     SELECT $1, unnest($2::bigint[]), unnest($3::bigint[]), 'queued', clock_timestamp()
     ON CONFLICT (org_id, insight_id, repo_id) DO UPDATE SET state = 'queued', queued_at = clock_timestamp(), attempts = 0
       WHERE r.state <> 'running'`,
    [orgId, pairs.map((p) => p.insight), pairs.map((p) => p.repo)],
  );
  // A running one is marked by its queued_at being later than its start: it ends as queued.
  await q.query(
    `UPDATE fleet_runs SET queued_at = clock_timestamp() WHERE org_id = $1 AND state = 'running'
       AND (insight_id, repo_id) IN (SELECT unnest($2::bigint[]), unnest($3::bigint[]))`,
    [orgId, pairs.map((p) => p.insight), pairs.map((p) => p.repo)],
  );
  return pairs.map((p) => ({ org: orgId, insight: p.insight, repo: p.repo }));
}

export async function addRepos(db: OrgDb, orgId: string, inputs: string[]): Promise<{ added: FleetRepo[]; existing: FleetRepo[]; runs: RunKey[] }> {
  const refs = new Map<string, string>();
  for (const i of inputs) {
    const r = repoRef(i);
    if (!refs.has(r.identity)) refs.set(r.identity, r.url);
  }
  return withOrg(db, orgId, async (q) => {
    const added = await q.query<RepoRow>(
      `INSERT INTO fleet_repos (org_id, url, identity) SELECT $1, unnest($2::text[]), unnest($3::text[])
       ON CONFLICT (org_id, identity) DO NOTHING RETURNING id, url, identity, added_at, head_seen, status, last_error`,
      [orgId, [...refs.values()], [...refs.keys()]],
    );
    const addedIds = new Set(added.map((r) => r.identity));
    const existing = await q.query<RepoRow>(
      'SELECT id, url, identity, added_at, head_seen, status, last_error FROM fleet_repos WHERE org_id = $1 AND identity = ANY($2::text[])',
      [orgId, [...refs.keys()].filter((k) => !addedIds.has(k))],
    );
    const pairs: { insight: string; repo: string }[] = [];
    for (const ins of await insightsOf(q, orgId)) {
      const inScope = scopeMatcher(scopeFromRow(ins));
      for (const r of added) if (inScope(r.identity)) pairs.push({ insight: String(ins.id), repo: String(r.id) });
    }
    return { added: added.map(toRepo), existing: existing.map(toRepo), runs: await markQueued(q, orgId, pairs) };
  });
}

export async function listRepos(db: OrgDb, orgId: string): Promise<FleetRepo[]> {
  return withOrg(db, orgId, async (q) => (await reposOf(q, orgId)).map(toRepo));
}

/** Removes repositories (by URL or identity) and their runs. Points already stored stay: they are
 *  history, like points a developer pushed. A queued job of a removed repository does nothing. */
export async function removeRepos(db: OrgDb, orgId: string, inputs: string[]): Promise<{ removed: number; unknown: string[] }> {
  return withOrg(db, orgId, async (q) => {
    const ids = inputs.map((i) => repoRef(i).identity);
    const gone = await q.query<{ id: string; identity: string }>(
      'DELETE FROM fleet_repos WHERE org_id = $1 AND (identity = ANY($2::text[]) OR identity = ANY($3::text[])) RETURNING id, identity',
      [orgId, ids, inputs],
    );
    if (gone.length) await q.query('DELETE FROM fleet_runs WHERE org_id = $1 AND repo_id = ANY($2::bigint[])', [orgId, gone.map((g) => g.id)]);
    const removed = new Set(gone.map((g) => g.identity));
    return { removed: gone.length, unknown: inputs.filter((i, k) => !removed.has(ids[k]) && !removed.has(i)) };
  });
}

const FLEET_KINDS = new Set(['series', 'structural']);

/** Checks an insights.json text exactly as `.vscode/insights.json` is checked (same messages). */
export function checkDefinitions(text: string): { insights: InsightDefinition[]; problems: FleetDefinitionProblem[] } {
  const parsed = parseDefinitions(text);
  const problems: FleetDefinitionProblem[] = parsed.problems.map((p) => ({ ...lineColumn(text, p.offset), code: p.code, message: p.message, severity: p.severity }));
  for (const def of parsed.insights) {
    // Regex and structural series have an org representation (protocol/org.ts) and are counted
    // from the repository's files alone. Not capture series (ids from matched text), lines per
    // language (not a series the org stores), external values (recorded by CI, not computed) or
    // commands (the org's repositories are not the user's to run code from).
    if (!FLEET_KINDS.has(def.kind ?? 'series')) {
      const at = lineColumn(text, parsed.locations[def.id]?.offset ?? 0);
      problems.push({ ...at, code: 'DEF_KIND_NOT_SUPPORTED', severity: 'error', message: `insight "${def.id}": org-defined insights are of kind ${[...FLEET_KINDS].map((k) => `"${k}"`).join(' or ')}; "${def.kind}" is computed only in the editor and the CLI` });
    }
  }
  if (parsed.insights.length === 0 && !problems.some((p) => p.severity === 'error')) {
    problems.push({ line: 1, column: 1, code: 'DEF_SCHEMA', severity: 'error', message: 'the file defines no insight' });
  }
  return { insights: parsed.insights, problems };
}

export async function createInsights(
  db: OrgDb,
  orgId: string,
  text: string,
  scope: FleetScope,
): Promise<{ insights: { id: string; name: string; title: string }[]; runs: RunKey[]; problems: FleetDefinitionProblem[] }> {
  const { insights, problems } = checkDefinitions(text);
  if (problems.some((p) => p.severity === 'error')) throw new FleetDefinitionsError(problems);
  const inScope = scopeMatcher(scope);
  return withOrg(db, orgId, async (q) => {
    const taken = await q.query<{ name: string }>('SELECT name FROM fleet_insights WHERE org_id = $1 AND name = ANY($2::text[])', [orgId, insights.map((d) => d.id)]);
    if (taken.length) {
      throw new OrgError('INSIGHT_EXISTS', `the org already has an insight "${taken[0].name}": give the new one another "id" (ids are unique per org)`);
    }
    const made: { id: string; name: string; title: string }[] = [];
    for (const def of insights) {
      const rows = await q.query<{ id: string }>(
        `INSERT INTO fleet_insights (org_id, name, definition, scope_kind, scope_regex, scope_repos) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
        [orgId, def.id, JSON.stringify(def), scope.kind, scope.kind === 'regex' ? scope.regex : null, scope.kind === 'list' ? scope.repos : []],
      );
      made.push({ id: String(rows[0].id), name: def.id, title: def.title });
    }
    const repos = (await reposOf(q, orgId)).filter((r) => inScope(r.identity));
    const pairs = made.flatMap((i) => repos.map((r) => ({ insight: i.id, repo: String(r.id) })));
    return { insights: made, runs: await markQueued(q, orgId, pairs), problems };
  });
}

/** JSON with sorted keys: jsonb keeps its own key order, so a stored definition and the same one
 *  parsed from a file compare equal only this way. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Replaces org-defined insights by id (the file's ids name them; same checks as create). The
 *  scope stays unless one is given. A changed definition is computed again over every repository
 *  in scope; an unchanged one only over repositories new to its scope. Runs of repositories that
 *  left the scope are dropped. Points already stored stay (history, as when a repository goes). */
export async function updateInsights(
  db: OrgDb,
  orgId: string,
  text: string,
  scope: FleetScope | undefined,
): Promise<{ insights: { id: string; name: string; title: string; recomputed: boolean }[]; runs: RunKey[]; problems: FleetDefinitionProblem[] }> {
  const { insights, problems } = checkDefinitions(text);
  if (problems.some((p) => p.severity === 'error')) throw new FleetDefinitionsError(problems);
  return withOrg(db, orgId, async (q) => {
    const existing = new Map((await insightsOf(q, orgId)).map((r) => [r.name, r]));
    const missing = insights.find((d) => !existing.has(d.id));
    if (missing) {
      throw new OrgError('NO_SUCH_INSIGHT', `the org has no insight "${missing.id}" to update (create it with \`code-insights org create-insight\`); nothing was changed`);
    }
    const repos = await reposOf(q, orgId);
    const out: { id: string; name: string; title: string; recomputed: boolean }[] = [];
    const pairs: { insight: string; repo: string }[] = [];
    for (const def of insights) {
      const row = existing.get(def.id)!;
      const newScope = scope ?? scopeFromRow(row);
      const changed = canonical(row.definition) !== canonical(def);
      await q.query('UPDATE fleet_insights SET definition = $3, scope_kind = $4, scope_regex = $5, scope_repos = $6 WHERE org_id = $1 AND id = $2', [
        orgId, row.id, JSON.stringify(def), newScope.kind, newScope.kind === 'regex' ? newScope.regex : null, newScope.kind === 'list' ? newScope.repos : [],
      ]);
      const inScope = scopeMatcher(newScope);
      const inIds = repos.filter((r) => inScope(r.identity)).map((r) => String(r.id));
      await q.query('DELETE FROM fleet_runs WHERE org_id = $1 AND insight_id = $2 AND NOT (repo_id = ANY($3::bigint[]))', [orgId, row.id, inIds]);
      const have = new Set((await q.query<{ repo_id: string }>('SELECT repo_id FROM fleet_runs WHERE org_id = $1 AND insight_id = $2', [orgId, row.id])).map((r) => String(r.repo_id)));
      for (const repo of inIds) if (changed || !have.has(repo)) pairs.push({ insight: String(row.id), repo });
      out.push({ id: String(row.id), name: def.id, title: def.title, recomputed: changed });
    }
    return { insights: out, runs: await markQueued(q, orgId, pairs), problems };
  });
}

/** Deletes org-defined insights by id with their runs. Their points stay (history); a queued
 *  job of a deleted insight does nothing. */
export async function deleteInsights(db: OrgDb, orgId: string, names: string[]): Promise<{ deleted: string[]; unknown: string[] }> {
  return withOrg(db, orgId, async (q) => {
    const gone = await q.query<{ id: string; name: string }>('DELETE FROM fleet_insights WHERE org_id = $1 AND name = ANY($2::text[]) RETURNING id, name', [orgId, names]);
    if (gone.length) await q.query('DELETE FROM fleet_runs WHERE org_id = $1 AND insight_id = ANY($2::bigint[])', [orgId, gone.map((g) => g.id)]);
    const deleted = new Set(gone.map((g) => g.name));
    return { deleted: names.filter((n) => deleted.has(n)), unknown: names.filter((n) => !deleted.has(n)) };
  });
}

/** What a worker needs to compute a run; null when the repository or insight was removed since. */
export async function loadRun(db: OrgDb, key: RunKey): Promise<{ url: string; identity: string; definition: InsightDefinition } | null> {
  return withOrg(db, key.org, async (q) => {
    const rows = await q.query<{ url: string; identity: string; definition: InsightDefinition }>(
      `SELECT r.url, r.identity, i.definition FROM fleet_repos r, fleet_insights i
       WHERE r.org_id = $1 AND r.id = $2 AND i.org_id = $1 AND i.id = $3`,
      [key.org, key.repo, key.insight],
    );
    return rows[0] ?? null;
  });
}

export async function markRunning(db: OrgDb, key: RunKey, attempt: number): Promise<void> {
  await withOrg(db, key.org, (q) =>
    q.query(
      `INSERT INTO fleet_runs AS r (org_id, insight_id, repo_id, state, attempts, started_at, queued_at) VALUES ($1, $2, $3, 'running', $4, clock_timestamp(), clock_timestamp() - interval '1 millisecond')
       ON CONFLICT (org_id, insight_id, repo_id) DO UPDATE SET state = 'running', attempts = $4, started_at = clock_timestamp()`,
      [key.org, key.insight, key.repo, attempt],
    ),
  );
}

/** Done, unless it was queued again while running (then it stays queued for the job that follows).
 *  With a worker's home (PostgreSQL fleet), the repository's mirror is now there: its next jobs
 *  are routed to that home (org/fleet/queue.ts), in the same transaction. */
export async function markDone(db: OrgDb, key: RunKey, head: string | null, home?: string): Promise<void> {
  await withOrg(db, key.org, async (q) => {
    if (home !== undefined) {
      await q.query('UPDATE fleet_repos SET home = $3 WHERE org_id = $1 AND id = $2 AND home IS DISTINCT FROM $3', [key.org, key.repo, home]);
    }
    await q.query(
      `UPDATE fleet_runs SET state = CASE WHEN queued_at > started_at THEN 'queued' ELSE 'done' END,
         runs = runs + 1, last_error = NULL, computed_head = $4, finished_at = clock_timestamp(),
         duration_ms = (extract(epoch FROM clock_timestamp() - started_at) * 1000)::int
       WHERE org_id = $1 AND insight_id = $2 AND repo_id = $3`,
      [key.org, key.insight, key.repo, head],
    );
  });
}

/** An attempt failed: queued again (the job is retried with backoff) or failed for good. */
export async function markError(db: OrgDb, key: RunKey, message: string, final: boolean): Promise<void> {
  await withOrg(db, key.org, (q) =>
    q.query(
      `UPDATE fleet_runs SET state = CASE WHEN $5 AND NOT queued_at > started_at THEN 'failed' ELSE 'queued' END,
         last_error = $4, finished_at = clock_timestamp()
       WHERE org_id = $1 AND insight_id = $2 AND repo_id = $3`,
      [key.org, key.insight, key.repo, message.slice(0, 2000), final],
    ),
  );
}

export async function retryFailed(db: OrgDb, orgId: string): Promise<RunKey[]> {
  return withOrg(db, orgId, async (q) => {
    const failed = await q.query<{ insight_id: string; repo_id: string }>("SELECT insight_id, repo_id FROM fleet_runs WHERE org_id = $1 AND state = 'failed'", [orgId]);
    return markQueued(q, orgId, failed.map((f) => ({ insight: String(f.insight_id), repo: String(f.repo_id) })));
  });
}

/** Runs to queue after a head check: every insight in scope of the repository whose last
 *  computation was of another head (or that was never queued). Records the head seen. */
export async function recordHead(db: OrgDb, orgId: string, repoId: string, head: string | null, error: string | null): Promise<RunKey[]> {
  return withOrg(db, orgId, async (q) => {
    if (head === null) {
      await q.query("UPDATE fleet_repos SET status = 'unreachable', last_error = $3, head_checked_at = now() WHERE org_id = $1 AND id = $2", [orgId, repoId, error]);
      return [];
    }
    const repo = await q.query<{ identity: string }>(
      "UPDATE fleet_repos SET status = 'ok', last_error = NULL, head_seen = $3, head_checked_at = now() WHERE org_id = $1 AND id = $2 RETURNING identity",
      [orgId, repoId, head],
    );
    if (repo.length === 0) return [];
    const runs = new Map<string, { state: string; computed_head: string | null }>();
    for (const r of await q.query<{ insight_id: string; state: string; computed_head: string | null }>(
      'SELECT insight_id, state, computed_head FROM fleet_runs WHERE org_id = $1 AND repo_id = $2',
      [orgId, repoId],
    )) runs.set(String(r.insight_id), r);
    const pairs: { insight: string; repo: string }[] = [];
    for (const ins of await insightsOf(q, orgId)) {
      if (!scopeMatcher(scopeFromRow(ins))(repo[0].identity)) continue;
      const run = runs.get(String(ins.id));
      if (!run || (run.state === 'done' && run.computed_head !== head)) pairs.push({ insight: String(ins.id), repo: repoId });
    }
    return markQueued(q, orgId, pairs);
  });
}

/** Runs still waiting for a job (to re-add after a lost enqueue; the job key makes it harmless). */
export async function queuedRuns(db: OrgDb, orgId: string): Promise<RunKey[]> {
  return withOrg(db, orgId, async (q) =>
    (await q.query<{ insight_id: string; repo_id: string }>("SELECT insight_id, repo_id FROM fleet_runs WHERE org_id = $1 AND state = 'queued'", [orgId])).map((r) => ({
      org: orgId,
      insight: String(r.insight_id),
      repo: String(r.repo_id),
    })),
  );
}

export async function fleetStatus(db: OrgDb, orgId: string, now = Date.now()): Promise<{ repos: number; insights: FleetInsightStatus[] }> {
  return withOrg(db, orgId, async (q) => {
    const repos = await reposOf(q, orgId);
    const runs = await q.query<{ insight_id: string; repo_id: string; state: string; last_error: string | null; finished_at: Date | string | null }>(
      'SELECT insight_id, repo_id, state, last_error, finished_at FROM fleet_runs WHERE org_id = $1',
      [orgId],
    );
    const byInsight = new Map<string, Map<string, (typeof runs)[number]>>();
    for (const r of runs) {
      let m = byInsight.get(String(r.insight_id));
      if (!m) byInsight.set(String(r.insight_id), (m = new Map()));
      m.set(String(r.repo_id), r);
    }
    const out: FleetInsightStatus[] = [];
    for (const ins of await insightsOf(q, orgId)) {
      const scope = scopeFromRow(ins);
      const inScope = scopeMatcher(scope);
      const s: FleetInsightStatus = {
        id: String(ins.id), name: ins.name, title: ins.definition.title, scope,
        series: syncedSeriesIds(ins.definition), definition: ins.definition,
        total: 0, done: 0, queued: 0, running: 0, failed: 0, pending: 0, failures: [],
        backfillStartedAt: iso(ins.created_at)!, etaSeconds: null,
      };
      const m = byInsight.get(String(ins.id)) ?? new Map();
      let lastFinished = 0;
      for (const r of repos) {
        if (!inScope(r.identity)) continue;
        s.total++;
        const run = m.get(String(r.id));
        if (!run) s.pending++;
        else if (run.state === 'done') {
          s.done++;
          lastFinished = Math.max(lastFinished, new Date(run.finished_at as string).getTime());
        } else if (run.state === 'failed') {
          s.failed++;
          if (s.failures.length < 100) s.failures.push({ repo: r.identity, error: run.last_error ?? 'failed' });
        } else if (run.state === 'running') s.running++;
        else s.queued++;
      }
      const remaining = s.queued + s.running + s.pending;
      const started = new Date(s.backfillStartedAt).getTime();
      if (remaining > 0 && s.done > 0 && lastFinished > started) {
        // The rate of the backfill so far, over the time it has run.
        const perRepo = (Math.max(lastFinished, now) - started) / s.done;
        s.etaSeconds = Math.ceil((perRepo * remaining) / 1000);
      }
      out.push(s);
    }
    return { repos: repos.length, insights: out };
  });
}

/** Every org's id (the refresh walks them; run as the owner, like the admin commands). */
export async function allOrgIds(db: OrgDb): Promise<string[]> {
  return (await db.query<{ id: string }>('SELECT id FROM orgs ORDER BY id')).map((r) => String(r.id));
}

/** The org's repositories (or those of `ids` still present) to check heads of. */
export async function reposToCheck(db: OrgDb, orgId: string, ids?: string[]): Promise<{ id: string; url: string }[]> {
  return withOrg(db, orgId, async (q) =>
    (ids
      ? await q.query<{ id: string; url: string }>('SELECT id, url FROM fleet_repos WHERE org_id = $1 AND id = ANY($2::bigint[]) ORDER BY id', [orgId, ids])
      : await q.query<{ id: string; url: string }>('SELECT id, url FROM fleet_repos WHERE org_id = $1 ORDER BY id', [orgId])
    ).map((r) => ({ id: String(r.id), url: r.url })),
  );
}
