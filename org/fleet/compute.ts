// The one door from the fleet to the engine: an org-defined insight over one mirror, computed by
// the same function as the CLI and the editor, turned into the points and definitions that ingest
// takes (the same conversion the sync client uses). The run layer will replace this import.
import type { InsightDefinition } from '../../protocol/insights';
import type { OrgPoint, SeriesDefinition } from '../../protocol/org';
import { computeInsights } from '../../server/engine/computeInsights';
import { toComputeRequest, toSeriesSpecs } from '../../server/engine/definitions';
import { orgBatchFromResults } from '../../server/sync/fromResults';

export interface FleetComputed {
  points: OrgPoint[];
  definitions: SeriesDefinition[];
}

export async function computeOverMirror(def: InsightDefinition, gitDir: string, opts: { cacheFile: string | null; signal?: AbortSignal }): Promise<FleetComputed> {
  const req = toComputeRequest(def, [gitDir]);
  const res = await computeInsights(req, { cacheFile: opts.cacheFile, queueForSync: false, concurrency: 1, signal: opts.signal });
  const failed = res.repos.find((r) => r.error);
  if (failed) throw new Error(failed.error);
  const seriesError = res.series.find((s) => s.error);
  if (seriesError) throw new Error(`${seriesError.label}: ${seriesError.error}`);
  return orgBatchFromResults(res.series, toSeriesSpecs(def));
}
