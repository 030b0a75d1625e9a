// Turns the engine's results into what the outbox holds: the definition of each series and its
// bucket-boundary points per repository. Only boundary points are synced: the last point of a
// series is the live value at `end` and is dropped. Capture-group series are not synced: their
// label and id come from captured text, which is matched text and must not leave the machine.
import type { SeriesResult } from '../../protocol/insights';
import { ORG_LIMITS, type OrgPoint, type SeriesDefinition } from '../../protocol/org';
import type { SeriesSpec } from '../engine/api';
import { SEMANTICS_VERSION } from '../engine/seriesId';

/** The label as the service takes it (it is not part of the id): the query is the default
 *  label, and a query may hold a tab or run to 4,096 characters where a label may not. */
function syncLabel(label: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = label.replace(/[\u0000-\u001f\u007f]/g, ' ').trim() || '(unnamed)';
  if (clean.length <= ORG_LIMITS.maxLabelLength) return clean;
  const cut = clean.slice(0, ORG_LIMITS.maxLabelLength - 1).replace(/[\ud800-\udbff]$/, ''); // never half a pair
  return `${cut}…`;
}

export function seriesDefinition(id: string, spec: SeriesSpec): SeriesDefinition {
  return {
    id,
    label: syncLabel(spec.label),
    query: spec.query,
    kind: spec.capture ? 'capture' : 'series',
    literal: spec.literal,
    ignoreCase: spec.ignoreCase,
    count: spec.count,
    include: [...spec.include],
    exclude: [...spec.exclude],
    maxFileSize: spec.maxFileSize,
    semanticsVersion: SEMANTICS_VERSION,
  };
}

/** `results[i]` was computed from `specs[i]` (as computeInsights returns them for plain series). */
export function orgBatchFromResults(results: SeriesResult[], specs: SeriesSpec[]): { points: OrgPoint[]; definitions: SeriesDefinition[] } {
  const points: OrgPoint[] = [];
  const definitions: SeriesDefinition[] = [];
  results.forEach((r, i) => {
    const spec = specs[i];
    if (!spec || spec.capture || r.capture !== undefined || r.error) return;
    definitions.push(seriesDefinition(r.id, spec));
    for (const p of r.points.slice(0, -1)) {
      for (const rp of p.repos) points.push({ series: r.id, repo: rp.repo, time: p.time, commit: rp.commit, commitTime: rp.commitTime, value: rp.value });
    }
  });
  return { points, definitions };
}
