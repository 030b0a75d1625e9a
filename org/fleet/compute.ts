// The one door from the fleet to the engine: an org-defined insight over one mirror, computed by
// the run layer as the CLI and the editor compute it, as the points and definitions ingest takes.
import type { InsightDefinition } from '../../protocol/insights';
import { runForIngest, type IngestBatch } from '../../server/runs';
import type { MirrorUse } from './mirrors';

export type FleetComputed = IngestBatch;

/** With `engineCache`, the mirror's own cache file: one per repository, so a job opens and saves
 *  only its repository's rows (a worker-wide file grows with every repository computed, and each
 *  job would read and write all of it). */
export function computeOverMirror(def: InsightDefinition, mirror: Pick<MirrorUse, 'gitDir' | 'cacheFile'>, opts: { engineCache: boolean; signal?: AbortSignal }): Promise<FleetComputed> {
  return runForIngest(def, mirror.gitDir, { cacheFile: opts.engineCache ? mirror.cacheFile : null, signal: opts.signal });
}
