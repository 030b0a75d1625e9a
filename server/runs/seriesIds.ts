// The ids of the org series an insight's points go to (one per plain query; capture series are
// named by matched text and never synced), for the org service: its page marks the charts of an
// org-defined insight whose backfill is not complete.
import type { InsightDefinition } from '../../protocol/insights';
import { toSeriesSpecs } from '../engine/definitions';
import { seriesId } from '../engine/seriesId';

export function syncedSeriesIds(def: InsightDefinition): string[] {
  return toSeriesSpecs(def)
    .filter((sp) => !sp.capture)
    .map((sp) => seriesId(sp));
}
