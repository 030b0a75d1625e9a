// Records one value of an external series (`code-insights record`): stores it in the local cache
// and queues its point for the org service in the same file, in one save under the cache's lock
// (merged with what other processes saved meanwhile), so concurrent CI steps never lose a value.
// Everything is checked before the cache is opened: on a mistake nothing is written.
import type { InsightDefinition, Step } from '../../protocol/insights';
import { externalValueProblem } from '../../protocol/insights';
import { ceilToStep } from '../engine/buckets';
import { DEFAULTS } from '../engine/definitions';
import { InsightsError } from '../engine/errors';
import { externalSeriesId } from '../engine/seriesId';
import { defaultCacheFile, InsightsCache } from '../store/cache';
import { putExternalValue } from '../store/externalValues';
import { enqueuePoints } from '../sync/outbox';
import { externalSeriesDefinition } from '../sync/fromResults';

export interface RecordRequest {
  def: InsightDefinition;
  repo: string;
  commit: string;
  /** Committer time of `commit`. */
  commitTime: Date;
  /** Whose bucket the value counts in (default: commitTime). */
  time?: Date;
  value: number;
}

export interface RecordResult {
  seriesId: string;
  step: Step;
  /** The bucket boundary the value counts at, ISO. */
  bucket: string;
  /** False when the same commit already had this value or a larger one (kept, as the org service would). */
  stored: boolean;
  /** Whether its point went into the outbox (false: a newer commit already holds the bucket, or it was sent). */
  queued: boolean;
  warning?: string;
}

export async function recordValue(req: RecordRequest, cacheFile?: string): Promise<RecordResult> {
  const { def } = req;
  if (def.kind !== 'external') throw new InsightsError('NOT_EXTERNAL', `insight "${def.id}" is a ${def.kind} insight, computed from the history; record takes an insight with "kind": "external"`);
  const decimals = def.decimals ?? 0;
  const problem = externalValueProblem(req.value, decimals);
  if (problem) throw new InsightsError('BAD_VALUE', `--value ${problem}`);
  const step = def.step ?? DEFAULTS.step;
  const time = req.time ?? req.commitTime;
  const bucket = ceilToStep(time, step).toISOString();
  const seriesId = externalSeriesId(def);
  const definition = externalSeriesDefinition(def);
  const point = { series: seriesId, repo: req.repo, time: bucket, commit: req.commit, commitTime: req.commitTime.toISOString(), value: req.value };

  const { cache, warning } = await InsightsCache.open(cacheFile ?? defaultCacheFile());
  try {
    const stored = putExternalValue(cache.db, { series: seriesId, repo: req.repo, commit: req.commit, commitTime: point.commitTime, time: time.toISOString(), value: req.value });
    const q = enqueuePoints(cache.db, [point], [definition]);
    cache.markDirty();
    cache.save();
    return { seriesId, step, bucket, stored, queued: q.queued > 0, ...(warning ? { warning } : {}) };
  } finally {
    cache.close();
  }
}
