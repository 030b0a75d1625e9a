// Where a worker keeps the engine cache (`npm run bench:fleet:cache`): one file per worker, which
// every job opens whole and saves whole, against one file per mirror (what org/fleet does). Both
// compute the same org insight over the same K repositories of the generated org (bench/fleet/
// genOrg.ts), in process, through the run layer as a worker does; after a pass that warms the
// page cache, order ABBA so load drift falls on both. Reported: total and per-job time of each, and of the last 100 jobs (where the
// worker-wide file is largest), as ratios.
//   npm run bench:fleet:cache -- [--repos K]
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { InsightDefinition } from '../../protocol/insights';
import { runForIngest } from '../../server/runs';
import { generateOrg } from './genOrg';

const ROOT = resolve(__dirname, '..', '..');

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}

const DEF = { id: 'logs', title: 'logs', queries: [{ query: 'TODO' }, { query: 'console\\.log\\(' }, { query: "from 'lodash'" }], step: 'week', points: 52 } as unknown as InsightDefinition;

async function pass(mode: 'worker' | 'mirror', repos: string[]): Promise<{ ms: number[]; bytes: number }> {
  const dir = mkdtempSync(join(tmpdir(), `ci-bench-cache-${mode}-`));
  const ms: number[] = [];
  let bytes = 0;
  try {
    for (const [i, repo] of repos.entries()) {
      const cacheFile = mode === 'worker' ? join(dir, 'worker.sqlite') : join(dir, `m${i}.sqlite`);
      const t = performance.now();
      await runForIngest(DEF, repo, { cacheFile });
      ms.push(performance.now() - t);
      if (mode === 'mirror') bytes += statSync(cacheFile).size;
    }
    if (mode === 'worker') bytes = statSync(join(dir, 'worker.sqlite')).size;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { ms, bytes };
}

const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const k = Number(arg('repos', '400'));
  const orgDir = resolve(ROOT, '.bench', 'fleet', `org-${Math.max(k, 1000)}`);
  const shapes = generateOrg(orgDir, Math.max(k, 1000)).slice(0, k);
  const repos = shapes.map((s) => join(orgDir, s.name));
  console.log(`${k} repositories of the generated org; load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const runs: Record<'worker' | 'mirror', { ms: number[]; bytes: number }[]> = { worker: [], mirror: [] };
  // A pass first that is not counted: git's objects of every repository in the page cache.
  await pass('mirror', repos);
  for (const mode of ['worker', 'mirror', 'mirror', 'worker'] as const) {
    const r = await pass(mode, repos);
    runs[mode].push(r);
    console.log(`${mode}: ${(sum(r.ms) / 1000).toFixed(1)} s, median job ${median(r.ms).toFixed(0)} ms, last 100 jobs median ${median(r.ms.slice(-100)).toFixed(0)} ms; cache ${(r.bytes / 2 ** 20).toFixed(1)} MiB`);
  }
  const tot = (m: 'worker' | 'mirror') => sum(runs[m].map((r) => sum(r.ms)));
  const last = (m: 'worker' | 'mirror') => sum(runs[m].map((r) => sum(r.ms.slice(-100))));
  console.log(`\nworker-wide file / file per mirror: all jobs ${(tot('worker') / tot('mirror')).toFixed(2)}×, last 100 jobs ${(last('worker') / last('mirror')).toFixed(2)}×; load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
}

main().catch((e: unknown) => {
  console.error((e as Error).stack ?? e);
  process.exit(1);
});
