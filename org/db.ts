// One small database interface over the two engines the org service runs on: embedded PGlite
// (the default: one command runs the service anywhere) and a real PostgreSQL through `pg`
// (DATABASE_URL). Everything above this file speaks SQL through `Queryable` and never knows which.
import type { Pool, PoolClient } from 'pg';
import { lockDataDir } from './dataDirLock';

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Several statements, no parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface PoolState {
  total: number;
  idle: number;
  waiting: number;
}

export interface OrgDb extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Runs `fn` in one transaction as the connecting (owner) role: migrations and admin commands. */
  transaction<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  poolState(): PoolState;
  close(): Promise<void>;
}

/** The role every request queries as (created by the first migration; see org/README.md). */
export const APP_ROLE = 'code_insights_app';

/** A transaction that runs as the service role with row-level security scoped to one org
 *  (or to no org at all when `orgId` is null: then no org's rows are visible). */
export async function withOrg<T>(
  db: OrgDb,
  orgId: string | null,
  fn: (q: Queryable) => Promise<T>,
  opts: {
    snapshot?: boolean;
    /** SQL without parameters run right after the settings, in the same round trip (the
     *  caller builds it from numbers it checked, such as the advisory locks of a push). */
    prelude?: string;
  } = {},
): Promise<T> {
  // The org id is a number the database gave out; it is written into the statement below, so
  // check it is one (anything else would be a bug, never input).
  if (orgId !== null && !/^\d{1,19}$/.test(orgId)) throw new Error(`withOrg: not an org id: ${JSON.stringify(orgId).slice(0, 40)}`);
  return db.transaction(async (q) => {
    // One round trip for the transaction's settings (a push is a dozen statements; each round
    // trip costs CPU on both sides). One snapshot for every statement of the transaction
    // (reads that combine two queries). The settings are transaction-local: they end with
    // COMMIT/ROLLBACK, so a pooled connection never carries one request's org into the next.
    // JIT off: the service's statements are short, and PostgreSQL's JIT (cost-triggered, with
    // inlining and optimisation on big batches and filtered reads) spent ~270 ms compiling a
    // filtered read that runs in 35 ms (measured at 100,000 repositories; see org/README.md).
    await q.exec(
      `${opts.snapshot ? 'SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; ' : ''}` +
        `SELECT set_config('app.org_id', '${orgId ?? ''}', true), set_config('jit', 'off', true); SET LOCAL ROLE ${APP_ROLE}` +
        (opts.prelude ? `; ${opts.prelude}` : ''),
    );
    return fn(q);
  });
}

export interface OpenDbOptions {
  /** postgres://… selects PostgreSQL; otherwise PGlite in `dataDir` (undefined: in memory). */
  databaseUrl?: string;
  dataDir?: string;
  /** An already created PGlite instance (tests start from a template data folder). */
  pglite?: import('@electric-sql/pglite').PGlite;
  poolSize?: number;
  /** Called when an idle pooled connection dies (for example PostgreSQL restarted). */
  onPoolError?: (err: Error) => void;
}

export async function openDb(opts: OpenDbOptions): Promise<OrgDb> {
  if (opts.databaseUrl) return openPostgres(opts.databaseUrl, opts.poolSize ?? 10, opts.onPoolError);
  return openPglite(opts.dataDir);
}

async function openPostgres(url: string, max: number, onPoolError?: (err: Error) => void): Promise<OrgDb> {
  const pg = await import('pg');
  const pool: Pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 5_000, idleTimeoutMillis: 30_000 });
  // Without a listener a dead idle connection (server restart) would crash the process.
  pool.on('error', (err) => onPoolError?.(err));
  const wrap = (c: Pool | PoolClient): Queryable => ({
    async query<T>(sql: string, params?: unknown[]) {
      return (await c.query(sql, params as unknown[])).rows as T[];
    },
    async exec(sql: string) {
      await c.query(sql);
    },
  });
  const base = wrap(pool);
  return {
    kind: 'postgres',
    ...base,
    async transaction<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken = false;
      // A checked-out client is not covered by the pool's error listener: if the server ends the
      // connection between two queries (a restart), its 'error' event would crash the process.
      const onError = (err: Error) => {
        broken = true;
        onPoolError?.(err);
      };
      client.on('error', onError);
      // BEGIN goes with the transaction's first statement when that one has no parameters (a
      // simple query may hold several statements; withOrg's settings are one): a round trip
      // saved per transaction, which on a push is a sixth of them.
      let begun = false;
      const inner = wrap(client);
      const q: Queryable = {
        async query<T>(sql: string, params?: unknown[]) {
          if (!begun) {
            begun = true;
            await client.query('BEGIN');
          }
          return inner.query<T>(sql, params);
        },
        async exec(sql: string) {
          if (begun) return inner.exec(sql);
          begun = true;
          await client.query(`BEGIN; ${sql}`);
        },
      };
      try {
        const out = await fn(q);
        if (begun) await client.query('COMMIT');
        return out;
      } catch (e) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true; // the connection is gone; do not hand it back to the pool
        }
        throw e;
      } finally {
        client.removeListener('error', onError);
        client.release(broken);
      }
    },
    poolState: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    close: () => pool.end(),
  };
}

async function openPglite(dataDir?: string): Promise<OrgDb> {
  const { PGlite } = await import('@electric-sql/pglite');
  const release = dataDir ? lockDataDir(dataDir) : () => {};
  let db: import('@electric-sql/pglite').PGlite;
  try {
    db = await PGlite.create(dataDir ? { dataDir } : {});
  } catch (e) {
    release();
    throw e;
  }
  // PGlite is one connection: its transaction() holds an exclusive lock, so transactions queue.
  let active = 0;
  let waiting = 0;
  const wrap = (c: { query: typeof db.query; exec: typeof db.exec }): Queryable => ({
    async query<T>(sql: string, params?: unknown[]) {
      return (await c.query<T>(sql, params as unknown[])).rows;
    },
    async exec(sql: string) {
      await c.exec(sql);
    },
  });
  const base = wrap(db);
  return {
    kind: 'pglite',
    ...base,
    async transaction<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
      waiting++;
      let started = false;
      try {
        return await db.transaction(async (tx) => {
          waiting--;
          started = true;
          active++;
          try {
            return await fn(wrap(tx));
          } finally {
            active--;
          }
        });
      } finally {
        if (!started) waiting--;
      }
    },
    poolState: () => ({ total: 1, idle: active === 0 ? 1 : 0, waiting }),
    close: async () => {
      try {
        await db.close();
      } finally {
        release();
      }
    },
  };
}
