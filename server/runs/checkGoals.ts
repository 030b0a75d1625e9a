// Checks the goals of a definitions file on one repository: each series with a goal is computed
// at the base commit and at HEAD through the run layer (the same cache and run memo as
// `code-insights run`), judged against its goal, and for each broken series the drill-down names
// the files, and a diff the lines, that added matches between base and head.
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { GOAL_CHECK_LIMITS, type GoalCheckResult, type GoalCulprit, type GoalSeriesCheck, type SeriesGoalState } from '../../protocol/goals';
import type { InsightDefinition, SeriesResult } from '../../protocol/insights';
import { addedMatches, LineCounter } from '../engine/addedMatches';
import type { ComputeRequest, SeriesSpec } from '../engine/api';
import { toComputeRequest, toSeriesSpecs } from '../engine/definitions';
import { drillDown } from '../engine/drillDown';
import { InsightsError } from '../engine/errors';
import { runGitRaw } from '../engine/git';
import { evaluateGoal, goalOf, hasGoals } from '../engine/goals';
import { externalSeriesId, seriesId } from '../engine/seriesId';
import { originIdentity, rootIdentity } from '../engine/repoIdentity';
import { defaultCacheFile, InsightsCache } from '../store/cache';
import { externalValues, type ExternalValue } from '../store/externalValues';
import { runInsights, type RunOptions } from './runInsights';

export interface CheckOptions extends Pick<RunOptions, 'cacheFile' | 'signal' | 'onProgress' | 'tuning'> {
  /** Base revision; default: the merge-base of HEAD with the default branch. */
  base?: string;
  /** The time targets are judged at (default now). */
  now?: Date;
}

/** A capture series can only be judged when its value is there: count every captured value, not the top 20. */
const CHECK_CAPTURE_LIMIT = 1000;

async function git(dir: string, args: string[], signal?: AbortSignal): Promise<string | undefined> {
  const r = await runGitRaw(undefined, args, { cwd: dir, signal });
  return r.code === 0 ? r.stdout.toString('utf8').trim() : undefined;
}

/** The repository that holds `path`: its working tree and git dir. */
async function repositoryOf(path: string, signal?: AbortSignal): Promise<{ top: string; gitDir: string }> {
  const abs = resolve(path);
  const out = await git(abs, ['rev-parse', '--path-format=absolute', '--show-toplevel', '--git-dir'], signal).catch(() => undefined);
  const [top, gitDir] = out?.split('\n') ?? [];
  if (!top || !gitDir) throw new InsightsError('NOT_A_REPO', `${path}: is not inside a git working tree; run check in the repository to check`);
  return { top: realpathSync(top), gitDir };
}

async function commitOf(dir: string, rev: string, signal?: AbortSignal): Promise<string | undefined> {
  if (rev.startsWith('-')) return undefined;
  return git(dir, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`], signal);
}

/** `--base`, else the merge-base with the default branch (origin/HEAD's target, else main, else master). */
export async function resolveBase(dir: string, head: string, base: string | undefined, signal?: AbortSignal): Promise<{ rev: string; commit: string }> {
  if (base !== undefined) {
    const commit = await commitOf(dir, base, signal);
    if (!commit) throw new InsightsError('BAD_OPTION', `--base: "${base.slice(0, 100)}" names no commit of this repository`);
    return { rev: base, commit };
  }
  const originHead = await git(dir, ['symbolic-ref', '-q', '--short', 'refs/remotes/origin/HEAD'], signal);
  const candidates = [originHead, 'main', 'master', 'origin/main', 'origin/master'].filter((x): x is string => !!x);
  for (const rev of candidates) {
    if (!(await commitOf(dir, rev, signal))) continue;
    const commit = await git(dir, ['merge-base', head, rev], signal);
    if (!commit) throw new InsightsError('NO_BASE', `HEAD has no common history with ${rev} (a shallow clone? fetch the history, e.g. actions/checkout with fetch-depth: 0); pass --base REV`);
    return { rev: `merge-base with ${rev}`, commit };
  }
  throw new InsightsError('NO_BASE', 'no default branch found (no origin/HEAD, main or master); pass --base REV');
}

interface Member {
  def: InsightDefinition;
  specs: { spec: SeriesSpec; query: number }[];
}

type Valued = SeriesResult & { value: number };

/** Values of every series at the commit of time `end` on `commit`'s first-parent history (none when no commit is that old). */
async function valuesAt(members: Member[], top: string, commit: string, end: Date, opts: CheckOptions, excluded?: Set<string>): Promise<Map<string, Valued>> {
  const out = new Map<string, Valued>();
  // One pass per repository filter: the other fields are the same for every insight here.
  const groups = new Map<string, { req: ComputeRequest; ids: string[] }>();
  for (const m of members) {
    const base = toComputeRequest(m.def, [top]);
    const key = JSON.stringify(base.repoFilters ?? []);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { req: { paths: [top], series: [], step: 'day', points: 1, end, rev: commit, ...(base.repoFilters ? { repoFilters: base.repoFilters } : {}) }, ids: [] }));
    g.req.series.push(...m.specs.map((s) => s.spec));
    g.ids.push(m.def.id);
  }
  for (const { req, ids } of groups.values()) {
    const r = await runInsights(req, { cacheFile: opts.cacheFile, signal: opts.signal, onProgress: opts.onProgress, tuning: opts.tuning });
    const mine = r.repos.find((s) => s.path && resolve(s.path) === top);
    if (mine?.error) throw new InsightsError('CHECK_FAILED', `${top}: ${mine.error}`);
    // The insight's "repos" leave this repository out: its goals do not apply here.
    if (!mine || mine.warning === 'excluded by the repository filter') ids.forEach((id) => excluded?.add(id));
    for (const s of r.series) {
      if (s.error) throw new InsightsError('CHECK_FAILED', `${s.label}: ${s.error}`);
      const mineAtEnd = mine ? (s.points.at(-1)?.repos ?? []).filter((p) => p.repo === mine.repo) : [];
      if (mineAtEnd.length) out.set(s.id, { ...s, value: mineAtEnd.reduce((a, p) => a + p.value, 0) });
    }
  }
  return out;
}

async function commitTime(dir: string, commit: string, signal?: AbortSignal): Promise<Date> {
  return new Date(Number(await git(dir, ['show', '-s', '--format=%ct', commit], signal)) * 1000);
}

export async function checkGoals(path: string, insights: InsightDefinition[], opts: CheckOptions = {}): Promise<GoalCheckResult> {
  const started = performance.now();
  const signal = opts.signal;
  const now = opts.now ?? new Date();
  const { top, gitDir } = await repositoryOf(path, signal);
  const head = await commitOf(top, 'HEAD', signal);
  if (!head) throw new InsightsError('NO_COMMITS', `${top}: HEAD names no commit yet; commit something first`);
  const base = await resolveBase(top, head, opts.base, signal);

  const members: Member[] = insights
    .filter((d) => d.kind !== 'languages' && d.kind !== 'external' && hasGoals(d))
    .map((def) => ({
      def,
      specs: toComputeRequest(def, [top]).series.map((spec, query) => ({ spec: spec.capture ? { ...spec, capture: { limit: CHECK_CAPTURE_LIMIT } } : spec, query })),
    }));
  const result: GoalCheckResult = { repo: '', path: top, base, head: { commit: head }, series: [], skipped: [], failed: false, elapsedMs: 0 };
  const externals = insights.filter((d) => d.kind === 'external' && d.goal);
  if (externals.length > 0) await checkExternalGoals(externals, gitDir, head, base.commit, opts.cacheFile, now, result);
  if (members.length === 0) return { ...result, failed: result.series.some((s) => s.verdict === 'broken'), elapsedMs: Math.round(performance.now() - started) };

  const excluded = new Set<string>();
  const headValues = await valuesAt(members, top, head, await commitTime(top, head, signal), opts, excluded);
  const baseValues = base.commit === head ? undefined : await valuesAt(members, top, base.commit, await commitTime(top, base.commit, signal), opts);
  // Burn-down lines start at a date: the value then, on the base's first-parent history.
  const startValues = new Map<string, Map<string, Valued>>();
  for (const m of members) {
    for (const { query } of m.specs) {
      const start = (m.def.queries?.[query]?.goal?.target ?? m.def.goal?.target)?.start;
      if (!start || startValues.has(start)) continue;
      startValues.set(start, await valuesAt(members, top, base.commit, new Date(start), opts));
    }
  }

  for (const m of members) {
    if (excluded.has(m.def.id)) {
      result.skipped.push({ insightId: m.def.id, reason: 'its "repos" filter leaves this repository out' });
      continue;
    }
    for (const { spec, query } of m.specs) {
      // A capture query's series are its captured values; a command's, its plain number and the names in its JSON output.
      const computed = [...headValues.values(), ...(baseValues?.values() ?? [])];
      const named = [...computed.filter((s) => s.capture !== undefined && s.id === seriesId(spec, s.capture)).map((s) => s.capture!), ...Object.keys(m.def.captureGoals ?? {})];
      const captures: (string | undefined)[] = spec.capture
        ? [...new Set(named)]
        : spec.command
          ? [...(named.length === 0 || computed.some((s) => s.id === seriesId(spec)) ? [undefined] : []), ...new Set(named)]
          : [undefined];
      for (const capture of captures) {
        const goal = goalOf(m.def, query, capture);
        if (!goal) continue;
        const id = capture !== undefined ? seriesId(spec, capture) : seriesId(spec);
        const target = goal.target?.start ? startValues.get(goal.target.start)?.get(id) : undefined;
        const values = {
          head: headValues.get(id)?.value ?? 0,
          ...(baseValues ? { base: baseValues.get(id)?.value ?? 0 } : {}),
          ...(target ? { start: target.value } : {}),
        };
        const e = evaluateGoal(goal, values, now);
        const check: GoalSeriesCheck = {
          insightId: m.def.id,
          insightTitle: m.def.title,
          seriesId: id,
          label: capture !== undefined ? `${spec.label}: ${capture}` : spec.label,
          ...(capture !== undefined ? { capture } : {}),
          goal,
          ...values,
          verdict: e.verdict,
          reasons: e.reasons,
        };
        // A command's value comes from no line of a file: no drill-down names what moved it.
        if (e.verdict === 'broken' && base.commit !== head && !spec.command) Object.assign(check, await culprits(gitDir, top, spec, capture, id, base.commit, head, e.tooHigh, signal));
        result.series.push(check);
      }
    }
  }
  const repo = (await runGitRaw(undefined, ['config', '--get', 'remote.origin.url'], { cwd: top })).stdout.toString().trim();
  return {
    ...result,
    repo: repo || top,
    failed: result.series.some((s) => s.verdict === 'broken'),
    elapsedMs: Math.round(performance.now() - started),
  };
}

/**
 * Goals of external insights (values CI recorded with `code-insights record`): judged on the
 * value recorded for HEAD's commit in this repository, against the one recorded for the base's
 * commit when there is one. No value for HEAD: the goal is skipped, saying how to record one.
 */
async function checkExternalGoals(
  defs: InsightDefinition[],
  gitDir: string,
  head: string,
  base: string,
  cacheFile: string | null | undefined,
  now: Date,
  result: GoalCheckResult,
): Promise<void> {
  const repo = (await originIdentity(gitDir)) ?? (await rootIdentity(gitDir, head));
  let values: ExternalValue[] = [];
  if (cacheFile !== null) {
    const { cache } = await InsightsCache.open(cacheFile ?? defaultCacheFile());
    try {
      values = externalValues(cache.db, defs.map((d) => externalSeriesId(d))).filter((v) => v.repo === repo);
    } finally {
      cache.close();
    }
  }
  for (const def of defs) {
    const id = externalSeriesId(def);
    const at = (commit: string) => values.filter((v) => v.series === id && v.commit === commit).reduce<number | undefined>((a, v) => (a === undefined || v.value > a ? v.value : a), undefined);
    const headValue = at(head);
    if (headValue === undefined) {
      result.skipped.push({ insightId: def.id, reason: `no value recorded for HEAD (${head.slice(0, 12)}): run \`code-insights record --series ${def.id} --value N\` before the check` });
      continue;
    }
    const baseValue = base === head ? undefined : at(base);
    const e = evaluateGoal(def.goal!, { head: headValue, ...(baseValue !== undefined ? { base: baseValue } : {}) }, now);
    result.series.push({
      insightId: def.id,
      insightTitle: def.title,
      seriesId: id,
      label: def.unit ? `${def.title} (${def.unit})` : def.title,
      goal: def.goal!,
      ...(baseValue !== undefined ? { base: baseValue } : {}),
      head: headValue,
      verdict: e.verdict,
      reasons: e.reasons,
    });
  }
}

/** The lines (value too high) or files (too low) that moved the series the wrong way between base and head. */
async function culprits(
  gitDir: string,
  top: string,
  spec: SeriesSpec,
  capture: string | undefined,
  id: string,
  base: string,
  head: string,
  tooHigh: boolean,
  signal?: AbortSignal,
): Promise<{ culprits: GoalCulprit[]; truncated?: true }> {
  // Only files that differ can have moved the value: the drill-down counts those alone.
  const changed = (await runGitRaw(gitDir, ['diff-tree', '-r', '-z', '--no-renames', '--name-only', base, head], { signal })).stdout.toString('utf8').split('\0').filter(Boolean);
  const d = await drillDown({ repoPath: top, repo: top, seriesId: id, spec, capture, commit: head, previousCommit: base, paths: new Set(changed), maxCommits: 1 }, signal);
  const moved = d.changes.filter((c) => (tooHigh ? c.after > c.before : c.after < c.before));
  const max = GOAL_CHECK_LIMITS.culprits;
  const out: GoalCulprit[] = [];
  if (!tooHigh) {
    for (const c of moved) out.push({ path: c.path, delta: c.after - c.before });
  } else {
    const counter = new LineCounter(spec, capture);
    try {
      for (const c of moved) {
        if (out.length >= max) break;
        const lines = await addedMatches(gitDir, base, head, c.path, counter, GOAL_CHECK_LIMITS.lineText, signal);
        // A file whose count rose with no added matching line (a size limit, a path filter, a
        // file that turned text) is named without a line.
        if (lines.length === 0) out.push({ path: c.path, delta: c.after - c.before });
        for (const l of lines) out.push({ path: c.path, line: l.line, delta: l.count, text: l.text });
      }
    } finally {
      counter.close();
    }
  }
  const truncated = out.length > max || d.truncated === true;
  return { culprits: out.slice(0, max), ...(truncated ? { truncated: true as const } : {}) };
}

/**
 * The goals of an insight's computed series, judged at their latest point (a dashboard card):
 * thresholds and targets; a ratchet needs a base, which only a check has.
 */
export function goalStates(def: InsightDefinition, series: SeriesResult[], now = new Date()): SeriesGoalState[] {
  if (!hasGoals(def)) return [];
  const specs = toSeriesSpecs(def);
  const out: SeriesGoalState[] = [];
  for (const s of series) {
    const query = specs.findIndex((sp) => (s.capture !== undefined ? seriesId(sp, s.capture) : seriesId(sp)) === s.id);
    // An external insight is one series: its goal is the insight's.
    const goal = def.kind === 'external' ? def.goal : query >= 0 ? goalOf(def, query, s.capture) : undefined;
    const last = s.points.at(-1);
    if (!goal || !last) continue;
    const start = goal.target && (goal.target.start ? s.points.find((p) => p.time >= new Date(goal.target!.start!).toISOString()) : s.points[0]);
    const e = evaluateGoal(goal, { head: last.value, ...(start ? { start: start.value } : {}) }, now);
    out.push({ seriesId: s.id, goal, verdict: e.verdict, reasons: e.reasons });
  }
  return out;
}

