// The run memo: a rerun that would only read the cache answers from a small JSON file beside it.
//
// A warm rerun (no new commits) reads nothing but the cache, yet opening it costs more than any
// other step: sql.js starts (its wasm compiled function by function as the first query calls
// them) and the whole file is read, about 50 of the 0.3 s on git/git. What such a rerun reads
// from the cache is a function of the request and of each repository's revision, so after a run
// its per-repository results are kept here, keyed by both. They are used only when all of these
// still hold, else the run goes the usual way (and writes the memo again):
// - the cache file is the one the memo was written beside, unchanged since (device, inode, size
//   and modification time, as saved by that run): the memo is never newer or older than the
//   cache, and a cache another run or a sync changed since makes it stale;
// - the same units (series ids, which name queries, flags, filters and limits), revision option,
//   repository filters and bucket times, the last time excepted when at every repository the
//   last point was the revision itself and still is (a later `end`, same revision);
// - the same repositories, at the same revision (commit id, detached or not) and origin URL.
// Runs that saw an error, a warning (a shallow clone may be deepened at the same revision), a
// cancelled or budget-stopped count, or that did not queue their points for sync, write none.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { Recall, RepoRecord, RepoRevision } from '../engine/recall';
import { fileIdentity } from '../store/cache';

const VERSION = 1;
const MAX_ENTRIES = 16;

/** A repository's results as the engine records them (its revision, status, values as stored). */
export type MemoRepo = RepoRecord;

export interface Entry {
  key: string;
  lastTime: number;
  repos: MemoRepo[];
}

interface MemoFile {
  v: number;
  /** The cache file's identity when the entries were written. */
  cache: string;
  entries: Entry[];
}

export const memoFileOf = (cacheFile: string) => `${cacheFile}.runs.json`;

/** The request's part of the key: everything but the repositories and the last bucket time. */
export function requestKey(parts: { units: string[]; rev?: string; repoFilters: string[]; submodules?: boolean; times: number[] }): string {
  return createHash('sha256')
    .update(JSON.stringify([VERSION, parts.units, parts.rev ?? null, parts.repoFilters, !!parts.submodules, parts.times.slice(0, -1)]))
    .digest('base64');
}

/** The entry for this request, if the cache file is unchanged since the memo was written. */
export function findEntry(cacheFile: string, key: string): Entry | undefined {
  let file: MemoFile;
  try {
    file = JSON.parse(readFileSync(memoFileOf(cacheFile), 'utf8')) as MemoFile;
  } catch {
    return undefined;
  }
  if (file?.v !== VERSION || !Array.isArray(file.entries) || file.cache !== fileIdentity(cacheFile)) return undefined;
  return file.entries.find((e) => e.key === key);
}

/**
 * The remembered results of one repository if the entry answers it at `lastTime`: the same git
 * dir at the revision and origin it had. `now` is what git says now.
 */
export function answerRepo(entry: Entry, lastTime: number, now: RepoRevision): MemoRepo | undefined {
  const r = entry.repos.find((x) => x.gitDir === now.gitDir);
  if (!r || r.head !== now.head || r.detached !== now.detached || r.origin !== now.origin) return undefined;
  if (lastTime !== entry.lastTime) {
    // Another `end`: its point is the revision itself only where it was before and the new
    // time is still at or after the revision's committer time.
    const last = r.points[r.points.length - 1];
    if (!last || last.commit.sha !== r.head || lastTime < last.commit.time) return undefined;
  }
  return r;
}

/** The entry as the engine asks it: by each repository's revision now. */
export function recallOf(entry: Entry, lastTime: number): Recall {
  return { repoCount: entry.repos.length, answer: (now) => answerRepo(entry, lastTime, now) };
}

/**
 * Adds (or replaces) an entry after the run is over. `identity` is the cache file as this run
 * last read or wrote it; when another process has replaced it since, nothing is written (this
 * run's view of the cache is not the file's). A failure only loses the shortcut.
 */
export function remember(cacheFile: string, identity: string | undefined, key: string, lastTime: number, repos: MemoRepo[]): void {
  if (!identity || fileIdentity(cacheFile) !== identity) return;
  let entries: Entry[] = [];
  try {
    const file = JSON.parse(readFileSync(memoFileOf(cacheFile), 'utf8')) as MemoFile;
    if (file?.v === VERSION && file.cache === identity && Array.isArray(file.entries)) entries = file.entries.filter((e) => e.key !== key);
  } catch {
    /* none yet, or written for another state of the cache */
  }
  const data: MemoFile = { v: VERSION, cache: identity, entries: [{ key, lastTime, repos }, ...entries].slice(0, MAX_ENTRIES) };
  const target = memoFileOf(cacheFile);
  const tmp = `${target}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, JSON.stringify(data));
    renameSync(tmp, target);
  } catch {
    /* a read-only folder: reruns open the cache */
  }
}
