// The org workers' door into the run layer: one org-defined insight over one repository, run as
// the CLI runs it (runInsights, with the worker's cache), returned as the points and definitions
// that the org service's ingest takes: the same conversion the sync client queues (syncableSeries).
import type { InsightDefinition, RunStats } from '../../protocol/insights';
import type { OrgPoint, SeriesDefinition } from '../../protocol/org';
import { toComputeRequest, toSeriesSpecs } from '../engine/definitions';
import { syncableSeries } from '../sync/fromResults';
import { runInsights } from './runInsights';

export interface IngestBatch {
  points: OrgPoint[];
  definitions: SeriesDefinition[];
  /** The engine's figures of this run (blobs read or from the cache, commits sampled, time). */
  stats: RunStats;
}

/** Throws the repository's or a series' error: a worker fails the job with it. */
export async function runForIngest(def: InsightDefinition, gitDir: string, opts: { cacheFile: string | null; signal?: AbortSignal }): Promise<IngestBatch> {
  // Org-defined insights are refused a command when created (DEF_KIND_NOT_SUPPORTED); a worker
  // never runs one whatever reaches it: the repositories are the org's, the definition not the user's.
  if (def.kind === 'command') throw new Error(`insight "${def.id}": command insights never run in the org's workers`);
  const res = await runInsights(toComputeRequest(def, [gitDir]), { cacheFile: opts.cacheFile, queueForSync: false, concurrency: 1, signal: opts.signal });
  const failed = res.repos.find((r) => r.error);
  if (failed) throw new Error(failed.error);
  const seriesError = res.series.find((s) => s.error);
  if (seriesError) throw new Error(`${seriesError.label}: ${seriesError.error}`);
  const batch: IngestBatch = { points: [], definitions: [], stats: res.stats };
  for (const s of syncableSeries(res.series, toSeriesSpecs(def))) {
    batch.definitions.push(s.definition);
    batch.points.push(...s.points);
  }
  return batch;
}
