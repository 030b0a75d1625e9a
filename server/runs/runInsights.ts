// The run layer: run memo check ► open the cache ► compute (the engine) ► queue the boundary
// points for sync ► save the cache ► write the run memo. The CLI, the insights server and the
// org workers call this; the engine itself knows no file, outbox or memo.
import type { ComputeRequest, ComputeResult, EngineOptions } from '../engine/api';
import { bucketTimes } from '../engine/buckets';
import { computeInsights } from '../engine/computeInsights';
import type { RepoRecord } from '../engine/recall';
import type { Tuning } from '../engine/tuning';
import { unitKeys } from '../engine/units';
import { defaultCacheFile, InsightsCache } from '../store/cache';
import { queueForSync } from '../sync/queueForSync';
import { findEntry, recallOf, remember, requestKey } from './runMemo';
import { tuningFromEnv } from './tuningFromEnv';

export type { ComputeRequest, ComputeResult } from '../engine/api';

export interface RunOptions extends Pick<EngineOptions, 'signal' | 'onProgress' | 'onPartial' | 'concurrency'> {
  /** sql.js cache file; undefined = the default location; null = no cache. */
  cacheFile?: string | null;
  /** Queue bucket-boundary points in the cache's sync outbox (default true when a cache is used). */
  queueForSync?: boolean;
  /** The engine's knobs; by default from the environment (tuningFromEnv.ts). */
  tuning?: Partial<Tuning>;
}

export async function runInsights(request: ComputeRequest, opts: RunOptions = {}): Promise<ComputeResult> {
  const started = performance.now();
  const tuning = { ...tuningFromEnv(), ...opts.tuning };
  const trace = tuning.trace ?? (() => {});
  // One `end` for the memo's key and the engine's buckets.
  const req = request.end ? request : { ...request, end: new Date() };
  const cacheFile = opts.cacheFile === null ? undefined : (opts.cacheFile ?? defaultCacheFile());
  const memo = cacheFile !== undefined && opts.queueForSync !== false ? memoKeyOf(req) : undefined;
  const entry = memo && findEntry(cacheFile!, memo.key);

  let opening: ReturnType<typeof InsightsCache.open> | undefined;
  const openStore = cacheFile === undefined ? undefined : async () => {
    opening = InsightsCache.open(cacheFile);
    const { cache, warning } = await opening;
    return { store: cache, warning };
  };
  // The engine takes the cache once the repositories are found: from then on what it wrote is
  // saved, even when the run fails or is cancelled (every row is a fact about objects).
  let pastDiscovery = false;
  const records: RepoRecord[] = [];
  const warnings: string[] = [];
  let result: ComputeResult;
  let cache: InsightsCache | undefined;
  try {
    result = await computeInsights(req, {
      signal: opts.signal,
      concurrency: opts.concurrency,
      onPartial: opts.onPartial,
      onProgress: (p) => {
        if (p.phase !== 'discover') pastDiscovery = true;
        opts.onProgress?.(p);
      },
      openStore,
      recall: entry ? recallOf(entry, memo!.lastTime) : undefined,
      onRepoDone: memo ? (r) => records.push(r) : undefined,
      tuning,
    });
    if (result.stats.fromRunMemo) return { ...result, stats: { ...result.stats, elapsedMs: Math.round(performance.now() - started) } };
    cache = opening && (await opening).cache;
    if (cache && opts.queueForSync !== false) {
      try {
        if (queueForSync(cache.db, req.series, result.series, (m) => warnings.push(m))) cache.markDirty();
      } catch (e) {
        warnings.push(`could not queue points for sync: ${(e as Error).message}`);
      }
    }
  } finally {
    cache ??= pastDiscovery && opening ? (await opening.catch(() => undefined))?.cache : undefined;
    try {
      cache?.save();
    } catch (e) {
      warnings.push(`could not save the cache ${cacheFile}: ${(e as Error).message}`);
    }
    cache?.close();
  }
  const memoWorthy =
    memo !== undefined && cache !== undefined && warnings.length === 0 && !result.repos.some((r) => r.repo === '(cache)') &&
    !result.series.some((s) => s.error) && records.length === result.stats.repos && records.every((r) => !r.status.error && !r.status.warning);
  if (memoWorthy) remember(cacheFile!, cache!.identity, memo.key, memo.lastTime, records);
  trace(`saved; node cpu ${JSON.stringify(process.cpuUsage())}`);
  return {
    ...result,
    repos: warnings.length ? [...result.repos, ...warnings.map((w) => ({ repo: '(cache)', path: '', warning: w }))] : result.repos,
    stats: { ...result.stats, elapsedMs: Math.round(performance.now() - started) },
  };
}

/** The run memo's key of this request, and the time of its last point; none when the request is invalid (the engine says why). */
function memoKeyOf(req: ComputeRequest): { key: string; lastTime: number } | undefined {
  let times: number[];
  try {
    times = bucketTimes(req.step, req.points, req.end!).map((b) => Math.floor(b.time.getTime() / 1000));
  } catch {
    return undefined;
  }
  const key = requestKey({ units: unitKeys(req), rev: req.rev, repoFilters: req.repoFilters ?? [], submodules: req.submodules, times });
  return { key, lastTime: times[times.length - 1] };
}
