// Stable series ids: a hash of the canonical definition, so the same definition gives the
// same id on every machine (labels are presentation and do not count).
import { createHash } from 'node:crypto';
import type { SeriesSpec } from './api';

/** Bumped whenever a change to counting would change a number for the same definition. */
export const SEMANTICS_VERSION = 1;

export function canonicalDefinition(spec: SeriesSpec): Record<string, unknown> {
  // A command's value depends on the command and the files it is given, not on its timeout.
  if (spec.command) {
    return { v: SEMANTICS_VERSION, kind: 'command', query: spec.query, inputs: [...spec.command.inputs].sort(), checkout: spec.command.inputs.length === 0 || spec.command.checkout };
  }
  return {
    v: SEMANTICS_VERSION,
    kind: spec.structural ? 'structural' : spec.capture ? 'capture' : 'series',
    // Only structural definitions have a language: every other id stays what it was.
    ...(spec.structural ? { language: spec.structural.language, ...(spec.structural.rule ? { rule: true } : {}) } : {}),
    query: spec.query,
    literal: spec.literal,
    ignoreCase: spec.ignoreCase,
    count: spec.count,
    include: [...spec.include].sort(),
    exclude: [...spec.exclude].sort(),
    maxFileSize: spec.maxFileSize,
  };
}

function hash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);
}

export function seriesId(spec: SeriesSpec, captureValue?: string): string {
  const c = canonicalDefinition(spec);
  return hash(captureValue === undefined ? c : { ...c, capture: captureValue });
}

export function languagesUnitId(maxFileSize: number): string {
  return hash({ v: SEMANTICS_VERSION, kind: 'languages', maxFileSize });
}

/**
 * The id of an external series (values recorded by CI): its key in the definitions file, its
 * unit and its decimals. The unit and decimals are part of it because the org service stores a
 * value as value × 10^decimals: a series whose scale changed is another series.
 */
export function externalSeriesId(def: { id: string; unit?: string; decimals?: number }): string {
  return hash({ v: SEMANTICS_VERSION, kind: 'external', key: def.id, unit: def.unit ?? '', decimals: def.decimals ?? 0 });
}
