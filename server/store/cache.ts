// The local cache (sql.js): per-blob results per matcher and per-commit values per series.
// Every row is a fact about content-addressed objects (a blob id, a commit id), so rows are
// valid for every repository and stay valid after an interrupted run. Saved atomically.
//
// Several processes may use one cache file at once (CLI runs, push, the insights server of each
// VS Code window): each loads the whole file and writes it whole. So a save takes the file's
// lock (fileLock.ts), and when another process saved since this one loaded the file, it loads
// that newer file and replays into it the writes this process made (writeJournal.ts), instead of
// overwriting it: no process drops another's rows.
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { InsightsError } from '../engine/errors';
import type { BlobFacts, InsightsStore } from '../engine/store';
import { withFileLock } from './fileLock';
import { forgetWritesOf, journalWritesOf, type Replay } from './writeJournal';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Database, SqlJsStatic, Statement } from 'sql.js';
import initSqlJs from 'sql.js';
import { setFlagsFromString } from 'node:v8';

const APP_ID = 'code-insights-cache';
/**
 * 2: object ids stored as bytes and matcher/series keys as small numbers (the `keys` table),
 * which made a git/git cache with three queries 1.25 MiB instead of 2.93: sql.js reads the whole
 * file on every run and writes it whole after any change, 9 ms instead of 30 for that file.
 */
const SCHEMA_VERSION = '2';
const RESULT_TABLES = `
  CREATE TABLE keys (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);
  CREATE TABLE blobs (oid BLOB PRIMARY KEY, size INTEGER NOT NULL, binary INTEGER NOT NULL, lines INTEGER) WITHOUT ROWID;
  CREATE TABLE blob_counts (matcher INTEGER NOT NULL, oid BLOB NOT NULL, value TEXT NOT NULL, PRIMARY KEY (matcher, oid)) WITHOUT ROWID;
  CREATE TABLE commit_values (unit INTEGER NOT NULL, oid BLOB NOT NULL, value TEXT NOT NULL, PRIMARY KEY (unit, oid)) WITHOUT ROWID;
`;

/** A git object id as the bytes it stands for (20, or 32 for SHA-256). */
const oidBytes = (oid: string): Uint8Array => Buffer.from(oid, 'hex');

let sqlPromise: Promise<SqlJsStatic> | undefined;

function wasmCandidates(file: string): string[] {
  const out = [join(__dirname, file), join(__dirname, '..', 'dist', file), join(__dirname, '..', '..', 'dist', file)];
  try {
    out.push(join(dirname(require.resolve('sql.js')), file));
  } catch {
    /* bundled without node_modules */
  }
  return out;
}

export function loadSqlJs(): Promise<SqlJsStatic> {
  // SQLite's few queries per run do not need optimised wasm; V8's optimising tier-up of the
  // whole module stalled the event loop for up to 0.5 s on a busy 2-core machine (measured
  // with CODE_INSIGHTS_TRACE), so the baseline compiler alone compiles it. (Compiling all of it
  // up front on V8's background threads instead of each function on first call measured the
  // same on a warm rerun: 298 vs 301 ms, median of 21 interleaved; so did starting that compile
  // in the bin before the bundle loads: 338 vs 302 ms.)
  if (!sqlPromise) setFlagsFromString('--liftoff-only');
  sqlPromise ??= initSqlJs({ locateFile: (f: string) => wasmCandidates(f).find((p) => existsSync(p)) ?? f });
  return sqlPromise;
}

/** Renames a cache file out of the way (kept for whoever wants it); its new name. */
function moveAside(file: string, why: string): string {
  const aside = `${file}.${why}-${Date.now()}`;
  try {
    renameSync(file, aside);
  } catch {
    /* leave it; it will be overwritten on save */
  }
  return aside;
}

/**
 * Which file is at `file` now, in which state (device, inode, size, modification time, and the
 * number the save that wrote it put in its header: an inode reused at the same size and time is
 * still another file); undefined when none. The run memo is keyed on it too.
 */
export function fileIdentity(file: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const s = fstatSync(fd, { bigint: true });
    const header = Buffer.alloc(64);
    const n = readSync(fd, header, 0, 64, 0);
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${generationOf(header.subarray(0, n)) ?? ''}`;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Which save wrote a cache file: a random number in SQLite's header (PRAGMA user_version, bytes
 * 60-63), set at every save; part of fileIdentity().
 */
function generationOf(header: Uint8Array): number | undefined {
  return header.length >= 64 ? Buffer.from(header.buffer, header.byteOffset, header.byteLength).readInt32BE(60) : undefined;
}

const newGeneration = () => randomBytes(4).readInt32BE(0) || 1;

/** One write this process made, as it can be made again on the file another process saved. */
type JournalEntry =
  | [0, string, BlobFacts]
  | [1, string, string, string]
  | [2, string, string, string]
  | [3, string, string]
  | [4, Replay];

const owners = new WeakMap<Database, InsightsCache>();

export function defaultCacheFile(): string {
  const base =
    process.env.XDG_CACHE_HOME ||
    (process.platform === 'darwin'
      ? join(homedir(), 'Library', 'Caches')
      : process.platform === 'win32'
        ? process.env.LOCALAPPDATA || join(homedir(), 'AppData', 'Local')
        : join(homedir(), '.cache'));
  return join(base, 'code-insights', 'cache.sqlite');
}

export type { BlobFacts } from '../engine/store';

export class InsightsCache implements InsightsStore {
  private readonly stmts = new Map<string, Statement>();
  private readonly keyIds = new Map<string, number>();
  private dirty = false;
  /**
   * The rows this process writes go into one transaction, committed when the cache is saved:
   * each statement on its own would be a transaction of its own, and sql.js writes its rollback
   * journal and the changed pages to its in-memory file system each time (a first run over
   * git/git's history stored ~8k blobs' counts at ~130 µs a row: 4 of its 5 seconds).
   */
  private inTransaction = false;
  /**
   * The file this cache holds, as fileIdentity() says: taken before it was read, then of the
   * file each save wrote. Another process's save replaces the file and so changes what
   * fileIdentity() says of the path.
   */
  identity: string | undefined;
  /**
   * Whether `db` is the file as loaded or last written plus this process's writes. After a save
   * merged other processes' rows into the file, `db` lacks those: every later save merges too.
   */
  private inSync = true;
  /** This process's writes since it loaded or last saved the file (file-backed caches only). */
  private journal: JournalEntry[] = [];

  private constructor(
    readonly db: Database,
    readonly file: string | undefined,
    private readonly sql: SqlJsStatic,
  ) {
    if (file === undefined) return;
    owners.set(db, this);
    journalWritesOf(db, (replay) => {
      this.journal.push([4, replay]);
      this.dirty = true;
    });
  }

  /** The cache that owns a database opened by open(), if any. */
  static of(db: Database): InsightsCache | undefined {
    return owners.get(db);
  }

  /**
   * Opens (or creates) the cache. A corrupt or foreign file, or one a newer version wrote, is
   * moved aside and a fresh cache takes its place; `warning` says so. An older layout is
   * upgraded in place: its results (facts about objects, recomputable) are dropped, its sync
   * queue and what it remembers of repositories are kept.
   */
  static async open(file: string | undefined): Promise<{ cache: InsightsCache; warning?: string }> {
    const SQL = await loadSqlJs();
    let warning: string | undefined;
    if (file && existsSync(file) && statSync(file).isDirectory()) {
      throw new InsightsError('BAD_CACHE', `the cache path ${file} is a folder; give a file, e.g. ${join(file, 'cache.sqlite')}`);
    }
    const identity = file ? fileIdentity(file) : undefined;
    if (file && existsSync(file)) {
      try {
        const data = readFileSync(file);
        const db = new SQL.Database(data);
        const meta = db.exec(`SELECT value FROM meta WHERE key = 'app'`);
        const ver = db.exec(`SELECT value FROM meta WHERE key = 'schema'`);
        if (meta[0]?.values[0]?.[0] !== APP_ID) throw new Error('not a Code Insights cache');
        const version = String(ver[0]?.values[0]?.[0]);
        if (version === SCHEMA_VERSION) {
          const cache = new InsightsCache(db, file, SQL);
          cache.identity = identity;
          return { cache };
        }
        if (version === '1') {
          db.run(`BEGIN; DROP TABLE IF EXISTS blobs; DROP TABLE IF EXISTS blob_counts; DROP TABLE IF EXISTS commit_values; ${RESULT_TABLES} UPDATE meta SET value = '${SCHEMA_VERSION}' WHERE key = 'schema'; COMMIT;`);
          const cache = new InsightsCache(db, file, SQL);
          cache.dirty = true;
          return { cache, warning: `cache ${file} was written by an earlier version: its results are computed again once; its sync queue is kept` };
        }
        db.close();
        const aside = moveAside(file, 'newer');
        warning = `cache ${file} was written by a newer version of Code Insights (layout ${version}); moved it to ${aside} and starting a new one`;
      } catch (e) {
        const aside = moveAside(file, 'corrupt');
        warning = `cache ${file} is unreadable (${(e as Error).message}); moved it to ${aside} and rebuilding`;
      }
    }
    const db = new SQL.Database();
    db.run(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); ${RESULT_TABLES}`);
    db.run(`INSERT INTO meta VALUES ('app', ?), ('schema', ?)`, [APP_ID, SCHEMA_VERSION]);
    const cache = new InsightsCache(db, file, SQL);
    cache.dirty = true;
    return { cache, warning };
  }

  private stmt(sql: string): Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  /** The number standing for a matcher or series key; undefined when none was stored (unless `create`). */
  private keyId(key: string, create: boolean): number | undefined {
    let id = this.keyIds.get(key);
    if (id !== undefined) return id;
    id = this.getOne('SELECT id FROM keys WHERE key = ?', [key])?.[0] as number | undefined;
    if (id === undefined && create) {
      this.write('INSERT INTO keys (key) VALUES (?)', [key]);
      id = this.getOne('SELECT id FROM keys WHERE key = ?', [key])![0] as number;
    }
    if (id !== undefined) this.keyIds.set(key, id);
    return id;
  }

  private getOne(sql: string, params: (string | number | Uint8Array)[]): unknown[] | undefined {
    const s = this.stmt(sql);
    s.bind(params);
    const row = s.step() ? s.get() : undefined;
    s.reset();
    return row;
  }

  private write(sql: string, params: (string | number | null | Uint8Array)[]): void {
    if (!this.inTransaction) {
      this.db.run('BEGIN');
      this.inTransaction = true;
    }
    const s = this.stmt(sql);
    s.run(params);
    this.dirty = true;
  }

  getBlob(oid: string): BlobFacts | undefined {
    const r = this.getOne('SELECT size, binary, lines FROM blobs WHERE oid = ?', [oidBytes(oid)]);
    if (!r) return undefined;
    return { size: r[0] as number, binary: r[1] === 1, lines: r[2] === null ? undefined : (r[2] as number) };
  }

  putBlob(oid: string, f: BlobFacts): void {
    if (this.file) this.journal.push([0, oid, f]);
    this.write('INSERT OR REPLACE INTO blobs VALUES (?, ?, ?, ?)', [oidBytes(oid), f.size, f.binary ? 1 : 0, f.lines ?? null]);
  }

  getCount(matcher: string, oid: string): string | undefined {
    const m = this.keyId(matcher, false);
    if (m === undefined) return undefined;
    return this.getOne('SELECT value FROM blob_counts WHERE matcher = ? AND oid = ?', [m, oidBytes(oid)])?.[0] as string | undefined;
  }

  putCount(matcher: string, oid: string, value: string): void {
    if (this.file) this.journal.push([1, matcher, oid, value]);
    this.write('INSERT OR REPLACE INTO blob_counts VALUES (?, ?, ?)', [this.keyId(matcher, true)!, oidBytes(oid), value]);
  }

  getCommitValue(unit: string, commit: string): string | undefined {
    const u = this.keyId(unit, false);
    if (u === undefined) return undefined;
    return this.getOne('SELECT value FROM commit_values WHERE unit = ? AND oid = ?', [u, oidBytes(commit)])?.[0] as string | undefined;
  }

  putCommitValue(unit: string, commit: string, value: string): void {
    if (this.file) this.journal.push([2, unit, commit, value]);
    this.write('INSERT OR REPLACE INTO commit_values VALUES (?, ?, ?)', [this.keyId(unit, true)!, oidBytes(commit), value]);
  }

  getMeta(key: string): string | undefined {
    return this.getOne('SELECT value FROM meta WHERE key = ?', [key])?.[0] as string | undefined;
  }

  putMeta(key: string, value: string): void {
    if (this.file) this.journal.push([3, key, value]);
    this.write('INSERT OR REPLACE INTO meta VALUES (?, ?)', [key, value]);
  }

  /** Rows were written through `db` directly (the sync queue): save on the next `save()`. */
  markDirty(): void {
    this.dirty = true;
  }

  /** Ends the transaction the writes opened (save() does this first). */
  private commitWrites(): void {
    if (!this.inTransaction) return;
    this.inTransaction = false;
    this.db.run('COMMIT');
  }

  private freeStatements(): void {
    for (const s of this.stmts.values()) s.free();
    this.stmts.clear();
  }

  /**
   * Writes the cache to a temporary file and renames it over the cache (a reader never sees half
   * a file), holding the cache's lock. When another process saved the file since this one loaded
   * (or last saved) it, this process's writes are replayed into that newer file instead, so the
   * other's rows stay: facts are written again as they are, outbox changes decided again against
   * what the file holds now. Waits while another process saves (saying so after a moment).
   */
  save(): void {
    this.commitWrites();
    if (!this.file || !this.dirty) return;
    this.freeStatements();
    const file = this.file;
    mkdirSync(dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}`;
    const asked = performance.now();
    let got = asked;
    let how = '';
    withFileLock(file, `the cache ${file}`, (held) => {
      got = performance.now();
      const disk = fileIdentity(file);
      const generation = newGeneration();
      const unchanged = disk === undefined || (this.inSync && disk === this.identity);
      let data = unchanged ? undefined : this.mergedInto(readFileSync(file), generation);
      const merged = data !== undefined;
      if (!data) {
        this.db.run(`PRAGMA user_version = ${generation}`);
        data = this.db.export();
      }
      try {
        writeFileSync(tmp, data);
        const identity = fileIdentity(tmp);
        held.check();
        renameSync(tmp, file);
        this.identity = identity;
      } catch (e) {
        try {
          unlinkSync(tmp);
        } catch {
          /* not written */
        }
        throw e;
      }
      this.inSync = !merged;
      how = `${merged ? `merged ${this.journal.length} writes into the file another process saved` : 'written'}, ${data.length} bytes`;
    });
    // CODE_INSIGHTS_TRACE=1: what concurrency costs a save (for profiling, not for users).
    if (process.env.CODE_INSIGHTS_TRACE) {
      process.stderr.write(`[trace] cache save: waited ${(got - asked).toFixed(1)} ms for the lock, held it ${(performance.now() - got).toFixed(1)} ms: ${how}\n`);
    }
    this.journal = [];
    this.dirty = false;
  }

  /**
   * The file another process saved, with this process's writes replayed into it, exported; or
   * undefined when that file is no cache of this layout (then this process's copy replaces it,
   * as open() would have set it aside).
   */
  private mergedInto(bytes: Uint8Array, generation: number): Uint8Array | undefined {
    let db: Database | undefined;
    try {
      db = new this.sql.Database(bytes);
      const app = db.exec(`SELECT value FROM meta WHERE key = 'app'`)[0]?.values[0]?.[0];
      const schema = db.exec(`SELECT value FROM meta WHERE key = 'schema'`)[0]?.values[0]?.[0];
      if (app !== APP_ID || String(schema) !== SCHEMA_VERSION) throw new Error('another layout');
    } catch {
      db?.close();
      return undefined;
    }
    const into = new InsightsCache(db, undefined, this.sql);
    try {
      for (const e of this.journal) {
        if (e[0] === 0) into.putBlob(e[1], e[2]);
        else if (e[0] === 1) into.putCount(e[1], e[2], e[3]);
        else if (e[0] === 2) into.putCommitValue(e[1], e[2], e[3]);
        else if (e[0] === 3) into.putMeta(e[1], e[2]);
        else e[1](db);
      }
      into.commitWrites();
      into.freeStatements();
      db.run(`PRAGMA user_version = ${generation}`);
      return db.export();
    } finally {
      into.close();
    }
  }

  close(): void {
    forgetWritesOf(this.db);
    owners.delete(this.db);
    this.freeStatements();
    this.db.close();
  }
}
