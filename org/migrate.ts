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
  out.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${m.version}_${m.name}: expected version ${i + 1} (no gaps, no duplicates)`);
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
