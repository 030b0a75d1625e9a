// The data set both org benchmarks generate (bench/org/run.ts over HTTP, profile.ts without):
// three series, 52 weekly buckets, repositories named team<r%100>/service-<r>, values derived
// from the indices so any run can be reproduced and checked.
import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import type { OrgPoint, SeriesDefinition } from '../../protocol/org';

export const BUCKETS = 52;
export const DEFS: SeriesDefinition[] = ['TODO', 'console\\.log\\(', '@deprecated'].map((query, i) => ({
  id: `${'0123456789abcdef'[i]}`.repeat(32),
  label: ['TODO comments', 'console.log calls', 'Deprecated API'][i],
  query,
  kind: 'series',
  literal: false,
  ignoreCase: false,
  count: 'matches',
  include: [],
  exclude: [],
  maxFileSize: 1 << 20,
  semanticsVersion: 1,
}));
const T0 = Date.UTC(2025, 11, 1);
export const TIMES = Array.from({ length: BUCKETS }, (_, b) => new Date(T0 + b * 7 * 86_400_000).toISOString());
export const repoName = (r: number) => `github.com/team${r % 100}/service-${r}`;
export const sha = (n: number) => n.toString(16).padStart(40, '0');

/** Points in key order: repo-major, then series, then bucket, for repositories [repoFrom, repoTo). */
export function* pointsFrom(repoFrom: number, repoTo: number): Generator<OrgPoint> {
  for (let r = repoFrom; r < repoTo; r++) {
    const repo = repoName(r);
    for (let s = 0; s < DEFS.length; s++) {
      for (let b = 0; b < BUCKETS; b++) {
        yield { series: DEFS[s].id, repo, time: TIMES[b], commit: sha(r * 64 + b + 1), commitTime: TIMES[b], value: (r * 7 + s * 13 + b) % 100 };
      }
    }
  }
}

/** CPU seconds a process has used so far (Linux /proc; 0 where it cannot be read). */
export function procCpu(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

/** Drops and creates database `name` on the server of `adminUrl`; its URL and the still-connected admin client. */
export async function freshDatabase(adminUrl: string, name: string): Promise<{ url: string; admin: Client }> {
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return { url: u.href, admin };
}
