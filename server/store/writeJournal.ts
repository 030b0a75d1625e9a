// What a process wrote into its in-memory copy of the cache, kept so that its save can replay
// it into the file another process saved meanwhile (InsightsCache.save merges that way).
//
// The outbox functions take a bare sql.js Database; they record here how to redo each write on
// another database, and the cache that owns the database keeps the record until it saves.
// A database no cache owns (a test's in-memory one, or the copy being merged into) records nothing.
import type { Database } from 'sql.js';

/** Redoes one write on `db`, deciding again against what `db` holds (newer-commit-wins etc.). */
export type Replay = (db: Database) => void;

const sinks = new WeakMap<Database, (replay: Replay) => void>();

export function journalWritesOf(db: Database, sink: (replay: Replay) => void): void {
  sinks.set(db, sink);
}

export function forgetWritesOf(db: Database): void {
  sinks.delete(db);
}

/** Called after a write to `db` succeeded. */
export function recordWrite(db: Database, replay: Replay): void {
  sinks.get(db)?.(replay);
}
