// Assembly of results: per bucket, one checkout per repository identity, then each unit's
// series (or languages points) through its insight kind, and the repositories' statuses.
import type { RepoStatus } from '../../protocol/insights';
import type { ComputeResult } from './api';
import type { Bucket } from './buckets';
import type { GuardedCounter } from './guardedCount';
import type { Assembled } from './insightKinds';
import type { RepoRevision } from './recall';
import type { ChainCommit } from './sampleCommits';
import type { Unit, UnitValue } from './units';

export interface RepoOutcome {
  status: RepoStatus;
  /** The revision and origin the results are of (absent when the repository failed early). */
  rev?: RepoRevision;
  /** Per bucket: the commit and the values of every unit, or undefined when the repo has no commit then. */
  points: ({ commit: ChainCommit; values: UnitValue[] } | undefined)[];
}

export interface AssemblyInput {
  units: Unit[];
  buckets: Bucket[];
  /** Per matcher: a failed guarded counter fails the series of its unit. */
  guards: (GuardedCounter | undefined)[];
  stats: ComputeResult['stats'];
}

const byRepoThenPath = (a: RepoOutcome, b: RepoOutcome) => a.status.repo.localeCompare(b.status.repo) || a.status.path.localeCompare(b.status.path);

/** The result of the outcomes so far; `warnings` are listed as statuses of the '(cache)'. */
export function assemble(input: AssemblyInput, outcomes: RepoOutcome[], warnings: string[], started: number): ComputeResult {
  const { units, buckets } = input;
  // A point is keyed by (series, repo identity, bucket): where two checkouts of one repository
  // (clones, linked worktrees) both reach a bucket, the one at the newer commit counts, as in
  // the org service; the other is named in its status.
  const sorted = [...outcomes].sort(byRepoThenPath);
  const atBucket: RepoOutcome[][] = buckets.map((_, bi) => {
    const best = new Map<string, RepoOutcome>();
    for (const o of sorted) {
      const p = o.points[bi];
      if (!p) continue;
      const cur = best.get(o.status.repo);
      const q = cur?.points[bi];
      if (!q || p.commit.time > q.commit.time || (p.commit.time === q.commit.time && p.commit.sha > q.commit.sha)) best.set(o.status.repo, o);
    }
    return [...best.values()];
  });
  // The note goes on a copy of the status: the outcomes are assembled again as more finish.
  const noted = new Map<RepoOutcome, RepoStatus>();
  const byIdentity = new Map<string, RepoOutcome[]>();
  for (const o of sorted) if (!o.status.error) byIdentity.set(o.status.repo, [...(byIdentity.get(o.status.repo) ?? []), o]);
  for (const group of byIdentity.values()) {
    if (group.length < 2 || group[0].status.repo === '') continue;
    for (const o of group) {
      const others = group.filter((x) => x !== o).map((x) => x.status.path).join(', ');
      const note = `same repository as ${others}; at each point the checkout at the newer commit counts`;
      noted.set(o, { ...o.status, warning: o.status.warning ? `${o.status.warning}; ${note}` : note });
    }
  }
  const out: Assembled = { series: [] };
  units.forEach((u, ui) => {
    const failed = u.matcher !== undefined ? input.guards[u.matcher]?.failed : undefined;
    if (failed) {
      out.series.push({ id: u.key, label: u.spec!.label, query: u.spec!.query, points: [], error: failed });
      return;
    }
    u.kind.assemble(u, ui, { buckets, atBucket }, out);
  });

  const repos = sorted.map((o) => noted.get(o) ?? o.status);
  if (warnings.length) repos.push(...warnings.map((w) => ({ repo: '(cache)', path: '', warning: w })));
  return { series: out.series, languages: out.languages, repos, stats: { ...input.stats, elapsedMs: Math.round(performance.now() - started) } };
}
