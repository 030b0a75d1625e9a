// The sync outbox: points waiting to go to the org service, kept in the local sql.js cache so
// nothing is lost between runs, crashes or offline days. Points leave it only after a 2xx.
//
// Only what protocol/org.ts allows is ever stored here (each point and definition goes through
// the same validator the service applies), so nothing but ids, times and numbers can leave.
//
// Each change is also recorded (recordWrite) as the same call on another database: when another
// process saved the cache file meanwhile, the save replays it there, deciding again against what
// that file holds (a point another process acknowledged stays acknowledged; one it queued stays
// queued; the newer commit wins).
import type { Database } from 'sql.js';
import { validateOrgPoint, validateSeriesDefinition, type OrgPoint, type SeriesDefinition } from '../../protocol/org';
import { recordWrite } from '../store/writeJournal';

export function ensureOutbox(db: Database): void {
  db.run(`
    CREATE TABLE IF NOT EXISTS sync_outbox (
      series TEXT NOT NULL, repo TEXT NOT NULL, time TEXT NOT NULL,
      commit_sha TEXT NOT NULL, commit_time TEXT NOT NULL, value INTEGER NOT NULL,
      state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'failed')),
      error TEXT,
      PRIMARY KEY (series, repo, time)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS sync_definitions (id TEXT PRIMARY KEY, json TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS sync_acked (
      series TEXT NOT NULL, repo TEXT NOT NULL, time TEXT NOT NULL,
      commit_sha TEXT NOT NULL, commit_time TEXT NOT NULL, value INTEGER NOT NULL,
      PRIMARY KEY (series, repo, time)
    ) WITHOUT ROWID;
    -- Per series, a digest of the last set of points queueForSync went through.
    CREATE TABLE IF NOT EXISTS sync_seen (series TEXT PRIMARY KEY, digest TEXT NOT NULL) WITHOUT ROWID;
  `);
}

export interface EnqueueResult {
  /** Points added to or refreshed in the outbox. */
  queued: number;
  /** Points the org service already acknowledged with the same commit and value. */
  alreadySent: number;
  /** Points older than one already queued or acknowledged for the same key. */
  superseded: number;
}

/** Newer wins, as on the service: commit time, then commit id, then value. */
function newer(a: { commitTime: string; commit: string; value: number }, b: { commitTime: string; commit: string; value: number }): boolean {
  const ta = Date.parse(a.commitTime);
  const tb = Date.parse(b.commitTime);
  if (ta !== tb) return ta > tb;
  if (a.commit !== b.commit) return a.commit > b.commit;
  return a.value > b.value;
}

/**
 * Queues bucket-boundary points (never the live point at `end`) with the definitions of their
 * series. Throws on a point or definition the service would reject, before storing anything.
 */
export function enqueuePoints(db: Database, points: OrgPoint[], definitions: SeriesDefinition[]): EnqueueResult {
  ensureOutbox(db);
  const defs = definitions.map((d, i) => validateSeriesDefinition(d, `definitions[${i}]`));
  const byId = new Map(defs.map((d) => [d.id, d]));
  const known = db.prepare('SELECT json FROM sync_definitions WHERE id = ?');
  // Definitions this database already had for the points: a replay elsewhere passes them along.
  const stored: SeriesDefinition[] = [];
  const pts = points.map((p, i) => {
    if (!byId.has(p.series)) {
      known.bind([p.series]);
      const has = known.step();
      if (has) {
        const d = JSON.parse(String(known.get()[0])) as SeriesDefinition;
        stored.push(d);
        byId.set(d.id, d);
      }
      known.reset();
      if (!has) {
        known.free();
        throw new Error(`points[${i}].series ${String(p.series)} has no definition: pass it in definitions`);
      }
    }
    // A value is checked against its series: a count, or a decimal with the series' decimals.
    return validateOrgPoint(p, `points[${i}]`, byId.get(p.series)!.decimals);
  });
  known.free();

  const res: EnqueueResult = { queued: 0, alreadySent: 0, superseded: 0 };
  const getQueued = db.prepare('SELECT commit_sha, commit_time, value FROM sync_outbox WHERE series = ? AND repo = ? AND time = ?');
  const getAcked = db.prepare('SELECT commit_sha, commit_time, value FROM sync_acked WHERE series = ? AND repo = ? AND time = ?');
  const put = db.prepare(
    `INSERT OR REPLACE INTO sync_outbox (series, repo, time, commit_sha, commit_time, value, state, error) VALUES (?, ?, ?, ?, ?, ?, 'pending', NULL)`,
  );
  const putDef = db.prepare('INSERT OR REPLACE INTO sync_definitions (id, json) VALUES (?, ?)');
  const row = (s: ReturnType<Database['prepare']>, p: OrgPoint) => {
    s.bind([p.series, p.repo, p.time]);
    const r = s.step() ? s.get() : undefined;
    s.reset();
    return r ? { commit: String(r[0]), commitTime: String(r[1]), value: Number(r[2]) } : undefined;
  };
  db.run('SAVEPOINT enqueue');
  try {
    for (const d of defs) putDef.run([d.id, JSON.stringify(d)]);
    for (const p of pts) {
      const acked = row(getAcked, p);
      if (acked && acked.commit === p.commit && acked.value === p.value && acked.commitTime === p.commitTime) {
        res.alreadySent++;
        continue;
      }
      if (acked && newer(acked, p)) {
        res.superseded++;
        continue;
      }
      const queued = row(getQueued, p);
      if (queued && newer(queued, p)) {
        res.superseded++;
        continue;
      }
      put.run([p.series, p.repo, p.time, p.commit, p.commitTime, p.value]);
      res.queued++;
    }
    db.run('RELEASE enqueue');
    recordWrite(db, (other) => enqueuePoints(other, pts, [...defs, ...stored]));
  } catch (e) {
    db.run('ROLLBACK TO enqueue');
    db.run('RELEASE enqueue');
    throw e;
  } finally {
    getQueued.free();
    getAcked.free();
    put.free();
    putDef.free();
  }
  return res;
}

export interface OutboxCounts {
  pending: number;
  failed: number;
}

export function outboxCounts(db: Database): OutboxCounts {
  ensureOutbox(db);
  const r = db.exec(`SELECT coalesce(sum(state = 'pending'), 0), coalesce(sum(state = 'failed'), 0) FROM sync_outbox`);
  return { pending: Number(r[0].values[0][0]), failed: Number(r[0].values[0][1]) };
}

/** The reasons points were marked failed (a 4xx answer), most common first. */
export function outboxFailures(db: Database): { error: string; points: number }[] {
  ensureOutbox(db);
  const r = db.exec(`SELECT error, count(*) FROM sync_outbox WHERE state = 'failed' GROUP BY error ORDER BY 2 DESC`);
  return (r[0]?.values ?? []).map((v) => ({ error: String(v[0]), points: Number(v[1]) }));
}

/** Puts failed points back in line (after the cause was fixed). */
export function retryFailed(db: Database): number {
  ensureOutbox(db);
  const failed = (db.exec(`SELECT series, repo, time, commit_sha FROM sync_outbox WHERE state = 'failed'`)[0]?.values ?? []).map((v) => v.map(String));
  db.run(`UPDATE sync_outbox SET state = 'pending', error = NULL WHERE state = 'failed'`);
  const n = db.getRowsModified();
  if (failed.length > 0) {
    // Elsewhere, exactly these points go back in line (not points another process saw fail since).
    recordWrite(db, (other) => {
      ensureOutbox(other);
      const upd = other.prepare(`UPDATE sync_outbox SET state = 'pending', error = NULL WHERE series = ? AND repo = ? AND time = ? AND commit_sha = ? AND state = 'failed'`);
      try {
        for (const k of failed) upd.run(k);
      } finally {
        upd.free();
      }
    });
  }
  return n;
}

/** The next batch of pending points and the definitions of their series. */
export function nextBatch(db: Database, size: number): { points: OrgPoint[]; definitions: SeriesDefinition[] } {
  const r = db.exec(
    `SELECT series, repo, time, commit_sha, commit_time, value FROM sync_outbox WHERE state = 'pending' ORDER BY series, repo, time LIMIT ?`,
    [size],
  );
  const points: OrgPoint[] = (r[0]?.values ?? []).map((v) => ({
    series: String(v[0]),
    repo: String(v[1]),
    time: String(v[2]),
    commit: String(v[3]),
    commitTime: String(v[4]),
    value: Number(v[5]),
  }));
  const ids = [...new Set(points.map((p) => p.series))];
  const definitions: SeriesDefinition[] = [];
  const get = db.prepare('SELECT json FROM sync_definitions WHERE id = ?');
  for (const id of ids) {
    get.bind([id]);
    if (get.step()) definitions.push(JSON.parse(String(get.get()[0])) as SeriesDefinition);
    get.reset();
  }
  get.free();
  return { points, definitions };
}

/**
 * After a 2xx: the points leave the outbox and are remembered as acknowledged. A newer point
 * queued for the same key meanwhile stays queued; a newer one acknowledged stays the one known.
 */
export function markSent(db: Database, points: OrgPoint[]): void {
  ensureOutbox(db);
  const del = db.prepare('DELETE FROM sync_outbox WHERE series = ? AND repo = ? AND time = ? AND commit_sha = ? AND value = ?');
  const getAcked = db.prepare('SELECT commit_sha, commit_time, value FROM sync_acked WHERE series = ? AND repo = ? AND time = ?');
  const ack = db.prepare('INSERT OR REPLACE INTO sync_acked (series, repo, time, commit_sha, commit_time, value) VALUES (?, ?, ?, ?, ?, ?)');
  db.run('SAVEPOINT sent');
  try {
    for (const p of points) {
      del.run([p.series, p.repo, p.time, p.commit, p.value]);
      getAcked.bind([p.series, p.repo, p.time]);
      const r = getAcked.step() ? getAcked.get() : undefined;
      getAcked.reset();
      if (r && newer({ commit: String(r[0]), commitTime: String(r[1]), value: Number(r[2]) }, p)) continue;
      ack.run([p.series, p.repo, p.time, p.commit, p.commitTime, p.value]);
    }
    db.run('RELEASE sent');
    const sent = points.slice();
    recordWrite(db, (other) => markSent(other, sent));
  } finally {
    del.free();
    getAcked.free();
    ack.free();
  }
}

/**
 * After a 4xx other than 429: the points stay, marked failed with the service's message. Only
 * the very points sent: a newer one queued for the same key meanwhile stays pending.
 */
export function markFailed(db: Database, points: OrgPoint[], error: string): void {
  const upd = db.prepare(`UPDATE sync_outbox SET state = 'failed', error = ? WHERE series = ? AND repo = ? AND time = ? AND commit_sha = ? AND value = ?`);
  db.run('SAVEPOINT failed');
  try {
    for (const p of points) upd.run([error, p.series, p.repo, p.time, p.commit, p.value]);
    db.run('RELEASE failed');
    const failed = points.slice();
    recordWrite(db, (other) => {
      ensureOutbox(other);
      markFailed(other, failed, error);
    });
  } finally {
    upd.free();
  }
}

/** Removes the points the service refused (push --drop-refused): the user gave up on them. */
export function dropFailed(db: Database): number {
  ensureOutbox(db);
  const failed = (db.exec(`SELECT series, repo, time, commit_sha FROM sync_outbox WHERE state = 'failed'`)[0]?.values ?? []).map((v) => v.map(String));
  db.run(`DELETE FROM sync_outbox WHERE state = 'failed'`);
  const n = db.getRowsModified();
  if (failed.length > 0) {
    // Elsewhere, exactly these refused points go (not a point another process queued since).
    recordWrite(db, (other) => {
      ensureOutbox(other);
      const del = other.prepare(`DELETE FROM sync_outbox WHERE series = ? AND repo = ? AND time = ? AND commit_sha = ? AND state = 'failed'`);
      try {
        for (const k of failed) del.run(k);
      } finally {
        del.free();
      }
    });
  }
  return n;
}
