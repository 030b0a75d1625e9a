// Calendar-aligned UTC bucket boundaries, identical on every machine so that points from
// different machines line up in the org service.
import type { Step } from '../../protocol/insights';
import { InsightsError } from './errors';

/** The newest boundary at or before `t`. */
export function floorToStep(t: Date, step: Step): Date {
  const y = t.getUTCFullYear();
  const m = t.getUTCMonth();
  const d = t.getUTCDate();
  switch (step) {
    case 'day':
      return new Date(Date.UTC(y, m, d));
    case 'week': {
      const sinceMonday = (t.getUTCDay() + 6) % 7;
      return new Date(Date.UTC(y, m, d - sinceMonday));
    }
    case 'month':
      return new Date(Date.UTC(y, m, 1));
    case 'quarter':
      return new Date(Date.UTC(y, m - (m % 3), 1));
    case 'year':
      return new Date(Date.UTC(y, 0, 1));
  }
}

/**
 * The oldest boundary at or after `t`: the bucket a commit made at `t` belongs to (the point at
 * boundary B shows the newest commit before B, so a commit counts at the first boundary after it).
 */
export function ceilToStep(t: Date, step: Step): Date {
  const f = floorToStep(t, step);
  return f.getTime() === t.getTime() ? f : stepBack(f, step, -1);
}

/** The boundary `n` steps before boundary `b` (n may be negative). */
export function stepBack(b: Date, step: Step, n: number): Date {
  const y = b.getUTCFullYear();
  const m = b.getUTCMonth();
  const d = b.getUTCDate();
  switch (step) {
    case 'day':
      return new Date(Date.UTC(y, m, d - n));
    case 'week':
      return new Date(Date.UTC(y, m, d - 7 * n));
    case 'month':
      return new Date(Date.UTC(y, m - n, 1));
    case 'quarter':
      return new Date(Date.UTC(y, m - 3 * n, 1));
    case 'year':
      return new Date(Date.UTC(y - n, 0, 1));
  }
}

export interface Bucket {
  time: Date;
  /** True for calendar boundaries (synced to the org service); false for the live `end` point. */
  boundary: boolean;
}

/** The N−1 newest boundaries strictly before `end`, then `end` itself; oldest first. */
export function bucketTimes(step: Step, points: number, end: Date): Bucket[] {
  if (!Number.isInteger(points) || points < 1 || points > 10000) {
    throw new InsightsError('BAD_POINTS', `--points must be a whole number from 1 to 10000 (got ${points})`);
  }
  if (Number.isNaN(end.getTime())) throw new InsightsError('BAD_DATE', 'the end date is not a valid date');
  const newest = floorToStep(new Date(end.getTime() - 1), step);
  const out: Bucket[] = [];
  for (let i = points - 2; i >= 0; i--) out.push({ time: stepBack(newest, step, i), boundary: true });
  out.push({ time: end, boundary: false });
  return out;
}

/** Parses a user's date: ISO 8601 (a date alone means 00:00 UTC) or "now". */
export function parseDate(s: string, what = 'date'): Date {
  if (s === 'now') return new Date();
  const t = /^\d{4}-\d{2}-\d{2}$/.test(s) ? Date.parse(`${s}T00:00:00Z`) : Date.parse(s);
  if (Number.isNaN(t)) throw new InsightsError('BAD_DATE', `${what} "${s}" is not a date; use ISO 8601, e.g. 2026-11-02 or 2026-11-02T12:00:00Z`);
  return new Date(t);
}
