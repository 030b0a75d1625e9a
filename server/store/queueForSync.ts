// After a run, the bucket-boundary points of every series go to the sync outbox in the same
// cache file; `code-insights push` sends them. Only definitions, repo identity, commit ids,
// times and numbers are queued — never file contents, paths or matched text.
import type { Database } from 'sql.js';
import type { SeriesResult } from '../../protocol/insights';
import type { OrgPoint, SeriesDefinition } from '../../protocol/org';
import type { SeriesSpec } from '../engine/api';
import type { Bucket } from '../engine/buckets';
import { seriesId } from '../engine/seriesId';
import { seriesDefinition } from '../sync/fromResults';
import { enqueuePoints } from '../sync/outbox';

/** A predicate: is this point already queued or sent with the same commit and value? */
function alreadyKnown(db: Database): { has: (p: OrgPoint) => boolean; free: () => void } {
  let stmts: ReturnType<Database['prepare']>[];
  try {
    stmts = ['sync_outbox', 'sync_acked'].map((t) => db.prepare(`SELECT 1 FROM ${t} WHERE series = ? AND repo = ? AND time = ? AND commit_sha = ? AND value = ?`));
  } catch {
    return { has: () => false, free: () => {} }; // no outbox yet
  }
  return {
    has: (p) =>
      stmts.some((s) => {
        s.bind([p.series, p.repo, p.time, p.commit, p.value]);
        const hit = s.step();
        s.reset();
        return hit;
      }),
    free: () => stmts.forEach((s) => s.free()),
  };
}

export function queueForSync(db: Database, specs: SeriesSpec[], series: SeriesResult[], buckets: Bucket[]): number {
  const defs: SeriesDefinition[] = [];
  const points: OrgPoint[] = [];
  for (const s of series) {
    // Capture series are named by captured text, which is matched text: it never leaves the machine.
    if (s.error || s.capture !== undefined) continue;
    const spec = specs.find((sp) => !sp.capture && seriesId(sp) === s.id);
    if (!spec) continue;
    defs.push(seriesDefinition(s.id, spec));
    s.points.forEach((p, i) => {
      if (!buckets[i]?.boundary) return;
      for (const r of p.repos) points.push({ series: s.id, repo: r.repo, time: p.time, commit: r.commit, commitTime: r.commitTime, value: r.value });
    });
  }
  // Points already queued or sent unchanged are left alone, so a rerun that computed nothing
  // new writes nothing.
  const known = alreadyKnown(db);
  const fresh = points.filter((p) => !known.has(p));
  known.free();
  if (fresh.length === 0) return 0;
  const used = new Set(fresh.map((p) => p.series));
  return enqueuePoints(db, fresh, defs.filter((d) => used.has(d.id))).queued;
}
