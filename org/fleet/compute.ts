// The one door from the fleet to the engine: an org-defined insight over one mirror, computed by
// the run layer as the CLI and the editor compute it, as the points and definitions ingest takes.
import type { InsightDefinition } from '../../protocol/insights';
import { runForIngest, type IngestBatch } from '../../server/runs';

export type FleetComputed = IngestBatch;

export function computeOverMirror(def: InsightDefinition, gitDir: string, opts: { cacheFile: string | null; signal?: AbortSignal }): Promise<FleetComputed> {
  return runForIngest(def, gitDir, opts);
}
