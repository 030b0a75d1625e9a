// Shared setup of the org tests: the backends to run on (PGlite always; PostgreSQL when
// DATABASE_URL is set, in a uniquely named database per test file, dropped afterwards).
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Client } from 'pg';
import type { OrgPoint, SeriesDefinition } from '../../protocol/org';
import { buildApp } from '../../org/app';
import { openDb, type OrgDb } from '../../org/db';
import { loadMigrations, migrate } from '../../org/migrate';
import { createOrg, createToken } from '../../org/store';

export type BackendName = 'pglite' | 'postgres';

export function backends(): BackendName[] {
  return process.env.DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

export interface TestDb {
  db: OrgDb;
  /** postgres: the URL of the fresh database; pglite: undefined (in memory). */
  url?: string;
  cleanup(): Promise<void>;
}

export async function freshPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = new URL(process.env.DATABASE_URL!);
  const name = `ci_org_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const c = new Client({ connectionString: admin.href });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const url = new URL(admin.href);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    async drop() {
      const d = new Client({ connectionString: admin.href });
      await d.connect();
      await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await d.end();
    },
  };
}

/** A migrated, empty PGlite data folder, made once per migration set and copied per test file:
 *  initdb in WebAssembly takes seconds, a copy a fraction of one. */
export async function pgliteTemplate(): Promise<string> {
  const h = createHash('sha256');
  for (const m of loadMigrations()) h.update(m.sql);
  const dir = join(tmpdir(), `code-insights-org-pglite-${h.digest('hex').slice(0, 12)}`);
  if (existsSync(join(dir, 'PG_VERSION'))) return dir;
  const tmp = `${dir}.${process.pid}`;
  const db = await openDb({ dataDir: tmp });
  await migrate(db);
  await db.close();
  try {
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another test file made it first
  }
  return dir;
}

export async function openTestDb(backend: BackendName): Promise<TestDb> {
  if (backend === 'pglite') {
    const dataDir = mkdtempSync(join(tmpdir(), 'ci-org-pglite-'));
    cpSync(await pgliteTemplate(), dataDir, { recursive: true });
    const db = await openDb({ dataDir });
    await migrate(db);
    return {
      db,
      async cleanup() {
        await db.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const fresh = await freshPostgresDatabase();
  const db = await openDb({ databaseUrl: fresh.url, poolSize: 5 });
  await migrate(db);
  return {
    db,
    url: fresh.url,
    async cleanup() {
      await db.close();
      await fresh.drop();
    },
  };
}

export interface TestOrg {
  id: string;
  name: string;
  read: string;
  write: string;
  /** The fleet's changes (repositories, org-defined insights, retries). */
  admin: string;
}

let orgSeq = 0;
export async function makeOrg(db: OrgDb, name = `org-${process.pid}-${++orgSeq}`): Promise<TestOrg> {
  const org = await createOrg(db, name);
  const read = (await createToken(db, name, 'read')).token;
  const write = (await createToken(db, name, 'write')).token;
  const admin = (await createToken(db, name, 'admin')).token;
  return { id: org.id, name, read, write, admin };
}

export async function startApp(
  db: OrgDb,
  rateLimit = { perSecond: 100_000, burst: 100_000 },
  dashboardBundle?: boolean,
): Promise<{ app: FastifyInstance; base: string; close(): Promise<void> }> {
  const { app } = await buildApp({ db, logger: false, rateLimit, dashboardBundle });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { app, base: `http://127.0.0.1:${port}`, close: () => app.close() };
}

export function definition(over: Partial<SeriesDefinition> = {}): SeriesDefinition {
  return {
    id: 'a1b2c3d4e5f60718',
    label: 'TODO comments',
    query: 'TODO',
    kind: 'series',
    literal: false,
    ignoreCase: false,
    count: 'matches',
    include: ['src/**'],
    exclude: [],
    maxFileSize: 1048576,
    semanticsVersion: 1,
    ...over,
  };
}

export function sha(n: number): string {
  return n.toString(16).padStart(40, '0');
}

export function point(over: Partial<OrgPoint> = {}): OrgPoint {
  return {
    series: 'a1b2c3d4e5f60718',
    repo: 'github.com/acme/api',
    time: '2026-11-02T00:00:00.000Z',
    commit: sha(1),
    commitTime: '2026-11-01T12:00:00.000Z',
    value: 1,
    ...over,
  };
}

export async function post(base: string, token: string | undefined, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(`${base}/api/v1/points`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers };
}

export async function get(base: string, path: string, token?: string): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(`${base}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers };
}
