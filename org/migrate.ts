// Versioned migrations: org/migrations/NNN_name.sql, applied in order, all pending ones in one
// transaction at start, each recorded in schema_migrations. An advisory lock makes two service
// processes starting at once take turns instead of racing.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OrgDb } from './db';
import { migrationsDir } from './paths';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function loadMigrations(dir = migrationsDir()): Migration[] {
  const out: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    const m = /^(\d{3})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!m) continue;
    out.push({ version: Number(m[1]), name: m[2], sql: readFileSync(join(dir, file), 'utf8') });
  }
  // Versions are unique and, file by file, increasing. A gap is allowed: a number may be reserved
  // by a change still on its branch (007 while 008 landed), and `migrate` applies whatever is
  // pending, so that migration runs when it arrives; migrations therefore never depend on a
  // version above their own. A duplicate is refused.
  out.forEach((m, i) => {
    if (m.version < 1 || (i > 0 && m.version <= out[i - 1].version)) throw new Error(`migration ${m.version}_${m.name}: versions must be unique (another file has ${m.version})`);
  });
  return out;
}

/** Applies pending migrations; returns the versions applied. */
export async function migrate(db: OrgDb, migrations = loadMigrations()): Promise<number[]> {
  return db.transaction(async (q) => {
    await q.query('SELECT pg_advisory_xact_lock(1129595218, 1)');
    await q.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await q.query<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await q.exec(m.sql);
      await q.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    return applied;
  });
}
