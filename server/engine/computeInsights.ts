// The pipeline: discover repos ► sample commits per bucket ► diff trees between consecutive
// sampled commits ► read each new blob once ► count every query in one pass ► running totals.
import { availableParallelism } from 'node:os';
import type { LanguageCount, LanguagesPoint, Progress, RepoPoint, RepoStatus, SeriesResult } from '../../protocol/insights';
import type { ComputeOptions, ComputeRequest, ComputeResult, SeriesSpec } from './api';
import { bucketTimes, type Bucket } from './buckets';
import { CatFile, type BlobAnswer } from './blobReader';
import { GuardedCounter } from './guardedCount';
import { blobsContaining, countLinesByGit, countLiterals, needlesAreDisjoint, objectsDir } from './grepPrefilter';
import { Matcher, ZERO, type BlobCounts, type CaptureCounts } from './countMatches';
import { countLines, isBinary } from './countLines';
// The language database is large; only runs that count languages load it.
type LanguageModule = typeof import('./detectLanguage');
let languageModule: LanguageModule | undefined;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const languages = (): LanguageModule => (languageModule ??= require('./detectLanguage') as LanguageModule);
import { discoverRepos, type RepoLocation } from './discoverRepos';
import { pathFilter } from './pathFilter';
import { AbortedError, InsightsError, throwIfAborted } from './errors';
import { hasReplacements } from './git';
import { originIdentity, rootIdentity } from './repoIdentity';
import { nextSampleMemo, resolveRev, sampleCommits, sampleFromMemo, type ChainCommit, type Sample, type SampleMemo } from './sampleCommits';
import { languagesUnitId, seriesId } from './seriesId';
import { diffPairs, listTree, type FileChange, type TreeEntry } from './treeChanges';
import { InsightsCache, defaultCacheFile } from '../store/cache';
import { queueForSync } from '../store/queueForSync';
import { answerRepo, findEntry, remember, requestKey, type Entry, type MemoRepo } from './runMemo';

export const DEFAULT_MAX_FILE_SIZE = 1 << 20;
/** Below this many new blobs, reading them costs less than building a tree for git grep. */
const grepPrefilterMinBlobs = () => Number(process.env.CODE_INSIGHTS_GREP_MIN_BLOBS) || 64;

/** CODE_INSIGHTS_TRACE=1 prints phase times to stderr (for profiling, not for users). */
const T0 = performance.now();
const trace = process.env.CODE_INSIGHTS_TRACE
  ? (what: string) => process.stderr.write(`[trace ${(performance.now() - T0).toFixed(0).padStart(6)} ms] ${what}\n`)
  : () => {};
/** Larger blobs cannot become one JavaScript string; they are skipped whatever the limit. */
const HARD_MAX_BLOB = 256 << 20;

type LangValue = Map<string, { lines: number; files: number }>;
type UnitValue = number | CaptureCounts | LangValue;

interface Unit {
  /** Cache key of per-commit values: the series id, or the languages unit id. */
  key: string;
  kind: 'count' | 'capture' | 'languages';
  spec?: SeriesSpec;
  matcher?: number;
  pathOk: (path: string) => boolean;
  /** Bytes; Infinity = no limit. */
  limit: number;
}

interface BlobState {
  size: number;
  binary: boolean;
  lines?: number;
  counts?: (BlobCounts | CaptureCounts)[];
  missing?: boolean;
  /** Not read: larger than every unit's limit. */
  skipped?: boolean;
}

interface RepoOutcome {
  status: RepoStatus;
  /** The revision and origin the results are of (absent when the repository failed early). */
  rev?: { gitDir: string; sha: string; detached: boolean; origin: string | undefined };
  /** Per bucket: the commit and the values of every unit, or undefined when the repo has no commit then. */
  points: ({ commit: ChainCommit; values: UnitValue[] } | undefined)[];
}

/** A cheap string hash (FNV-1a) spreading paths over the git grep processes and blob readers. */
function pathHash(path: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < path.length; i++) h = Math.imul(h ^ path.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function limitOf(bytes: number): number {
  return bytes === 0 ? Infinity : bytes;
}

function zeroOf(u: Unit): UnitValue {
  return u.kind === 'count' ? 0 : new Map();
}

function cloneValue(v: UnitValue): UnitValue {
  if (typeof v === 'number') return v;
  const m = new Map();
  for (const [k, x] of v as Map<string, unknown>) m.set(k, typeof x === 'number' ? x : { ...(x as object) });
  return m;
}

function serialise(v: UnitValue): string {
  if (typeof v === 'number') return String(v);
  return JSON.stringify([...(v as Map<string, unknown>)].map(([k, x]) => (typeof x === 'number' ? [k, x] : [k, (x as { lines: number }).lines, (x as { files: number }).files])));
}

function deserialise(u: Unit, s: string): UnitValue {
  if (u.kind === 'count') return Number(s);
  const rows = JSON.parse(s) as [string, number, number?][];
  if (u.kind === 'capture') return new Map(rows.map((r) => [r[0], r[1]]));
  return new Map(rows.map((r) => [r[0], { lines: r[1], files: r[2] ?? 0 }]));
}

function countsToString(c: BlobCounts | CaptureCounts): string {
  return c instanceof Map ? JSON.stringify([...c]) : `${c.matches},${c.lines},${c.files}`;
}

function countsFromString(s: string, capture: boolean): BlobCounts | CaptureCounts {
  if (capture) return new Map(JSON.parse(s) as [string, number][]);
  const [matches, lines, files] = s.split(',').map(Number);
  return { matches, lines, files };
}

export async function computeInsights(req: ComputeRequest, opts: ComputeOptions = {}): Promise<ComputeResult> {
  const started = performance.now();
  const signal = opts.signal;
  const matchers = req.series.map((s) => new Matcher({ query: s.query, literal: s.literal, ignoreCase: s.ignoreCase, capture: !!s.capture }));
  const units: Unit[] = req.series.map((s, i) => ({
    key: seriesId(s),
    kind: s.capture ? 'capture' : 'count',
    spec: s,
    matcher: i,
    pathOk: pathFilter(s.include, s.exclude),
    limit: limitOf(s.maxFileSize),
  }));
  if (req.languages) {
    const max = req.languagesMaxFileSize ?? DEFAULT_MAX_FILE_SIZE;
    units.push({ key: languagesUnitId(max), kind: 'languages', pathOk: (p) => !languages().isVendored(p) && languages().detectLanguage(p) !== undefined, limit: limitOf(max) });
  }
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
  // Opened, and the language tables loaded, while git answers the discovery; unless the run
  // memo beside the cache may answer this run, which needs no cache (runMemo.ts).
  const cacheFile = opts.cacheFile === null ? undefined : (opts.cacheFile ?? defaultCacheFile());
  const memoKey = cacheFile !== undefined && opts.queueForSync !== false
    ? requestKey({ units: units.map((u) => u.key), rev: req.rev, repoFilters: req.repoFilters ?? [], submodules: req.submodules, times: timesSec })
    : undefined;
  const memoEntry = memoKey !== undefined ? findEntry(cacheFile!, memoKey) : undefined;
  const openCache = () => {
    const p = InsightsCache.open(cacheFile);
    p.catch(() => { /* awaited below */ });
    return p;
  };
  let opening = cacheFile === undefined || memoEntry ? undefined : openCache();
  if (req.languages && !memoEntry) setImmediate(() => void languages());
  const locations = await discoverRepos(req.paths, { submodules: req.submodules, signal });
  trace('discovered');
  progress.reposTotal = locations.length;
  progress.phase = 'history';
  report();

  // The first repositories' revisions and origins are asked of git while the cache opens.
  const concurrency = Math.max(1, opts.concurrency ?? availableParallelism());
  const starts = new Map(locations.slice(0, concurrency).map((loc) => [loc, startRepo(loc, req.rev, signal)] as const));
  const stats = { repos: locations.length, commitsSampled: 0, blobsRead: 0, blobsFromCache: 0, blobsRuledOut: 0, blobsCountedByGit: 0, bytesRead: 0, elapsedMs: 0 };
  if (memoEntry) {
    const remembered = await memoAnswer(memoEntry, locations, { starts, rev: req.rev, signal, concurrency: Math.max(concurrency, 4) }, timesSec[timesSec.length - 1]);
    trace(remembered ? 'answered by the run memo' : 'the run memo does not answer');
    if (remembered) {
      const outcomes: RepoOutcome[] = remembered.map((r) => ({
        status: { ...r.status },
        points: r.points.map((p) => (p ? { commit: p.commit, values: p.values.map((v, ui) => deserialise(units[ui], v)) } : undefined)),
      }));
      progress.reposDone = locations.length;
      progress.phase = 'done';
      report();
      const replay = { units, buckets, guards: [], stats: { ...stats, fromRunMemo: true } } as unknown as RepoContext;
      return assemble(replay, outcomes, [], started);
    }
    opening = openCache();
  }
  const warnings: string[] = [];
  const { cache, warning } = opening ? await opening : { cache: undefined, warning: undefined };
  if (warning) warnings.push(warning);
  trace('cache open');

  const maxLimit = Math.max(...units.map((u) => u.limit), 0);
  const needLines = !!req.languages;
  const outcomes: RepoOutcome[] = [];
  // What the run memo keeps of each repository, taken as it finishes (assemble adds notes later).
  const memoRepos: MemoRepo[] = [];
  const guards = matchers.map((m) => (m.linear ? undefined : new GuardedCounter(m.spec)));
  const literalNeedles = [...new Set(matchers.map((m) => m.exactNeedle ?? ''))];
  const exactNeedles =
    !req.languages && matchers.length > 0 && matchers.every((m) => m.exactNeedle && m.linear) && needlesAreDisjoint(literalNeedles) && process.env.CODE_INSIGHTS_GIT_COUNTS !== '0'
      ? literalNeedles
      : undefined;
  const grepNeedles =
    !req.languages && matchers.length > 0 && matchers.every((m) => m.grepNeedles)
      ? { needles: [...new Set(matchers.flatMap((m) => m.grepNeedles!.needles))], ignoreCase: matchers.some((m) => m.grepNeedles!.ignoreCase) }
      : undefined;
  // Lines per language with no query to count: git counts the lines (git grep -c ''), no blob
  // is piped into Node.
  const gitLines = !!req.languages && matchers.length === 0 && process.env.CODE_INSIGHTS_GIT_COUNTS !== '0';
  // With fewer repos than cores, each repo gets more than one blob reader.
  const readersPerRepo = Math.max(1, Math.min(2, Math.floor(availableParallelism() / Math.min(concurrency, Math.max(1, locations.length)))));
  const ctx: RepoContext = { req, units, matchers, buckets, timesSec, cache, maxLimit, needLines, stats, progress, report, signal, repoFilters, readersPerRepo, guards, grepNeedles, exactNeedles, gitLines, starts };

  let next = 0;
  const finishRepo = (o: RepoOutcome) => {
    if (o.rev) {
      memoRepos.push({
        gitDir: o.rev.gitDir,
        head: o.rev.sha,
        detached: o.rev.detached,
        origin: o.rev.origin ?? null,
        status: { ...o.status },
        points: o.points.map((p) => (p ? { commit: p.commit, values: p.values.map(serialise) } : null)),
      });
    }
    outcomes.push(o);
    progress.reposDone++;
    report();
    if (opts.onPartial && progress.reposDone < locations.length) opts.onPartial(assemble(ctx, outcomes, warnings, started));
  };
  let series: SeriesResult[] | undefined;
  try {
    await Promise.all(
      Array.from({ length: Math.min(concurrency, locations.length) }, async () => {
        while (next < locations.length) {
          const loc = locations[next++];
          finishRepo(await processRepo(loc, ctx));
        }
      }),
    );
    trace('repos done');
    series = assemble(ctx, outcomes, [], started).series;
    if (cache && opts.queueForSync !== false) {
      try {
        if (queueForSync(cache.db, req.series, series, buckets, (m) => warnings.push(m))) cache.markDirty();
      } catch (e) {
        warnings.push(`could not queue points for sync: ${(e as Error).message}`);
      }
    }
  } finally {
    // Every row written is a fact about content-addressed objects, so what finished is kept
    // even when the run was cancelled.
    try {
      cache?.save();
    } catch (e) {
      warnings.push(`could not save the cache ${cacheFile}: ${(e as Error).message}`);
    }
    cache?.close();
    for (const g of guards) g?.close();
  }
  const memoWorthy =
    memoKey !== undefined && cache !== undefined && warnings.length === 0 && !guards.some((g) => g?.failed) &&
    memoRepos.length === locations.length && memoRepos.every((r) => !r.status.error && !r.status.warning);
  if (memoWorthy) remember(cacheFile!, cache.identity, memoKey, timesSec[timesSec.length - 1], memoRepos);
  progress.phase = 'done';
  report();
  trace(`saved; node cpu ${JSON.stringify(process.cpuUsage())}`);
  // Series were assembled once above (the sync queue used them); the statuses carry the
  // warnings that saving may have added since.
  return { ...assemble(ctx, outcomes, warnings, started, false), series: series! };
}

interface RepoContext {
  req: ComputeRequest;
  units: Unit[];
  matchers: Matcher[];
  buckets: Bucket[];
  timesSec: number[];
  cache: InsightsCache | undefined;
  maxLimit: number;
  needLines: boolean;
  /** Languages only: lines are counted by git grep -c '' rather than read into Node. */
  gitLines: boolean;
  stats: ComputeResult['stats'];
  progress: Progress;
  report: () => void;
  signal?: AbortSignal;
  repoFilters: RegExp[];
  readersPerRepo: number;
  /** Per matcher: the budgeted worker for patterns that may backtrack without bound. */
  guards: (GuardedCounter | undefined)[];
  /** Set when every query is literal and no line counts are needed: the git grep prefilter applies. */
  grepNeedles: { needles: string[]; ignoreCase: boolean } | undefined;
  /** Set when every query is one plain ASCII literal and none can overlap another: git grep counts them exactly. */
  exactNeedles: string[] | undefined;
  /** Repositories whose first git calls started before the cache was open. */
  starts: ReadonlyMap<RepoLocation, RepoStart>;
}

/** A repository's first git calls, which need no cache: its revision and origin's URL. */
interface RepoStart {
  head: ReturnType<typeof resolveRev>;
  origin: Promise<string | undefined>;
  /** git replace refs in use: the repository must not share the content-addressed cache. */
  replaced: Promise<boolean>;
}

function startRepo(loc: RepoLocation, rev: string | undefined, signal?: AbortSignal): RepoStart {
  const start = { head: resolveRev(loc.gitDir, rev, signal), origin: originIdentity(loc.gitDir, signal), replaced: hasReplacements(loc.gitDir, signal) };
  start.head.catch(() => { /* awaited in processRepo */ });
  start.origin.catch(() => { /* awaited in processRepo */ });
  start.replaced.catch(() => { /* awaited in processRepo */ });
  return start;
}

/**
 * The run memo's results for these repositories, if it answers every one: each at the revision
 * and origin remembered, asked of git through `starts` a few repositories at a time, stopping at
 * the first that differs. Any failure to ask is a miss; the run then reports it the usual way.
 */
async function memoAnswer(entry: Entry, locations: RepoLocation[], ctx: { starts: Map<RepoLocation, RepoStart>; rev?: string; signal?: AbortSignal; concurrency: number }, lastTime: number): Promise<MemoRepo[] | undefined> {
  if (entry.repos.length !== locations.length) return undefined;
  const out: MemoRepo[] = [];
  try {
    for (let i = 0; i < locations.length; i += ctx.concurrency) {
      const batch = locations.slice(i, i + ctx.concurrency);
      for (const loc of batch) if (!ctx.starts.has(loc)) ctx.starts.set(loc, startRepo(loc, ctx.rev, ctx.signal));
      const now = await Promise.all(
        batch.map(async (loc) => {
          const s = ctx.starts.get(loc)!;
          const [head, origin, replaced] = await Promise.all([s.head, s.origin, s.replaced]);
          if (replaced) return undefined; // never remembered (its runs warn), nor answered if replace refs came since
          return answerRepo(entry, lastTime, { gitDir: loc.gitDir, head: head.sha, detached: head.detached, origin: origin ?? null });
        }),
      );
      if (now.some((r) => !r)) return undefined;
      out.push(...(now as MemoRepo[]));
    }
    return out;
  } catch {
    return undefined;
  }
}

async function processRepo(loc: RepoLocation, shared: RepoContext): Promise<RepoOutcome> {
  const status: RepoStatus = { repo: loc.path, path: loc.path };
  const none = (): RepoOutcome => ({ status, points: shared.buckets.map(() => undefined) });
  try {
    trace('resolving');
    const start = shared.starts.get(loc) ?? startRepo(loc, shared.req.rev, shared.signal);
    const head = await start.head;
    trace('resolved rev');
    // With git replace refs (or grafts), an object id read here is not the content the same id
    // has elsewhere: nothing of this repository goes into or comes from the cache, which is
    // keyed by ids and shared by every repository.
    const replaced = await start.replaced;
    const ctx: RepoContext = replaced ? { ...shared, cache: undefined } : shared;
    // The identity's git calls overlap the rest unless a filter needs it first. Without a filter,
    // the commits' walk (below) also tells whether a root remembered at an older revision is
    // still this chain's.
    const memo = ctx.cache && { get: (g: string) => ctx.cache!.getMeta(`root:${g}`), set: (g: string, v: string) => ctx.cache!.putMeta(`root:${g}`, v) };
    let sampling: Promise<Sample> | undefined;
    const identity = start.origin.then((o) => o ?? rootIdentity(loc.gitDir, head.sha, ctx.signal, memo, () => sampling?.then((s) => s.stoppedAt)));
    identity.catch(() => { /* awaited below */ });
    if (ctx.repoFilters.length) {
      status.repo = await identity;
      trace('identity');
      if (!ctx.repoFilters.some((r) => r.test(status.repo) || r.test(loc.path))) {
        status.warning = 'excluded by the repository filter';
        return none();
      }
    }
    trace(`resolved ${loc.path}`);
    sampling = sampleWithMemo(loc.gitDir, head.sha, ctx);
    const sample = await sampling;
    trace('sampled commits');
    const notes: string[] = [];
    if (replaced) notes.push('git replace refs (refs/replace/) or info/grafts are in use: this repository is read as git shows it with the replacements, without the cache');
    if (head.detached) notes.push(`HEAD is detached at ${head.sha.slice(0, 12)}; sampling its history`);
    if (sample.shallowCut) {
      notes.push(
        `shallow clone: history is cut at ${sample.shallowCut.sha.slice(0, 12)} (${new Date(sample.shallowCut.time * 1000).toISOString()}); earlier points have no value for this repository (run "git fetch --unshallow" for the full history)`,
      );
    }
    const values = await computeRepo(loc, ctx, sample.commits, notes);
    status.repo = await identity;
    trace('identity');
    if (notes.length) status.warning = notes.join('; ');
    const rev = { gitDir: loc.gitDir, sha: head.sha, detached: head.detached, origin: await start.origin };
    return { status, rev, points: sample.commits.map((c) => (c ? { commit: c, values: values.get(c.sha)! } : undefined)) };
  } catch (e) {
    if (e instanceof AbortedError) throw e;
    if (e instanceof InsightsError && e.code === 'GIT_NOT_FOUND') throw e;
    status.error = e instanceof InsightsError ? e.message : `unexpected failure: ${(e as Error).message}`;
    return none();
  }
}

/** The sampled commits, from the cache's memo of this repository's last walk when it covers them. */
async function sampleWithMemo(gitDir: string, headSha: string, ctx: RepoContext): Promise<Sample> {
  const key = `sample:${gitDir}`;
  let memo: SampleMemo | undefined;
  try {
    const text = ctx.cache?.getMeta(key);
    if (text) memo = JSON.parse(text) as SampleMemo;
  } catch {
    memo = undefined; // an unreadable memo is only a missed shortcut
  }
  const known = sampleFromMemo(memo, headSha, ctx.timesSec);
  if (known) return { commits: known };
  // A new revision on top of the remembered one (new commits pulled): only the new commits are
  // walked; the times none of them settles have the commit they had along the old revision.
  let sample = await sampleCommits(gitDir, headSha, ctx.timesSec, ctx.signal, memo && memo.head !== headSha ? memo.head : undefined);
  if (sample.stoppedAt) {
    const rest = sampleFromMemo(memo, sample.stoppedAt, ctx.timesSec);
    if (rest && sample.head) sample = { commits: sample.commits.map((c, i) => c ?? rest[i]), head: sample.head, stoppedAt: sample.stoppedAt };
    else sample = await sampleCommits(gitDir, headSha, ctx.timesSec, ctx.signal);
  }
  const next = nextSampleMemo(memo, headSha, sample, ctx.timesSec);
  if (ctx.cache && next) ctx.cache.putMeta(key, JSON.stringify(next));
  return sample;
}

async function computeRepo(loc: RepoLocation, ctx: RepoContext, sampled: (ChainCommit | undefined)[], notes: string[]): Promise<Map<string, UnitValue[]>> {
  const { units, cache, signal } = ctx;
  // Per repository: repositories run concurrently, and one must never count another's blob
  // before it has been read. Forks share blobs through the cache across runs.
  const blobs = new Map<string, BlobState>();
  // Distinct sampled commits, oldest first; consecutive buckets often share a commit.
  const distinct: ChainCommit[] = [];
  for (const c of sampled) if (c && distinct[distinct.length - 1]?.sha !== c.sha) distinct.push(c);
  ctx.stats.commitsSampled += distinct.length;
  ctx.progress.commitsTotal += distinct.length;

  const values: (UnitValue[] | undefined)[] = distinct.map((c) => {
    if (!cache) return undefined;
    const row: UnitValue[] = [];
    for (const u of units) {
      const s = cache.getCommitValue(u.key, c.sha);
      if (s === undefined) return undefined;
      row.push(deserialise(u, s));
    }
    return row;
  });

  const fullEntries: TreeEntry[] = [];
  const changes: FileChange[][] = distinct.map(() => []);
  const deferred: Promise<void>[] = [];
  // Blob readers: git inflates objects on as many cores as it may use while Node counts.
  const readers: CatFile[] = [];
  let turn = 0;
  let checker: CatFile | undefined;
  let missing = 0;

  const onContent = (a: BlobAnswer) => {
    if (signal?.aborted) return;
    ctx.progress.blobsDone++;
    if (a.size < 0 || !a.content) {
      blobs.set(a.oid, { size: 0, binary: false, missing: true });
      missing++;
      return;
    }
    const buf = a.content;
    ctx.stats.blobsRead++;
    ctx.stats.bytesRead += buf.length;
    const binary = isBinary(buf);
    const st: BlobState = { size: a.size, binary };
    if (ctx.needLines && !binary) st.lines = countLines(buf);
    const deferredCounts: number[] = [];
    if (!binary && ctx.matchers.length) {
      let text: string | undefined;
      let latin1: string | undefined;
      st.counts = ctx.matchers.map((m, i) => {
        const none = m.capture ? new Map() : ZERO;
        if (!m.mayMatch(buf)) return none;
        const fromBytes = m.countBytes(buf);
        if (fromBytes) return fromBytes;
        // A pattern that can match only ASCII counts the same over Latin-1 (countMatches.ts).
        if (m.linear && m.asciiOnly) return m.count((latin1 ??= buf.toString('latin1')));
        text ??= buf.toString('utf8');
        if (m.linear) return m.count(text);
        // Unbounded backtracking is possible: count in the guarded worker, under a time budget.
        deferredCounts.push(i);
        deferred.push(
          ctx.guards[i]!.count(text).then((r) => {
            st.counts![i] = r ?? none;
            if (r && cache) cache.putCount(m.key, a.oid, countsToString(r));
          }),
        );
        return none;
      });
    }
    blobs.set(a.oid, st);
    if (cache) {
      cache.putBlob(a.oid, { size: st.size, binary, lines: st.lines });
      ctx.matchers.forEach((m, i) => {
        if (st.counts && !deferredCounts.includes(i)) cache.putCount(m.key, a.oid, countsToString(st.counts[i]));
      });
    }
    if (ctx.progress.blobsDone % 256 === 0) ctx.report();
  };

  // Each blob goes to the reader of its path, so that every version of a file (one delta chain)
  // is inflated by the same git process and its delta base cache; dealt out in turn, both
  // readers would inflate the same bases.
  const pathOf = new Map<string, string>();
  // A handful of blobs (one new commit) gets one reader: each git start costs more than it saves.
  let readerCap = ctx.readersPerRepo;
  const startReaders = () => {
    while (readers.length < readerCap) readers.push(new CatFile(loc.gitDir, true, signal));
  };
  const readNow = (oid: string) => {
    startReaders();
    ctx.progress.blobsTotal++;
    const path = pathOf.get(oid);
    readers[(path === undefined ? turn++ : pathHash(path)) % readers.length].request(oid, onContent);
  };
  // With only literal queries, blobs wait for `git grep` to say which can match at all.
  const toGrep: string[] = [];
  const toGrepPath: string[] = [];
  const queueForGrep = (oid: string, path: string) => void (toGrep.push(oid), toGrepPath.push(path));
  // Known before the search starts: the temporary repositories borrow this object directory.
  if (ctx.grepNeedles || ctx.gitLines) objectsDir(loc.gitDir, signal).catch(() => { /* the search reports it */ });

  const withSize = (oid: string, size: number, then: (oid: string) => void = readNow) => {
    blobs.get(oid)!.size = size;
    if (size > ctx.maxLimit || size > HARD_MAX_BLOB) {
      blobs.set(oid, { size, binary: false, skipped: true });
      return;
    }
    then(oid);
  };

  /** Asks git for a blob's size; a missing object is recorded as such instead. */
  const askSize = (oid: string, onSize: (size: number) => void) => {
    checker ??= new CatFile(loc.gitDir, false, signal);
    checker.request(oid, (a) => {
      if (a.size >= 0) return onSize(a.size);
      blobs.set(oid, { size: 0, binary: false, missing: true });
      missing++;
    });
  };
  const sizeThenRead = (oid: string) => askSize(oid, (size) => withSize(oid, size, readNow));
  /** The size the tree listing gave (ls-tree -l), else asked of git (a diff does not give sizes). */
  const withKnownSize = (oid: string, onSize: (size: number) => void) => {
    const known = blobs.get(oid)?.size ?? -1;
    if (known >= 0) onSize(known);
    else askSize(oid, onSize);
  };

  /** A blob git counted: its size is still needed, since each series has its own size limit. */
  const countedByGit = (oid: string, counts: BlobCounts[]) => {
    const st: BlobState = { size: blobs.get(oid)?.size ?? -1, binary: false, counts };
    blobs.set(oid, st);
    ctx.stats.blobsCountedByGit++;
    withKnownSize(oid, (size) => {
      st.size = size;
      if (cache) {
        cache.putBlob(oid, { size, binary: false });
        ctx.matchers.forEach((m, i) => cache.putCount(m.key, oid, countsToString(counts[i])));
      }
    });
  };

  /**
   * Lines from git grep -c '' (-I): a blob it did not name is binary, or empty when its size
   * is 0 (a text file always has a line). Its size decides, and applies the size limits.
   */
  const linesFromGit = (oid: string, lines: number | undefined) => {
    ctx.stats.blobsCountedByGit++;
    withKnownSize(oid, (size) => {
      if (size > ctx.maxLimit || size > HARD_MAX_BLOB) {
        blobs.set(oid, { size, binary: false, skipped: true });
        return;
      }
      const binary = lines === undefined && size > 0;
      blobs.set(oid, { size, binary, lines: binary ? undefined : lines ?? 0 });
      if (cache) cache.putBlob(oid, { size, binary, lines: binary ? undefined : lines ?? 0 });
    });
  };

  /** A blob git grep showed to hold none of the needles: every query counts zero in it. */
  const ruleOut = (oid: string) => {
    const st: BlobState = { size: blobs.get(oid)!.size, binary: false, counts: ctx.matchers.map((m) => (m.capture ? new Map() : ZERO)) };
    blobs.set(oid, st);
    ctx.stats.blobsRuledOut++;
    if (cache) {
      cache.putBlob(oid, { size: st.size, binary: false });
      ctx.matchers.forEach((m, i) => cache.putCount(m.key, oid, countsToString(st.counts![i])));
    }
  };

  const fromCache = (oid: string): BlobState | undefined => {
    if (!cache) return undefined;
    const f = cache.getBlob(oid);
    if (!f || (ctx.needLines && !f.binary && f.lines === undefined)) return undefined;
    const st: BlobState = { size: f.size, binary: f.binary, lines: f.lines };
    if (!f.binary && ctx.matchers.length) {
      const counts: (BlobCounts | CaptureCounts)[] = [];
      for (const m of ctx.matchers) {
        const s = cache.getCount(m.key, oid);
        if (s === undefined) return undefined;
        counts.push(countsFromString(s, m.capture));
      }
      st.counts = counts;
    }
    return st;
  };

  const need = (path: string, oid: string, size: number) => {
    if (blobs.has(oid)) return;
    if (!units.some((u) => u.pathOk(path))) return;
    const cached = fromCache(oid);
    if (cached) {
      blobs.set(oid, cached);
      ctx.stats.blobsFromCache++;
      return;
    }
    blobs.set(oid, { size, binary: false }); // placeholder: requested
    if (ctx.readersPerRepo > 1) pathOf.set(oid, path);
    if (ctx.grepNeedles || ctx.gitLines) queueForGrep(oid, path); // sizes are asked after git grep
    else if (size >= 0) withSize(oid, size);
    else sizeThenRead(oid);
  };

  /**
   * Searches one chunk of the blobs waiting for git grep: with plain literals git counts them
   * exactly, else git grep names the blobs that can match and only those are read. A chunk too
   * small to be worth a git process, or one git fails on, is read whole.
   */
  const searchChunk = async (chunk: string[], threads: number): Promise<void> => {
    const worthIt = chunk.length >= grepPrefilterMinBlobs();
    // Progress while git searches: how far through the chunk git has named a blob.
    let shown = 0;
    const searched = (upTo: number) => {
      if (upTo - shown < 256 && upTo < chunk.length) return;
      ctx.progress.blobsDone += upTo - shown;
      shown = upTo;
      ctx.report();
    };
    const settle = () => searched(chunk.length);
    // git failed on this chunk: its share of the progress is taken back before the fallback.
    const unsettle = () => {
      ctx.progress.blobsTotal -= chunk.length;
      ctx.progress.blobsDone -= shown;
      shown = 0;
    };
    if (worthIt && (ctx.gitLines || ctx.exactNeedles)) ctx.progress.blobsTotal += chunk.length;
    const announced = new Set<string>();
    const take = (oid: string) => {
      if (announced.has(oid)) return;
      announced.add(oid);
      if (blobs.get(oid)!.size >= 0) readNow(oid);
      else sizeThenRead(oid);
    };
    let filtered = false;
    if (ctx.gitLines && worthIt) {
      try {
        const lines = await countLinesByGit(loc.gitDir, chunk, signal, threads, searched);
        settle();
        for (const oid of chunk) linesFromGit(oid, lines.get(oid));
        trace(`git counted the lines of ${chunk.length} blobs`);
        return;
      } catch (e) {
        if (e instanceof AbortedError) throw e;
        trace(`git line counting failed, reading every blob: ${(e as Error).message}`);
        unsettle();
      }
    }
    if (ctx.exactNeedles && worthIt) {
      // Plain literals: git counts them exactly; only blobs with a match need their size,
      // asked as git names them.
      const counted = new Set<string>();
      try {
        await countLiterals(loc.gitDir, chunk, ctx.exactNeedles, (oid, c) => {
          counted.add(oid);
          countedByGit(oid, ctx.matchers.map((m) => {
            const x = c[ctx.exactNeedles!.indexOf(m.exactNeedle!)];
            return { matches: x.matches, lines: x.lines, files: x.lines > 0 ? 1 : 0 };
          }));
        }, signal, threads, searched);
        settle();
        for (const oid of chunk) if (!counted.has(oid)) ruleOut(oid);
        trace(`git counted ${chunk.length} blobs, ${counted.size} with matches`);
        return;
      } catch (e) {
        if (e instanceof AbortedError) throw e;
        trace(`git counting failed, falling back: ${(e as Error).message}`);
        // What git counted before it failed stands; the rest is searched or read below.
        unsettle();
        if (counted.size) chunk = chunk.filter((oid) => !counted.has(oid));
      }
    }
    if (worthIt && ctx.grepNeedles) {
      try {
        await blobsContaining(loc.gitDir, chunk, ctx.grepNeedles!.needles, ctx.grepNeedles!.ignoreCase, take, signal, threads);
        filtered = true;
      } catch (e) {
        if (e instanceof AbortedError) throw e;
        trace(`grep prefilter failed, reading every blob: ${(e as Error).message}`);
      }
    }
    trace(`grep prefilter: ${filtered ? `${announced.size} of ${chunk.length}` : 'not used'}`);
    if (!filtered && !worthIt && chunk.length > 0) {
      // Read whole: the reader starts now, while the sizes of blobs a diff named are asked.
      if (readers.length === 0) readerCap = 1;
      startReaders();
    }
    for (const oid of chunk) {
      if (announced.has(oid)) continue;
      if (filtered) ruleOut(oid);
      else take(oid);
    }
  };
  // Once the trees are walked, the blobs waiting for git grep are split by path over one git
  // process per core (git grep inflates objects on one thread per process). By path, so that
  // every version of a file, one delta chain, is inflated by the same process: split any other
  // way, both processes inflate the same delta bases and the second core buys little.
  const searchAll = (): Promise<void> => {
    trace('search start');
    const parts = Math.max(1, Math.min(availableParallelism(), 8, Math.floor(toGrep.length / grepPrefilterMinBlobs())));
    if (parts === 1) return searchChunk(toGrep, availableParallelism());
    const chunks: string[][] = Array.from({ length: parts }, () => []);
    toGrep.forEach((oid, i) => chunks[pathHash(toGrepPath[i]) % parts].push(oid));
    return Promise.all(chunks.map((c) => searchChunk(c, 1))).then(() => undefined);
  };

  try {
    // Tree phase: the first commit to compute is listed whole unless a cached commit precedes
    // it; later ones are diffed against their predecessor. Listing and diffing run at once.
    const pairs: { older: string; newer: string; index: number }[] = [];
    const walks: Promise<void>[] = [];
    for (let i = 0; i < distinct.length; i++) {
      if (values[i]) continue;
      if (i === 0) {
        walks.push(listTree(loc.gitDir, distinct[0].sha, (e) => {
          fullEntries.push(e);
          need(e.path, e.oid, e.size);
        }, signal));
      } else pairs.push({ older: distinct[i - 1].sha, newer: distinct[i].sha, index: i });
    }
    walks.push(diffPairs(loc.gitDir, pairs, (pi, c) => {
      changes[pairs[pi].index].push(c);
      if (c.new) need(c.path, c.new, -1);
      if (c.old) need(c.path, c.old, -1);
    }, signal));
    await Promise.all(walks);
    trace(`trees walked; blobs requested ${ctx.progress.blobsTotal}, done ${ctx.progress.blobsDone}`);
    ctx.progress.phase = 'blobs';
    ctx.report();
    if (toGrep.length) await searchAll();
    if (checker) await checker.finish();
    trace(`sizes checked; blobs requested ${ctx.progress.blobsTotal}, done ${ctx.progress.blobsDone}`);
    await Promise.all(readers.map((r) => r.finish()));
    await Promise.all(deferred);
    trace('blobs read');
  } finally {
    checker?.kill();
    for (const r of readers) r.kill();
  }
  throwIfAborted(signal);
  if (missing > 0) {
    notes.push(`${missing} objects are missing from the repository (a partial clone?); their files count as 0 and these values are not cached`);
  }

  // Count phase: running totals along the sampled commits.
  const contribution = (u: Unit, acc: UnitValue[], ui: number, path: string, oid: string, sign: 1 | -1) => {
    if (!u.pathOk(path)) return;
    const b = blobs.get(oid);
    if (!b || b.missing || b.binary || b.size > u.limit || b.skipped) return;
    if (u.kind === 'count') {
      const c = b.counts![u.matcher!] as BlobCounts;
      const n = c[u.spec!.count];
      if (n) acc[ui] = (acc[ui] as number) + sign * n;
    } else if (u.kind === 'capture') {
      const m = acc[ui] as CaptureCounts;
      for (const [k, n] of b.counts![u.matcher!] as CaptureCounts) {
        const v = (m.get(k) ?? 0) + sign * n;
        if (v === 0) m.delete(k);
        else m.set(k, v);
      }
    } else {
      const lang = languages().detectLanguage(path);
      if (!lang || b.lines === undefined) return;
      const m = acc[ui] as LangValue;
      const cur = m.get(lang) ?? { lines: 0, files: 0 };
      cur.lines += sign * b.lines;
      cur.files += sign;
      if (cur.files === 0) m.delete(lang);
      else m.set(lang, cur);
    }
  };

  const out = new Map<string, UnitValue[]>();
  for (let i = 0; i < distinct.length; i++) {
    let row = values[i];
    if (!row) {
      if (i === 0) {
        row = units.map(zeroOf);
        for (const e of fullEntries) units.forEach((u, ui) => contribution(u, row!, ui, e.path, e.oid, 1));
      } else {
        row = values[i - 1]!.map(cloneValue);
        for (const c of changes[i]) {
          units.forEach((u, ui) => {
            if (c.old) contribution(u, row!, ui, c.path, c.old, -1);
            if (c.new) contribution(u, row!, ui, c.path, c.new, 1);
          });
        }
      }
      values[i] = row;
      if (cache && missing === 0) {
        units.forEach((u, ui) => {
          if (u.matcher === undefined || !ctx.guards[u.matcher]?.failed) cache.putCommitValue(u.key, distinct[i].sha, serialise(row![ui]));
        });
      }
    }
    ctx.progress.commitsDone++;
    out.set(distinct[i].sha, row);
  }
  return out;
}

function assemble(ctx: RepoContext, outcomes: RepoOutcome[], warnings: string[], started: number, withSeries = true): ComputeResult {
  const { units, buckets } = ctx;
  // A point is keyed by (series, repo identity, bucket): where two checkouts of one repository
  // (clones, linked worktrees) both reach a bucket, the one at the newer commit counts, as in
  // the org service; the other is named in its status.
  const sorted = [...outcomes].sort((a, b) => a.status.repo.localeCompare(b.status.repo) || a.status.path.localeCompare(b.status.path));
  const atBucket: RepoOutcome[][] = buckets.map((_, bi) => {
    const best = new Map<string, RepoOutcome>();
    for (const o of sorted) {
      const p = o.points[bi];
      if (!p) continue;
      const cur = best.get(o.status.repo);
      const q = cur?.points[bi];
      if (!q || p.commit.time > q.commit.time || (p.commit.time === q.commit.time && p.commit.sha > q.commit.sha)) best.set(o.status.repo, o);
    }
    return [...best.values()];
  });
  const byIdentity = new Map<string, RepoOutcome[]>();
  for (const o of sorted) if (!o.status.error) byIdentity.set(o.status.repo, [...(byIdentity.get(o.status.repo) ?? []), o]);
  for (const group of byIdentity.values()) {
    if (group.length < 2 || group[0].status.repo === '') continue;
    for (const o of group) {
      const others = group.filter((x) => x !== o).map((x) => x.status.path).join(', ');
      const note = `same repository as ${others}; at each point the checkout at the newer commit counts`;
      o.status.warning = o.status.warning ? `${o.status.warning}; ${note}` : note;
    }
  }
  const series: SeriesResult[] = [];
  let languages: LanguagesPoint[] | undefined;

  units.forEach((u, ui) => {
    if (!withSeries && u.kind !== 'languages') return;
    const failed = u.matcher !== undefined ? ctx.guards[u.matcher]?.failed : undefined;
    if (failed) {
      series.push({ id: u.key, label: u.spec!.label, query: u.spec!.query, points: [], error: failed });
      return;
    }
    const repoPoint = (o: RepoOutcome, bi: number, value: number): RepoPoint => {
      const p = o.points[bi]!;
      return { repo: o.status.repo, commit: p.commit.sha, commitTime: new Date(p.commit.time * 1000).toISOString(), value };
    };
    if (u.kind === 'count') {
      series.push({
        id: u.key,
        label: u.spec!.label,
        query: u.spec!.query,
        points: buckets.map((b, bi) => {
          const repos = atBucket[bi].map((o) => repoPoint(o, bi, o.points[bi]!.values[ui] as number));
          return { time: b.time.toISOString(), value: repos.reduce((s, r) => s + r.value, 0), repos };
        }),
      });
    } else if (u.kind === 'capture') {
      const totals = buckets.map((_, bi) => {
        const m = new Map<string, number>();
        for (const o of atBucket[bi]) for (const [k, n] of o.points[bi]!.values[ui] as CaptureCounts) m.set(k, (m.get(k) ?? 0) + n);
        return m;
      });
      const latest = totals[totals.length - 1];
      const everSeen = new Set<string>();
      for (const m of totals) for (const k of m.keys()) everSeen.add(k);
      const ranked = [...everSeen].sort((a, b) => (latest.get(b) ?? 0) - (latest.get(a) ?? 0) || a.localeCompare(b));
      for (const value of ranked.slice(0, u.spec!.capture!.limit)) {
        series.push({
          id: seriesId(u.spec!, value),
          label: value,
          query: u.spec!.query,
          capture: value,
          points: buckets.map((b, bi) => {
            const repos = atBucket[bi].map((o) => repoPoint(o, bi, (o.points[bi]!.values[ui] as CaptureCounts).get(value) ?? 0));
            return { time: b.time.toISOString(), value: totals[bi].get(value) ?? 0, repos };
          }),
        });
      }
    } else {
      const toList = (m: LangValue): LanguageCount[] =>
        [...m].map(([language, v]) => ({ language, lines: v.lines, files: v.files })).sort((a, b) => b.lines - a.lines || a.language.localeCompare(b.language));
      languages = buckets.map((b, bi) => {
        const total: LangValue = new Map();
        const repos: LanguagesPoint['repos'] = [];
        for (const o of atBucket[bi]) {
          const p = o.points[bi]!;
          const m = p.values[ui] as LangValue;
          for (const [k, v] of m) {
            const t = total.get(k) ?? { lines: 0, files: 0 };
            t.lines += v.lines;
            t.files += v.files;
            total.set(k, t);
          }
          repos.push({ repo: o.status.repo, commit: p.commit.sha, commitTime: new Date(p.commit.time * 1000).toISOString(), languages: toList(m) });
        }
        return { time: b.time.toISOString(), languages: toList(total), repos };
      });
    }
  });

  const repos = [...outcomes].sort((a, b) => a.status.repo.localeCompare(b.status.repo) || a.status.path.localeCompare(b.status.path)).map((o) => o.status);
  if (warnings.length) repos.push(...warnings.map((w) => ({ repo: '(cache)', path: '', warning: w })));
  return { series, languages, repos, stats: { ...ctx.stats, elapsedMs: Math.round(performance.now() - started) } };
}
