// External series (kind `external`): values CI records with `code-insights record`, read back
// from the local cache as a series like any computed one, on the same buckets: a value counts
// at the first boundary at or after its time (as a commit does), the newest commit of a
// repository wins within a bucket, and a point is the sum over the repositories.
import type { InsightDefinition, SeriesPoint, SeriesResult } from '../../protocol/insights';
import { bucketTimes, ceilToStep } from '../engine/buckets';
import { DEFAULTS } from '../engine/definitions';
import { externalSeriesId } from '../engine/seriesId';
import { externalValues, type ExternalValue } from '../store/externalValues';
import { InsightsCache } from '../store/cache';

/** Newer as everywhere: commit time, then commit id, then value. */
export function newerValue(a: ExternalValue, b: ExternalValue): boolean {
  if (a.commitTime !== b.commitTime) return Date.parse(a.commitTime) > Date.parse(b.commitTime);
  if (a.commit !== b.commit) return a.commit > b.commit;
  return a.value > b.value;
}

/** The series of an external insight over its buckets (step, points, end), from `values`. */
export function externalSeriesResult(def: InsightDefinition, values: ExternalValue[], now = new Date()): SeriesResult {
  const id = externalSeriesId(def);
  const step = def.step ?? DEFAULTS.step;
  const end = def.end ? new Date(def.end) : now;
  const buckets = bucketTimes(step, def.points ?? DEFAULTS.points, end);
  // The live point at `end` holds the values of the bucket that is still open.
  const index = new Map(buckets.map((b, i) => [(b.boundary ? b.time : ceilToStep(end, step)).getTime(), i]));
  const newest = buckets.map(() => new Map<string, ExternalValue>());
  for (const v of values) {
    if (v.series !== id || Date.parse(v.time) > end.getTime()) continue;
    const i = index.get(ceilToStep(new Date(v.time), step).getTime());
    if (i === undefined) continue;
    const prev = newest[i].get(v.repo);
    if (!prev || newerValue(v, prev)) newest[i].set(v.repo, v);
  }
  // A bucket nobody recorded a value in has no point (a gap in the chart), not a zero.
  const points: SeriesPoint[] = [];
  buckets.forEach((b, i) => {
    const repos = [...newest[i].values()].sort((x, y) => (x.repo < y.repo ? -1 : 1));
    if (repos.length === 0) return;
    points.push({
      time: b.time.toISOString(),
      value: roundTo(repos.reduce((a, r) => a + r.value, 0), def.decimals ?? 0),
      repos: repos.map((r) => ({ repo: r.repo, commit: r.commit, commitTime: r.commitTime, value: r.value })),
    });
  });
  return { id, label: def.title, query: def.id, points };
}

/** A sum of decimals without binary noise (0.1 + 0.2 is 0.3 here). */
function roundTo(v: number, decimals: number): number {
  return Number(v.toFixed(decimals));
}

/**
 * The series of these external insights from the cache file (`null`: no cache, so no values).
 * The file is only read.
 */
export async function readExternalSeries(defs: InsightDefinition[], cacheFile: string | undefined, now = new Date()): Promise<SeriesResult[]> {
  if (defs.length === 0) return [];
  let values: ExternalValue[] = [];
  if (cacheFile !== undefined) {
    const { cache } = await InsightsCache.open(cacheFile);
    try {
      values = externalValues(cache.db, defs.map((d) => externalSeriesId(d)));
    } finally {
      cache.close();
    }
  }
  return defs.map((d) => externalSeriesResult(d, values, now));
}
