// Values of external series (coverage, build time… recorded by CI with `code-insights record`),
// kept in the local cache file beside the sync outbox: one row per (series, repository, commit).
// Charts and `check` read them; the bucket a value counts in is decided when it is read (by the
// insight's step), so changing the step of an insight keeps its values.
//
// Writes are recorded (recordWrite) like the outbox's, so a save that finds the file changed by
// another process replays them into that file: two `record` processes never lose a value.
import type { Database } from 'sql.js';
import { recordWrite } from './writeJournal';

export interface ExternalValue {
  /** The series id (server/engine/seriesId.ts, externalSeriesId). */
  series: string;
  repo: string;
  commit: string;
  /** Committer time of `commit`, ISO UTC. */
  commitTime: string;
  /** The time whose bucket the value counts in, ISO UTC (default: commitTime). */
  time: string;
  value: number;
}

export function ensureExternalValues(db: Database): void {
  db.run(`
    CREATE TABLE IF NOT EXISTS external_values (
      series TEXT NOT NULL, repo TEXT NOT NULL, commit_sha TEXT NOT NULL,
      commit_time TEXT NOT NULL, time TEXT NOT NULL, value REAL NOT NULL,
      PRIMARY KEY (series, repo, commit_sha)
    ) WITHOUT ROWID;
  `);
}

/**
 * Stores a value for its commit. A commit recorded again keeps the larger value, the order the
 * org service applies to one commit's points (commit time, commit id, value), so this machine
 * and the service agree. Returns whether the row changed.
 */
export function putExternalValue(db: Database, v: ExternalValue): boolean {
  ensureExternalValues(db);
  const old = db.exec('SELECT value, time FROM external_values WHERE series = ? AND repo = ? AND commit_sha = ?', [v.series, v.repo, v.commit])[0]?.values[0];
  if (old && (Number(old[0]) > v.value || (Number(old[0]) === v.value && String(old[1]) === v.time))) return false;
  db.run('INSERT OR REPLACE INTO external_values (series, repo, commit_sha, commit_time, time, value) VALUES (?, ?, ?, ?, ?, ?)', [
    v.series,
    v.repo,
    v.commit,
    v.commitTime,
    v.time,
    v.value,
  ]);
  const copy = { ...v };
  recordWrite(db, (other) => putExternalValue(other, copy));
  return true;
}

/** Every value of these series (all when `series` is absent). */
export function externalValues(db: Database, series?: string[]): ExternalValue[] {
  let rows;
  try {
    rows = series
      ? db.exec(`SELECT series, repo, commit_sha, commit_time, time, value FROM external_values WHERE series IN (${series.map(() => '?').join(',') || 'NULL'})`, series)
      : db.exec('SELECT series, repo, commit_sha, commit_time, time, value FROM external_values');
  } catch {
    return []; // no table yet: nothing recorded in this cache
  }
  return (rows[0]?.values ?? []).map((r) => ({
    series: String(r[0]),
    repo: String(r[1]),
    commit: String(r[2]),
    commitTime: String(r[3]),
    time: String(r[4]),
    value: Number(r[5]),
  }));
}
