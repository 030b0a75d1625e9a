// Command series: a shell command run at each sampled commit in a temporary copy of its tree,
// its output a number or named numbers. Values are stored per (series, content key): the tree
// id, or with declared inputs a hash of those files, so a commit whose files the command reads
// did not change reuses the value and a rerun runs nothing. A failed run is a missing point
// with its reason in the repository's warning; it is never stored, so the next run retries.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RepoPoint, SeriesResult } from '../../protocol/insights';
import type { CommandSpec } from './api';
import { inputsKey, treeFiles, treeIds, writeFiles, type TreeFile } from './commandCheckout';
import { commandEnv, runCommand, type CommandOutput } from './commandRunner';
import type { RepoLocation } from './discoverRepos';
import { throwIfAborted } from './errors';
import type { InsightKind } from './insightKinds';
import { pathFilter } from './pathFilter';
import type { RunContext } from './runContext';
import type { ChainCommit } from './sampleCommits';
import { seriesId } from './seriesId';
import type { UnitValue } from './units';

/** Runs `work` when one of a fixed number of slots is free (commands of every repository share them). */
export type Slots = <T>(work: () => Promise<T>) => Promise<T>;

export function slots(n: number): Slots {
  let free = n;
  const waiting: (() => void)[] = [];
  return async (work) => {
    if (free > 0) free--;
    else await new Promise<void>((r) => waiting.push(r)); // a finishing run hands its slot over
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else free++;
    }
  };
}

/** One command's output per commit; nothing is added per blob (a command unit reads no blob). */
export const commandKind: InsightKind<CommandOutput> = {
  zero: () => ({ error: 'not run' }),
  clone: (v) => v,
  add: (acc) => acc,
  serialise: (v) => JSON.stringify(v),
  deserialise: (s) => JSON.parse(s) as CommandOutput,
  assemble(u, ui, { buckets, atBucket }, out) {
    const spec = u.spec!;
    const at = (o: (typeof atBucket)[number][number], bi: number) => o.points[bi]!.values[ui] as CommandOutput;
    let plain = false;
    const names: string[] = [];
    const seen = new Set<string>();
    let failure: string | undefined;
    buckets.forEach((_, bi) => {
      for (const o of atBucket[bi]) {
        const v = at(o, bi);
        if ('value' in v) plain = true;
        else if ('named' in v) {
          for (const k of Object.keys(v.named)) {
            if (seen.has(k)) continue;
            seen.add(k);
            names.push(k);
          }
        } else failure ??= v.error;
      }
    });
    // A point no repository has a value for is left out (a chart shows a gap), never a 0.
    const series = (id: string, label: string, valueOf: (v: CommandOutput) => number | undefined, capture?: string): SeriesResult => ({
      id,
      label,
      query: spec.query,
      ...(capture !== undefined ? { capture } : {}),
      points: buckets.flatMap((b, bi) => {
        const repos: RepoPoint[] = [];
        for (const o of atBucket[bi]) {
          const n = valueOf(at(o, bi));
          if (n === undefined) continue;
          const p = o.points[bi]!;
          repos.push({ repo: o.status.repo, commit: p.commit.sha, commitTime: new Date(p.commit.time * 1000).toISOString(), value: n });
        }
        return repos.length ? [{ time: b.time.toISOString(), value: repos.reduce((s, r) => s + r.value, 0), repos }] : [];
      }),
    });
    if (plain || names.length === 0) {
      const s = series(u.key, spec.label, (v) => ('value' in v ? v.value : undefined));
      if (!plain && names.length === 0 && failure) s.error = `the command gave no value at any sampled commit: ${failure}`;
      out.series.push(s);
    }
    for (const name of names) out.series.push(series(seriesId(spec, name), name, (v) => ('named' in v ? v.named[name] : undefined), name));
  },
};

/** One repository's command values at its sampled commits, for the command units `which` (indexes into ctx.units). */
export async function commandValues(loc: RepoLocation, ctx: RunContext, which: number[], sampled: (ChainCommit | undefined)[], notes: string[]): Promise<Map<string, UnitValue[]>> {
  const { store, signal } = ctx;
  const commits: ChainCommit[] = [];
  for (const c of sampled) if (c && !commits.some((x) => x.sha === c.sha)) commits.push(c);
  const trees = await treeIds(loc.gitDir, commits.map((c) => c.sha), signal);
  // A commit's file list is asked of git once, and only when a unit needs it.
  const listings = new Map<string, Promise<TreeFile[]>>();
  const filesOf = (sha: string) => {
    let p = listings.get(sha);
    if (!p) listings.set(sha, (p = treeFiles(loc.gitDir, sha, signal)));
    return p;
  };
  const out = new Map<string, UnitValue[]>(commits.map((c) => [c.sha, []]));
  const failures = new Map<number, { at: string; error: string }[]>();
  // One run per (unit, content key): commits that share a tree, or the inputs, share a value.
  const runs = new Map<string, Promise<CommandOutput>>();
  await Promise.all(
    commits.flatMap((c, ci) =>
      which.map(async (ui) => {
        const u = ctx.units[ui];
        const cmd = u.spec!.command!;
        let key = trees[ci];
        let files: TreeFile[] | undefined;
        if (cmd.inputs.length) {
          const ok = pathFilter(cmd.inputs, []);
          files = (await filesOf(c.sha)).filter((f) => ok(f.path));
          key = inputsKey(files);
        }
        const stored = store?.getCommitValue(u.key, key);
        let v: CommandOutput;
        if (stored !== undefined) v = commandKind.deserialise(stored);
        else {
          const runKey = `${ui} ${key}`;
          let run = runs.get(runKey);
          if (!run) {
            const tree = cmd.inputs.length && !cmd.checkout ? Promise.resolve(files!) : filesOf(c.sha);
            runs.set(runKey, (run = ctx.commandSlots(async () => runAt(loc.gitDir, u.spec!.query, cmd, await tree, ctx))));
            run.then((r) => {
              if (!('error' in r)) store?.putCommitValue(u.key, key, commandKind.serialise(r));
            }, () => { /* reported by the await below */ });
          }
          v = await run;
        }
        if ('error' in v) {
          const list = failures.get(ui) ?? [];
          list.push({ at: `${c.sha.slice(0, 12)} (${new Date(c.time * 1000).toISOString().slice(0, 10)})`, error: v.error });
          failures.set(ui, list);
        }
        out.get(c.sha)![which.indexOf(ui)] = v;
      }),
    ),
  );
  throwIfAborted(signal);
  for (const [ui, list] of failures) {
    const shown = list.slice(0, 3).map((f) => `at ${f.at}: ${f.error}`).join('; ');
    notes.push(`command "${ctx.units[ui].spec!.label}" gave no value at ${list.length} of ${commits.length} sampled commits (those points are missing): ${shown}${list.length > 3 ? '; …' : ''}`);
  }
  return out;
}

/** Copies the files into a new temporary folder, runs the command there, and removes the folder. */
async function runAt(gitDir: string, command: string, cmd: CommandSpec, files: TreeFile[], ctx: RunContext): Promise<CommandOutput> {
  throwIfAborted(ctx.signal);
  const scratch = mkdtempSync(join(tmpdir(), 'code-insights-cmd-'));
  try {
    const work = join(scratch, 'tree');
    const home = join(scratch, 'home');
    mkdirSync(work);
    mkdirSync(home);
    await writeFiles(gitDir, files, work, ctx.signal);
    ctx.stats.commandsRun = (ctx.stats.commandsRun ?? 0) + 1;
    ctx.trace(`command run in ${files.length} files`);
    return await runCommand({ command, cwd: work, env: commandEnv(home), timeoutMs: cmd.timeoutMs, signal: ctx.signal });
  } finally {
    try {
      rmSync(scratch, { recursive: true, force: true, maxRetries: 3 });
    } catch (e) {
      ctx.trace(`could not remove ${scratch}: ${(e as Error).message}`); // a folder the command made unwritable
    }
  }
}
