// One repository from start to outcome: revision, identity, repository filter, sampled
// commits, then its values at each of them (computeRepo.ts); a failure is its status.
import type { RepoStatus } from '../../protocol/insights';
import type { RepoOutcome } from './assemble';
import { commandValues } from './commandSeries';
import { computeRepo } from './computeRepo';
import type { RepoLocation } from './discoverRepos';
import { AbortedError, InsightsError } from './errors';
import { rootIdentity } from './repoIdentity';
import { startRepo } from './repoStart';
import type { RunContext } from './runContext';
import type { ChainCommit } from './sampleCommits';
import type { UnitValue } from './units';
import { nextSampleMemo, sampleCommits, sampleFromMemo, type Sample, type SampleMemo } from './sampleCommits';

export async function processRepo(loc: RepoLocation, shared: RunContext): Promise<RepoOutcome> {
  const status: RepoStatus = { repo: loc.path, path: loc.path };
  const none = (): RepoOutcome => ({ status, points: shared.buckets.map(() => undefined) });
  const trace = shared.trace;
  try {
    trace('resolving');
    const start = shared.starts.get(loc) ?? startRepo(loc, shared.req.rev, shared.signal);
    const head = await start.head;
    trace('resolved rev');
    // With git replace refs (or grafts), an object id read here is not the content the same id
    // has elsewhere: nothing of this repository goes into or comes from the store, which is
    // keyed by ids and shared by every repository.
    const replaced = await start.replaced;
    const ctx: RunContext = replaced ? { ...shared, store: undefined } : shared;
    // The identity's git calls overlap the rest unless a filter needs it first. Without a filter,
    // the commits' walk (below) also tells whether a root remembered at an older revision is
    // still this chain's.
    const store = ctx.store;
    const memo = store && { get: (g: string) => store.getMeta(`root:${g}`), set: (g: string, v: string) => store.putMeta(`root:${g}`, v) };
    let sampling: Promise<Sample> | undefined;
    const identity = start.origin.then((o) => o ?? rootIdentity(loc.gitDir, head.sha, ctx.signal, memo, () => sampling?.then((s) => s.stoppedAt)));
    identity.catch(() => { /* awaited below */ });
    if (ctx.repoFilters.length) {
      status.repo = await identity;
      trace('identity');
      if (!ctx.repoFilters.some((r) => r.test(status.repo) || r.test(loc.path))) {
        status.warning = 'excluded by the repository filter';
        return none();
      }
    }
    trace(`resolved ${loc.path}`);
    sampling = sampleWithMemo(loc.gitDir, head.sha, ctx);
    const sample = await sampling;
    trace('sampled commits');
    const notes: string[] = [];
    if (replaced) notes.push('git replace refs (refs/replace/) or info/grafts are in use: this repository is read as git shows it with the replacements, without the cache');
    if (head.detached) notes.push(`HEAD is detached at ${head.sha.slice(0, 12)}; sampling its history`);
    if (sample.shallowCut) {
      notes.push(
        `shallow clone: history is cut at ${sample.shallowCut.sha.slice(0, 12)} (${new Date(sample.shallowCut.time * 1000).toISOString()}); earlier points have no value for this repository (run "git fetch --unshallow" for the full history)`,
      );
    }
    const values = await unitValues(loc, ctx, sample.commits, notes);
    status.repo = await identity;
    trace('identity');
    if (notes.length) status.warning = notes.join('; ');
    const origin = await start.origin;
    const rev = { gitDir: loc.gitDir, head: head.sha, detached: head.detached, origin: origin ?? null };
    return { status, rev, points: sample.commits.map((c) => (c ? { commit: c, values: values.get(c.sha)! } : undefined)) };
  } catch (e) {
    if (e instanceof AbortedError) throw e;
    if (e instanceof InsightsError && e.code === 'GIT_NOT_FOUND') throw e;
    status.error = e instanceof InsightsError ? e.message : `unexpected failure: ${(e as Error).message}`;
    return none();
  }
}

/** The sampled commits, from the store's memo of this repository's last walk when it covers them. */
async function sampleWithMemo(gitDir: string, headSha: string, ctx: RunContext): Promise<Sample> {
  const key = `sample:${gitDir}`;
  let memo: SampleMemo | undefined;
  try {
    const text = ctx.store?.getMeta(key);
    if (text) memo = JSON.parse(text) as SampleMemo;
  } catch {
    memo = undefined; // an unreadable memo is only a missed shortcut
  }
  const known = sampleFromMemo(memo, headSha, ctx.timesSec);
  if (known) return { commits: known };
  // A new revision on top of the remembered one (new commits pulled): only the new commits are
  // walked; the times none of them settles have the commit they had along the old revision.
  let sample = await sampleCommits(gitDir, headSha, ctx.timesSec, ctx.signal, memo && memo.head !== headSha ? memo.head : undefined);
  if (sample.stoppedAt) {
    const rest = sampleFromMemo(memo, sample.stoppedAt, ctx.timesSec);
    if (rest && sample.head) sample = { commits: sample.commits.map((c, i) => c ?? rest[i]), head: sample.head, stoppedAt: sample.stoppedAt };
    else sample = await sampleCommits(gitDir, headSha, ctx.timesSec, ctx.signal);
  }
  const next = nextSampleMemo(memo, headSha, sample, ctx.timesSec);
  if (ctx.store && next) ctx.store.putMeta(key, JSON.stringify(next));
  return sample;
}

/**
 * Every unit's values at the sampled commits: the blob units through the tree walk
 * (computeRepo.ts), the command units by running their commands (commandSeries.ts).
 */
async function unitValues(loc: RepoLocation, ctx: RunContext, sampled: (ChainCommit | undefined)[], notes: string[]): Promise<Map<string, UnitValue[]>> {
  const commandUnits: number[] = [];
  ctx.units.forEach((u, ui) => {
    if (u.spec?.command) commandUnits.push(ui);
  });
  if (commandUnits.length === 0) return computeRepo(loc, ctx, sampled, notes);
  const blobUnits = ctx.units.filter((u) => !u.spec?.command);
  const [blobs, commands] = await Promise.all([
    blobUnits.length ? computeRepo(loc, { ...ctx, units: blobUnits }, sampled, notes) : undefined,
    commandValues(loc, ctx, commandUnits, sampled, notes),
  ]);
  const out = new Map<string, UnitValue[]>();
  for (const [sha, cmd] of commands) {
    const b = blobs?.get(sha);
    let bi = 0;
    out.set(sha, ctx.units.map((u, ui) => (u.spec?.command ? cmd[commandUnits.indexOf(ui)] : b![bi++])));
  }
  if (!blobs) ctx.stats.commitsSampled += commands.size; // counted by computeRepo otherwise
  return out;
}
