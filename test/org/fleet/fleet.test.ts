// The worker fleet end to end, with real processes, real git and real PostgreSQL: a generated org
// served by `git daemon` on loopback, the org CLI queuing work, two `code-insights org worker`
// processes computing it. Every repository's points equal what `code-insights series` says over
// a clone of the same repository; a worker killed with SIGKILL mid-job loses nothing (its job is
// freed by the other worker's heartbeat check and retried); a repository that cannot be cloned
// fails with git's reason while the rest complete; after a commit in 3 repositories, one refresh
// interval recomputes those 3 and no other. Mirror affinity: a second insight over the same
// repositories, with the workers restarted on their folders, runs every job on the worker that
// holds the repository's mirror (no clone); the waiting jobs of a worker killed with its home's
// jobs queued are re-routed to the others.
// PostgreSQL only (graphile-worker needs it): skipped without DATABASE_URL.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import type { FleetStatusResponse } from '../../../protocol/fleet';
import { BIN, ensureBuilt } from '../../cli/cliHarness';
import { GIT_ENV } from '../../helpers/gitRepo';
import { freshPostgresDatabase } from '../helpers';
import { addCommit, generateRepos, INSIGHT, SERIES_ARGS, startGitDaemon } from './fleetOrg';

/** Repositories in the generated org. The issue asks for ≥ 200: `FLEET_TEST_REPOS=200` runs that
 *  (see org/README.md for its time); CI keeps a count that runs in well under a minute. */
const REPOS = Number(process.env.FLEET_TEST_REPOS) || 16;
const REFRESH_SECONDS = 3;

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...GIT_ENV, ...env }, maxBuffer: 256 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('worker fleet over git daemon and PostgreSQL', { skip: !process.env.DATABASE_URL && 'needs DATABASE_URL (graphile-worker runs on PostgreSQL)' }, () => {
  let work: string;
  let db: { url: string; drop(): Promise<void> };
  let daemon: Awaited<ReturnType<typeof startGitDaemon>>;
  let pg: Client;
  const workers: ChildProcess[] = [];
  const logs: string[] = [];
  /** Whole pino lines of every worker's stdout, with the worker's tag. */
  const lines: { tag: string; line: string }[] = [];
  let names: string[];
  const BAD = 'repo-missing.git';
  let env: Record<string, string>;

  const startWorker = (tag: string, extra: string[] = [], lockTimeout = 1): ChildProcess => {
    const child = spawn(process.execPath, [BIN, 'org', 'worker', '--concurrency', '2', '--mirror-dir', join(work, `mirrors-${tag}`), '--refresh-interval', String(REFRESH_SECONDS), '--lock-timeout', String(lockTimeout), '--poll-interval', '200', ...extra], {
      env: { ...GIT_ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => logs.push(`[${tag}] ${d}`));
    createInterface({ input: child.stdout! }).on('line', (line) => lines.push({ tag, line }));
    child.stderr!.on('data', (d: Buffer) => logs.push(`[${tag} err] ${d}`));
    workers.push(child);
    return child;
  };
  const status = async (): Promise<FleetStatusResponse> => {
    const r = await run(['org', 'status', '--org', 'fleet', '--format', 'json'], env);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const runsOf = async () =>
    new Map(
      (await pg.query<{ identity: string; runs: number; attempts: number; state: string }>('SELECT r.identity, f.runs, f.attempts, f.state FROM fleet_runs f JOIN fleet_repos r ON r.org_id = f.org_id AND r.id = f.repo_id')).rows.map((r) => [
        r.identity,
        r,
      ]),
    );
  /** Points stored per (series, repo, bucket) → "value@commit". */
  const stored = async (): Promise<Map<string, string>> => {
    const rows = await pg.query<{ k: string; v: string }>(
      `SELECT s.series_key || ' ' || r.identity || ' ' || to_char(p.bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS k, p.value || '@' || encode(p.commit_sha, 'hex') AS v
       FROM points p JOIN series s ON s.org_id = p.org_id AND s.id = p.series_id JOIN repos r ON r.org_id = p.org_id AND r.id = p.repo_id`,
    );
    return new Map(rows.rows.map((r) => [r.k, r.v]));
  };
  /** What `code-insights series` says over fresh clones of the repositories (the oracle). */
  const oracle = async (repoNames: string[]): Promise<Map<string, string>> => {
    const dir = mkdtempSync(join(work, 'clones-'));
    const paths = await Promise.all(
      repoNames.map(
        (n) =>
          new Promise<string>((resolve, reject) =>
            execFile('git', ['clone', '-q', '--bare', daemon.url(n), join(dir, n)], { env: GIT_ENV }, (err) => (err ? reject(err) : resolve(join(dir, n)))),
          ),
      ),
    );
    const r = await run(['series', ...paths, ...SERIES_ARGS, '--format', 'json', '--no-cache']);
    assert.equal(r.code, 0, r.stderr);
    const out = new Map<string, string>();
    for (const s of JSON.parse(r.stdout).series) {
      for (const p of s.points.slice(0, -1)) for (const rp of p.repos) out.set(`${s.id} ${rp.repo} ${p.time}`, `${rp.value}@${rp.commit}`);
    }
    rmSync(dir, { recursive: true, force: true });
    return out;
  };
  /** The 'job finished' lines of one insight: which worker, routed how, cloned or not. */
  const finished = (insightId: string) =>
    lines
      .filter((l) => l.line.includes('"msg":"job finished"'))
      .map((l) => ({ tag: l.tag, ...(JSON.parse(l.line) as { insight: string; repo: string; routed: string; cloned: boolean }) }))
      .filter((l) => l.insight === insightId);
  const insightId = async (name: string) => String((await pg.query<{ id: string }>('SELECT id FROM fleet_insights WHERE name = $1', [name])).rows[0].id);
  const createInsight = async (def: object) => {
    const file = join(work, `insights-${Date.now()}.json`);
    writeFileSync(file, JSON.stringify({ insights: [def] }));
    const r = await run(['org', 'create-insight', '--org', 'fleet', '--config', file], env);
    assert.equal(r.code, 0, r.stderr);
  };
  const allSettled = (id: string) =>
    waitFor(
      `every run of insight ${id} done or failed`,
      async () => {
        const r = await pg.query<{ n: string }>("SELECT count(*) AS n FROM fleet_runs WHERE insight_id = $1 AND state IN ('done', 'failed')", [id]);
        return Number(r.rows[0].n) === REPOS + 1;
      },
      120_000 + REPOS * 5_000,
    );
  const subset = (m: Map<string, string>, ids: Set<string>) => new Map([...m].filter(([k]) => ids.has(k.split(' ')[1])));

  before(async () => {
    ensureBuilt();
    work = mkdtempSync(join(tmpdir(), 'ci-fleet-'));
    names = generateRepos(join(work, 'served'), REPOS);
    daemon = await startGitDaemon(join(work, 'served'));
    db = await freshPostgresDatabase();
    env = { DATABASE_URL: db.url, CODE_INSIGHTS_FLEET_MAX_ATTEMPTS: '2', CODE_INSIGHTS_REFRESH_BATCH: '5' }; // several head-check batch jobs
    assert.equal((await run(['org', 'create-org', 'fleet'], env)).code, 0);
    pg = new Client({ connectionString: db.url });
    await pg.connect();
  });
  after(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await pg?.end();
    await daemon?.stop();
    await db?.drop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('computes every repository with two workers, survives kill -9 of one, fails only the repository that cannot be cloned', async () => {
    const list = join(work, 'repos.txt');
    writeFileSync(list, [...names, BAD].map((n) => daemon.url(n)).join('\n') + '\n');
    const added = await run(['org', 'add-repos', '--org', 'fleet', '--from-file', list], env);
    assert.equal(added.code, 0, added.stderr);
    const config = join(work, 'insights.json');
    writeFileSync(config, JSON.stringify({ insights: [INSIGHT] }));
    const created = await run(['org', 'create-insight', '--org', 'fleet', '--config', config], env);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stderr, new RegExp(`${REPOS + 1} computation\\(s\\) queued`));
    // Adding the same repositories again queues nothing twice.
    const again = await run(['org', 'add-repos', '--org', 'fleet', '--from-file', list], env);
    assert.match(again.stderr, /0 added/);
    const jobs = await pg.query<{ n: string }>("SELECT count(*) AS n FROM graphile_worker.jobs WHERE task_identifier = 'fleet_compute'");
    assert.equal(Number(jobs.rows[0].n), REPOS + 1);

    const victim = startWorker('a');
    startWorker('b', ['--metrics-port', '0']);
    // Kill worker a while it holds a compute job.
    const held = await waitFor('worker a to hold a job', async () => {
      const r = await pg.query<{ key: string }>(
        "SELECT j.key FROM graphile_worker.jobs j JOIN fleet_workers w ON w.worker_id = j.locked_by WHERE w.pid = $1 AND j.task_identifier = 'fleet_compute' LIMIT 1",
        [victim.pid],
      );
      return r.rows[0]?.key;
    });
    victim.kill('SIGKILL');
    const [, , insightId, repoId] = held.split(':');
    startWorker('c');

    // Polled in SQL (a CLI process per poll would take the CPU the workers need); then the CLI.
    await waitFor(
      'every repository done or failed',
      async () => {
        const r = await pg.query<{ n: string }>("SELECT count(*) AS n FROM fleet_runs WHERE state IN ('done', 'failed')");
        return Number(r.rows[0].n) === REPOS + 1;
      },
      120_000 + REPOS * 5_000,
    );
    const final = await status();
    const ins = final.insights[0];
    assert.deepEqual([ins.total, ins.done, ins.failed], [REPOS + 1, REPOS, 1], logs.join(''));
    assert.match(ins.failures[0].repo, /repo-missing$/);
    assert.match(ins.failures[0].error, /git clone git:\/\/127\.0\.0\.1:\d+\/repo-missing\.git: fatal: remote error: .*repo-missing/);

    // The killed job was freed and retried, and completed.
    const killed = await pg.query<{ state: string; attempts: number }>('SELECT state, attempts FROM fleet_runs WHERE insight_id = $1 AND repo_id = $2', [insightId, repoId]);
    assert.equal(killed.rows[0].state, 'done');
    assert.ok(killed.rows[0].attempts >= 2, `the killed job ran again (attempts ${killed.rows[0].attempts})`);

    // Every point equals the CLI's, none missing, none extra; the aggregate equals the re-sum.
    const want = await oracle(names);
    assert.ok(want.size >= REPOS * 2 * 5);
    assert.deepEqual(await stored(), want);
    const agg = await pg.query<{ n: string }>(
      `SELECT count(*) AS n FROM series_totals a FULL JOIN (SELECT series_id, bucket, sum(value) AS t, count(*) AS c FROM points GROUP BY 1, 2) p
         ON p.series_id = a.series_id AND p.bucket = a.bucket WHERE a.total IS DISTINCT FROM p.t OR a.repos IS DISTINCT FROM p.c`,
    );
    assert.equal(Number(agg.rows[0].n), 0, 'the org-wide totals (folded and pending) equal the sum of the points');

    // Worker b's metrics: jobs it ran, bytes it cloned, its mirror folder, an empty queue.
    const port = Number(/"metricsPort":(\d+)/.exec(logs.filter((l) => l.startsWith('[b]')).join(''))?.[1]);
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const metric = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
    assert.ok(metric(/^code_insights_worker_jobs_total\{task="fleet_compute",event="succeeded"\} (\d+)/m) > 0, text);
    assert.ok(metric(/^code_insights_worker_fetched_bytes_total\{kind="clone"\} (\d+)/m) > 0);
    assert.ok(metric(/^code_insights_worker_mirror_bytes (\d+)/m) > 0);
    assert.equal(metric(/^code_insights_worker_queue_depth (\d+)/m), 0);
    assert.match(text, /^code_insights_worker_job_duration_seconds_bucket\{le="1",task="fleet_compute",outcome="succeeded"\} \d+/m);
  });

  it('after a commit in 3 repositories, one refresh interval recomputes those 3 only', async () => {
    const before = await runsOf();
    const moved = names.slice(1, 4);
    const movedIds = new Set(moved.map((n) => `127.0.0.1/${n.replace(/\.git$/, '')}`));
    for (const n of moved) addCommit(join(work, 'served', n), new Date('2026-02-25T12:00:00Z'), 7);
    const changedAt = (await pg.query<{ now: Date }>('SELECT now()')).rows[0].now;
    await waitFor('the 3 repositories recomputed', async () => {
      const now = await runsOf();
      return [...movedIds].every((id) => now.get(id)!.runs > before.get(id)!.runs && now.get(id)!.state === 'done');
    });
    // Then a whole refresh interval after the change: every head checked since, nothing else run.
    await waitFor('a refresh after the change', async () => {
      const r = await pg.query<{ n: string }>("SELECT count(*) AS n FROM fleet_repos WHERE head_checked_at IS NULL OR head_checked_at < $1", [changedAt]);
      return Number(r.rows[0].n) === 0;
    });
    // The head checks ran as batch jobs of at most 5 repositories, taken by the workers.
    const batches = logs.join('\n').split('\n').filter((l) => l.includes('"refresh batch done"')).map((l) => ({ checked: Number(/"checked":(\d+)/.exec(l)?.[1]) }));
    assert.ok(batches.length >= Math.ceil((names.length + 1) / 5), `${batches.length} batch jobs`);
    assert.ok(batches.every((b) => b.checked <= 5));
    const now = await runsOf();
    const rerun = [...now].filter(([id, r]) => r.runs !== before.get(id)!.runs).map(([id]) => id).sort();
    assert.deepEqual(rerun, [...movedIds].sort());
    const want = await oracle(moved);
    assert.deepEqual(subset(await stored(), movedIds), want);
  });
  // Mirror affinity. The workers restart on their own folders (worker a, killed above, too): each
  // keeps its home (host + mirror folder), so the repositories whose mirrors it holds are routed to
  // it again. A longer lock timeout than above: a worker stalled past it under load would count as
  // gone and its jobs would go generic (correct, but a clone), which is not what this measures.
  const homeWorkers = new Map<string, ChildProcess>();
  it('runs a second insight on the workers that hold the mirrors, after a restart on the same folders: no clone', async () => {
    const live = workers.filter((w) => w.exitCode === null && w.signalCode === null);
    await Promise.all(live.map((w) => new Promise((r) => (w.once('exit', r), w.kill('SIGTERM')))));
    for (const tag of ['a', 'b', 'c']) homeWorkers.set(tag, startWorker(tag, [], 20));
    const pids = [...homeWorkers.values()].map((w) => w.pid);
    const homes = await waitFor('the three workers beating', async () => {
      const r = await pg.query<{ home: string }>('SELECT DISTINCT home FROM fleet_workers WHERE pid = ANY($1::int[])', [pids]);
      return r.rows.length === 3 && r.rows.map((x) => x.home);
    });
    // Every repository computed above has its mirror in one of those homes (the missing one none).
    const repoHomes = await pg.query<{ identity: string; home: string | null }>('SELECT identity, home FROM fleet_repos');
    assert.deepEqual(repoHomes.rows.filter((r) => r.home === null).map((r) => r.identity), [`127.0.0.1/${BAD.replace(/\.git$/, '')}`]);
    assert.ok(repoHomes.rows.every((r) => r.home === null || homes.includes(r.home)), JSON.stringify(repoHomes.rows));

    await createInsight({ ...INSIGHT, id: 'exports', title: 'Exports', queries: [{ query: 'export' }] });
    const id = await insightId('exports');
    await allSettled(id);
    // A job is marked done in the database before its worker logs "job finished": wait for the
    // lines too (the last one once arrived just after the runs settled).
    await waitFor('every job finished in the logs', async () => finished(id).length >= REPOS, 10_000).catch(() => undefined);
    const jobs = finished(id);
    assert.equal(jobs.length, REPOS, logs.join(''));
    assert.deepEqual(jobs.filter((j) => j.cloned || j.routed !== 'home'), [], 'every job ran where its mirror was');
  });

  it("re-routes the waiting jobs of a killed worker's home to the other workers", async () => {
    // The worker whose home holds the most repositories is stopped (SIGSTOP: it beats no more)
    // right after a third insight is queued, while its home's jobs wait, then killed.
    const counts = await pg.query<{ home: string; n: string }>('SELECT home, count(*) AS n FROM fleet_repos WHERE home IS NOT NULL GROUP BY home ORDER BY n DESC, home');
    const victimHome = counts.rows[0].home;
    const [victimTag, victim] = await (async () => {
      for (const [tag, w] of homeWorkers) {
        const r = await pg.query<{ home: string }>('SELECT home FROM fleet_workers WHERE pid = $1', [w.pid]);
        if (r.rows[0]?.home === victimHome) return [tag, w] as const;
      }
      throw new Error(`no worker of home ${victimHome}`);
    })();
    const victimRepos = new Set((await pg.query<{ id: string }>('SELECT id FROM fleet_repos WHERE home = $1', [victimHome])).rows.map((r) => String(r.id)));
    await createInsight({ ...INSIGHT, id: 'fixmes', title: 'Fixmes', queries: [{ query: 'FIXME' }] });
    victim.kill('SIGSTOP');
    const id = await insightId('fixmes');
    const routedThere = await pg.query<{ n: string }>('SELECT count(*) AS n FROM graphile_worker.jobs WHERE task_identifier = $1', [`fleet_compute_h_${victimHome}`]);
    assert.ok(Number(routedThere.rows[0].n) > 0, "jobs were queued for the victim's home");
    victim.kill('SIGKILL');
    await allSettled(id);
    const runs = await pg.query<{ repo_id: string; state: string }>('SELECT repo_id, state FROM fleet_runs WHERE insight_id = $1', [id]);
    assert.ok(runs.rows.filter((r) => victimRepos.has(String(r.repo_id))).every((r) => r.state === 'done'), JSON.stringify(runs.rows));
    await waitFor('every repository finished in the logs', async () => new Set(finished(id).map((j) => j.repo)).size >= REPOS, 10_000).catch(() => undefined);
    const jobs = finished(id);
    // (A job the victim finished just before SIGSTOP but had not yet marked complete runs again.)
    assert.equal(new Set(jobs.map((j) => j.repo)).size, REPOS);
    const moved = jobs.filter((j) => victimRepos.has(j.repo) && j.tag !== victimTag);
    assert.ok(moved.length > 0 && moved.every((j) => j.routed === 'generic'), JSON.stringify(jobs));
    assert.match(logs.join(''), /re-routed the waiting jobs of homes with no live worker/);
    // Nothing waits for the dead home; its repositories now live where they were computed.
    const left = await pg.query<{ n: string }>('SELECT count(*) AS n FROM graphile_worker.jobs WHERE task_identifier = $1', [`fleet_compute_h_${victimHome}`]);
    assert.equal(Number(left.rows[0].n), 0);
  });
});
