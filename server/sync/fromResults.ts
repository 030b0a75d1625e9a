// Turns the engine's results into what the outbox holds: the definition of each series and its
// bucket-boundary points per repository. Only boundary points are synced: the last point of a
// series is the live value at `end` and is dropped. Capture-group series are not synced: their
// label and id come from captured text, which is matched text and must not leave the machine.
// Structural series are synced with their language (and whether the query is a YAML rule).
// Command series are not: the org's definitions have no command, and a command never leaves the machine.
import type { InsightDefinition, SeriesResult } from '../../protocol/insights';
import { ORG_LIMITS, type OrgPoint, type SeriesDefinition } from '../../protocol/org';
import type { SeriesSpec } from '../engine/api';
import { externalSeriesId, SEMANTICS_VERSION, seriesId } from '../engine/seriesId';

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
    kind: spec.structural ? 'structural' : spec.capture ? 'capture' : 'series',
    literal: spec.literal,
    ignoreCase: spec.ignoreCase,
    count: spec.count,
    include: [...spec.include],
    exclude: [...spec.exclude],
    maxFileSize: spec.maxFileSize,
    semanticsVersion: SEMANTICS_VERSION,
    // The same fields, and only for structural series, as the id hashes (seriesId.ts).
    ...(spec.structural ? { language: spec.structural.language, ...(spec.structural.rule ? { rule: true } : {}) } : {}),
  };
}

/**
 * The org definition of an external insight (values recorded by CI): its key stands where a
 * query would, and its unit and decimals say how to read and store the values.
 */
export function externalSeriesDefinition(def: InsightDefinition): SeriesDefinition {
  return {
    id: externalSeriesId(def),
    label: syncLabel(def.title),
    query: def.id,
    kind: 'external',
    literal: false,
    ignoreCase: false,
    count: 'matches',
    include: [],
    exclude: [],
    maxFileSize: 0,
    semanticsVersion: SEMANTICS_VERSION,
    ...(def.unit !== undefined ? { unit: def.unit } : {}),
    decimals: def.decimals ?? 0,
  };
}

export interface SyncableSeries {
  definition: SeriesDefinition;
  points: OrgPoint[];
}

/**
 * The series of `results` that may be synced, each with its boundary points per repository:
 * the plain series computed from one of `specs` (found by id), without an error.
 */
export function syncableSeries(results: SeriesResult[], specs: SeriesSpec[]): SyncableSeries[] {
  const out: SyncableSeries[] = [];
  for (const s of results) {
    // Capture series are named by captured text, which is matched text: it never leaves the machine.
    if (s.error || s.capture !== undefined) continue;
    // Command series stay local: a command never leaves the machine.
    const spec = specs.find((sp) => !sp.capture && !sp.command && seriesId(sp) === s.id);
    if (!spec) continue;
    const points: OrgPoint[] = [];
    // Every point but the last is a bucket boundary (buckets.ts); the last is the live value at `end`.
    for (const p of s.points.slice(0, -1)) {
      for (const r of p.repos) points.push({ series: s.id, repo: r.repo, time: p.time, commit: r.commit, commitTime: r.commitTime, value: r.value });
    }
    out.push({ definition: seriesDefinition(s.id, spec), points });
  }
  return out;
}
