// Decimal values of external series (values CI records: coverage, build time) in a store of
// integers: the service keeps value × 10^decimals in points.value (bigint), so the aggregate,
// the newer-commit-wins order, alerts' sums and every integer reader work unchanged, and reads
// divide again. A computed series has no decimals: its values pass through untouched.
import type { OrgPoint, SeriesDefinition } from '../protocol/org';
import type { Queryable } from './db';
import { OrgError } from './store';

/** The points with the values of external series scaled to stored integers (validated input). */
export function toStoredValues(definitions: SeriesDefinition[], points: OrgPoint[]): OrgPoint[] {
  const scale = new Map<string, number>();
  for (const d of definitions) if (d.decimals !== undefined && d.decimals > 0) scale.set(d.id, 10 ** d.decimals);
  if (scale.size === 0) return points;
  // Math.round: 84.7 × 10 is 846.9999… in binary; validation allowed at most `decimals` digits.
  return points.map((p) => {
    const f = scale.get(p.series);
    return f === undefined ? p : { ...p, value: Math.round(p.value * f) };
  });
}

/** A stored integer read back as the series' value (a sum over repositories too). */
export function fromStored(total: number, decimals: number | null | undefined): number {
  if (!decimals) return total;
  return Number((total / 10 ** decimals).toFixed(decimals));
}

/**
 * Inside the ingest transaction, once the definitions are stored: an external series keeps the
 * unit and decimals it was first stored with (its id hashes them, so an honest client never
 * differs), and a batch that says otherwise is refused before its scaled values could mix.
 */
export async function checkStoredScales(q: Queryable, orgId: string, definitions: SeriesDefinition[]): Promise<void> {
  const external = definitions.filter((d) => d.kind === 'external');
  if (external.length === 0) return;
  const rows = await q.query<{ series_key: string; unit: string | null; decimals: number | null }>(
    'SELECT series_key, unit, decimals FROM series WHERE org_id = $1 AND series_key = ANY($2::text[])',
    [orgId, external.map((d) => d.id)],
  );
  for (const r of rows) {
    const d = external.find((x) => x.id === r.series_key)!;
    if ((r.unit ?? undefined) !== d.unit || Number(r.decimals ?? 0) !== d.decimals) {
      throw new OrgError(
        'SCALE_CONFLICT',
        `definitions: series ${d.id} is stored with unit ${JSON.stringify(r.unit ?? '')} and ${r.decimals ?? 0} decimals; this batch says ${JSON.stringify(d.unit ?? '')} and ${d.decimals}: a series keeps its unit and decimals (change them and it becomes a new series)`,
      );
    }
  }
}
