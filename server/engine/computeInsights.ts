// The pipeline: discover repos ► sample commits per bucket ► diff trees between consecutive
// sampled commits ► read each new blob once ► count every query in one pass ► running totals.
// Pure: it reads and writes only through the store it is given, and returns the values.
import { availableParallelism } from 'node:os';
import type { Progress } from '../../protocol/insights';
import type { ComputeRequest, ComputeResult, EngineOptions } from './api';
import { assemble, type RepoOutcome } from './assemble';
import { bucketTimes } from './buckets';
import { slots } from './commandSeries';
import { discoverRepos, type RepoLocation } from './discoverRepos';
import { InsightsError } from './errors';
import { GuardedCounter } from './guardedCount';
import { needlesAreDisjoint } from './grepPrefilter';
import { languages } from './languageTables';
import { processRepo } from './processRepo';
import type { RepoRecord } from './recall';
import { recallRepos, startRepo } from './repoStart';
import type { RunContext } from './runContext';
import { DEFAULT_TUNING, type Tuning } from './tuning';
import { planUnits, type Unit } from './units';


export async function computeInsights(req: ComputeRequest, opts: EngineOptions = {}): Promise<ComputeResult> {
  const started = performance.now();
  const signal = opts.signal;
  const tuning: Tuning = { ...DEFAULT_TUNING, ...opts.tuning };
  const trace = tuning.trace ?? (() => {});
  const { matchers, units } = planUnits(req);
  const repoFilters = (req.repoFilters ?? []).map((r) => {
    try {
      return new RegExp(r);
    } catch (e) {
      throw new InsightsError('BAD_REPO_FILTER', `repository filter "${r}" is not a valid regular expression: ${(e as Error).message}`);
    }
  });
  const buckets = bucketTimes(req.step, req.points, req.end ?? new Date());
  const timesSec = buckets.map((b) => Math.floor(b.time.getTime() / 1000));

  const progress: Progress = { phase: 'discover', reposDone: 0, reposTotal: 0, commitsDone: 0, commitsTotal: 0, blobsDone: 0, blobsTotal: 0 };
  const report = () => opts.onProgress?.({ ...progress });
  report();
  trace('start');
  // Opened, and the language tables loaded, while git answers the discovery; unless a recall
  // may answer this run, which needs no store.
  const openStore = () => {
    const p = opts.openStore!();
    p.catch(() => { /* awaited below */ });
    return p;
  };
  let opening = !opts.openStore || opts.recall ? undefined : openStore();
  if (req.languages && !opts.recall) setImmediate(() => void languages());
  const locations = await discoverRepos(req.paths, { submodules: req.submodules, signal });
  trace('discovered');
  progress.reposTotal = locations.length;
  progress.phase = 'history';
  report();

  // The first repositories' revisions and origins are asked of git while the store opens.
  const concurrency = Math.max(1, opts.concurrency ?? availableParallelism());
  const starts = new Map(locations.slice(0, concurrency).map((loc) => [loc, startRepo(loc, req.rev, signal)] as const));
  const stats = { repos: locations.length, commitsSampled: 0, blobsRead: 0, blobsFromCache: 0, blobsRuledOut: 0, blobsCountedByGit: 0, bytesRead: 0, elapsedMs: 0 };
  if (opts.recall) {
    const recalled = await recallRepos(opts.recall, locations, { starts, rev: req.rev, signal, concurrency: Math.max(concurrency, 4) });
    trace(recalled ? 'answered by the recall (run memo)' : 'the recall (run memo) does not answer');
    if (recalled) {
      const outcomes: RepoOutcome[] = recalled.map((r) => ({
        status: { ...r.status },
        points: r.points.map((p) => (p ? { commit: p.commit, values: p.values.map((v, ui) => units[ui].kind.deserialise(v)) } : undefined)),
      }));
      progress.reposDone = locations.length;
      progress.phase = 'done';
      report();
      return assemble({ units, buckets, guards: [], stats: { ...stats, fromRunMemo: true } }, outcomes, [], started);
    }
    if (opts.openStore) opening = openStore();
  }
  const warnings: string[] = [];
  const { store, warning } = opening ? await opening : { store: undefined, warning: undefined };
  if (warning) warnings.push(warning);
  trace('store open');

  const guards = matchers.map((m) => (m.linear ? undefined : new GuardedCounter(m.spec, tuning.regexBudgetMs)));
  const literalNeedles = [...new Set(matchers.map((m) => m.exactNeedle ?? ''))];
  const exactNeedles =
    !req.languages && matchers.length > 0 && matchers.every((m) => m.exactNeedle && m.linear) && needlesAreDisjoint(literalNeedles) && tuning.gitCounts
      ? literalNeedles
      : undefined;
  const grepNeedles =
    !req.languages && matchers.length > 0 && matchers.every((m) => m.grepNeedles)
      ? { needles: [...new Set(matchers.flatMap((m) => m.grepNeedles!.needles))], ignoreCase: matchers.some((m) => m.grepNeedles!.ignoreCase) }
      : undefined;
  const ctx: RunContext = {
    req, units, matchers, buckets, timesSec, store, stats, progress, report, signal, repoFilters, guards, grepNeedles, exactNeedles, starts, tuning, trace,
    // Commands are the user's programs (a bundler, npm): two at a time at most, fewer on one core.
    commandSlots: slots(Math.min(2, availableParallelism())),
    maxLimit: Math.max(...units.map((u) => u.limit), 0),
    needLines: !!req.languages,
    // Lines per language with no query to count: git counts the lines (git grep -c ''), no blob
    // is piped into Node.
    gitLines: !!req.languages && matchers.length === 0 && tuning.gitCounts,
    // With fewer repos than cores, each repo gets more than one blob reader.
    readersPerRepo: Math.max(1, Math.min(2, Math.floor(availableParallelism() / Math.min(concurrency, Math.max(1, locations.length))))),
  };

  const outcomes: RepoOutcome[] = [];
  const finishRepo = (o: RepoOutcome) => {
    if (o.rev) opts.onRepoDone?.(recordOf(o, units));
    outcomes.push(o);
    progress.reposDone++;
    report();
    if (opts.onPartial && progress.reposDone < locations.length) opts.onPartial(assemble(ctx, outcomes, warnings, started));
  };
  try {
    await eachRepo(locations, concurrency, async (loc) => finishRepo(await processRepo(loc, ctx)));
    trace('repos done');
  } finally {
    for (const g of guards) g?.close();
  }
  progress.phase = 'done';
  report();
  return assemble(ctx, outcomes, warnings, started);
}

/** Runs `work` over the locations, `concurrency` at a time, in order of the list. */
async function eachRepo(locations: RepoLocation[], concurrency: number, work: (loc: RepoLocation) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, locations.length) }, async () => {
      while (next < locations.length) await work(locations[next++]);
    }),
  );
}

/** What a later recall may answer with: the repository's revision, status and values as stored. */
function recordOf(o: RepoOutcome, units: Unit[]): RepoRecord {
  return {
    ...o.rev!,
    status: { ...o.status },
    points: o.points.map((p) => (p ? { commit: p.commit, values: p.values.map((v, ui) => units[ui].kind.serialise(v)) } : null)),
  };
}
