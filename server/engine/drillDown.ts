// Why a point has its value: for one repository, one series and the commit of a point, the
// files and their counts, which files went up or down since the previous point's commit, and
// the first-parent commits in between. Counting takes the engine's own path (path filter, size
// limit, binary test, Matcher.countBlob with its byte, Latin-1 and guarded-worker paths), so the files add up to
// exactly the chart's per-repository value.
import { resolve } from 'node:path';
import type { InsightDefinition } from '../../protocol/insights';
import type { InsightResult } from '../../protocol/lsp';
import type { DrillDownChange, DrillDownCommit, DrillDownFile, DrillDownQuery, DrillDownResult } from '../../protocol/webview';
import { LIMITS } from '../../protocol/webview';
import type { SeriesSpec } from './api';
import { CatFile, type BlobAnswer } from './blobReader';
import { BlobText, MAX_TEXT_BLOB, type BlobCounts, type BlobMatcher, type CaptureCounts } from './countMatches';
import { isBinary } from './countLines';
import { toSeriesSpecs } from './definitions';
import { discoverRepos, type RepoLocation } from './discoverRepos';
import { GuardedCounter } from './guardedCount';
import { blobsContaining } from './grepPrefilter';
import { InsightsError, throwIfAborted } from './errors';
import { runGit, runGitRaw } from './git';
import { seriesId } from './seriesId';
import { listTree, type TreeEntry } from './treeChanges';
import { newMatcher, seriesPathFilter } from './units';

export interface DrillDownRequest {
  /** A working tree or bare repository (the path the engine reported for the repo). */
  repoPath: string;
  /** Repo identity to echo in the result (as in the series' per-repo points). */
  repo: string;
  seriesId: string;
  spec: SeriesSpec;
  /** For a capture series: the captured value it counts. */
  capture?: string;
  commit: string;
  previousCommit?: string;
  /** Count only these paths (a check's files changed between the two commits); default every file. */
  paths?: Set<string>;
  /** List limits (defaults: the protocol's). */
  maxFiles?: number;
  maxCommits?: number;
}

async function locate(repoPath: string, signal?: AbortSignal): Promise<RepoLocation> {
  const abs = resolve(repoPath);
  const found = await discoverRepos([abs], { signal });
  const exact = found.find((l) => resolve(l.path) === abs || resolve(l.gitDir) === abs);
  if (exact) return exact;
  if (found.length === 1) return found[0];
  throw new InsightsError('NOT_A_REPO', `${repoPath}: ${found.length ? 'holds several repositories; give the one to drill into' : 'is not a git repository'}`);
}

async function verifyCommit(gitDir: string, commit: string, signal?: AbortSignal): Promise<string> {
  if (!/^[0-9a-f]{4,64}$/.test(commit)) throw new InsightsError('BAD_COMMIT', `"${commit.slice(0, 80)}" is not a commit id`);
  const r = await runGitRaw(gitDir, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${commit}^{commit}`], { signal });
  if (r.code !== 0) throw new InsightsError('BAD_COMMIT', `commit ${commit.slice(0, 12)} is not in this repository (was the history rewritten? refresh the insight)`);
  return r.stdout.toString().trim();
}

/** The per-file value of a series: what the engine sums over files for this count mode. */
function valueOf(c: BlobCounts | CaptureCounts, spec: SeriesSpec, capture: string | undefined): number {
  if (c instanceof Map) return capture === undefined ? 0 : c.get(capture) ?? 0;
  return c[spec.count];
}

/** Counts one blob as the engine does (Matcher.countBlob), with the guarded worker for non-linear patterns. */
class BlobCounter {
  private guard: GuardedCounter | undefined;

  constructor(private readonly matcher: BlobMatcher, private readonly req: DrillDownRequest) {}

  async count(buf: Buffer): Promise<number> {
    if (isBinary(buf)) return 0;
    // A structural query: its ast-grep count, as the engine's blob pass takes it.
    if (this.matcher.countAsync) return valueOf(await this.matcher.countAsync(new BlobText(buf)), this.req.spec, this.req.capture);
    const outcome = this.matcher.countBlob(new BlobText(buf));
    if ('counts' in outcome) return valueOf(outcome.counts, this.req.spec, this.req.capture);
    const guard = (this.guard ??= new GuardedCounter(this.matcher.spec));
    const r = await guard.count(outcome.guarded);
    if (!r) throw new InsightsError('REGEX_BUDGET', guard.failed ?? `the query "${this.matcher.spec.query}" could not be counted`);
    return valueOf(r, this.req.spec, this.req.capture);
  }

  /** Literal needles of the query, when git grep can rule blobs out before any is read. */
  get grepNeedles(): { needles: string[]; ignoreCase: boolean } | undefined {
    return this.matcher.grepNeedles;
  }

  close(): void {
    this.guard?.close();
  }
}

/** Below this many blobs, reading them all is quicker than setting up git grep. */
const GREP_MIN_BLOBS = 64;

/** Counts of every file that counts for the series at `commit`; blobs shared with `memo` are read once. */
async function countTree(
  gitDir: string,
  commit: string,
  req: DrillDownRequest,
  counter: BlobCounter,
  memo: Map<string, number>,
  signal?: AbortSignal,
): Promise<Map<string, number>> {
  const pathOk = seriesPathFilter(req.spec);
  const limit = req.spec.maxFileSize === 0 ? Infinity : req.spec.maxFileSize;
  const entries: TreeEntry[] = [];
  await listTree(gitDir, commit, (e) => {
    if (pathOk(e.path) && e.size <= limit && e.size <= MAX_TEXT_BLOB && (!req.paths || req.paths.has(e.path))) entries.push(e);
  }, signal);
  let toRead = [...new Set(entries.map((e) => e.oid))].filter((oid) => !memo.has(oid));
  const grep = counter.grepNeedles;
  if (grep && toRead.length >= GREP_MIN_BLOBS) {
    // As the engine does: git grep names the blobs that can hold a needle; the rest count zero.
    const candidates = new Set<string>();
    try {
      await blobsContaining(gitDir, toRead, grep.needles, grep.ignoreCase, (oid) => candidates.add(oid), signal);
      for (const oid of toRead) if (!candidates.has(oid)) memo.set(oid, 0);
      toRead = toRead.filter((oid) => candidates.has(oid));
    } catch (e) {
      throwIfAborted(signal);
      void e; // a prefilter only: without it every blob is read
    }
  }
  if (toRead.length) {
    const cat = new CatFile(gitDir, true, signal);
    const pending: Promise<void>[] = [];
    for (const oid of toRead) {
      cat.request(oid, (a: BlobAnswer) => {
        if (a.size < 0 || !a.content) {
          memo.set(a.oid, 0);
          return;
        }
        pending.push(counter.count(a.content).then((v) => void memo.set(a.oid, v)));
      });
    }
    await cat.finish();
    await Promise.all(pending);
  }
  const out = new Map<string, number>();
  for (const e of entries) {
    const v = memo.get(e.oid) ?? 0;
    if (v > 0) out.set(e.path, v);
  }
  return out;
}

async function commitsBetween(gitDir: string, commit: string, previous: string | undefined, max: number, signal?: AbortSignal): Promise<{ commits: DrillDownCommit[]; truncated: boolean }> {
  const range = previous ? [`${previous}..${commit}`] : ['-1', commit];
  const text = await runGit(gitDir, ['log', '--first-parent', '--no-show-signature', `--max-count=${max + 1}`, '--format=%H%x00%an%x00%aI%x00%s%x00', ...range, '--'], {
    signal,
    what: 'git log',
  });
  const fields = text.split('\0');
  const commits: DrillDownCommit[] = [];
  for (let i = 0; i + 3 < fields.length; i += 4) {
    const date = new Date(fields[i + 2]);
    commits.push({ sha: fields[i].trim(), author: fields[i + 1], date: date.toISOString(), subject: fields[i + 3] });
  }
  return { commits: commits.slice(0, max), truncated: commits.length > max };
}

export async function drillDown(req: DrillDownRequest, signal?: AbortSignal): Promise<DrillDownResult> {
  if (req.spec.command) {
    throw new InsightsError('NO_DRILL_DOWN', 'a command series has no files to drill down to: its value is what the command printed at that commit');
  }
  if (req.spec.capture && req.capture === undefined) {
    throw new InsightsError('NO_CAPTURE_VALUE', 'a capture series drills down by its captured value; none was given');
  }
  const loc = await locate(req.repoPath, signal);
  const commit = await verifyCommit(loc.gitDir, req.commit, signal);
  const previous = req.previousCommit ? await verifyCommit(loc.gitDir, req.previousCommit, signal) : undefined;
  const matcher = newMatcher(req.spec);
  const counter = new BlobCounter(matcher, req);
  const memo = new Map<string, number>();
  let now: Map<string, number>;
  let before: Map<string, number> | undefined;
  try {
    now = await countTree(loc.gitDir, commit, req, counter, memo, signal);
    throwIfAborted(signal);
    before = previous ? await countTree(loc.gitDir, previous, req, counter, memo, signal) : undefined;
  } finally {
    counter.close();
  }

  const maxFiles = req.maxFiles ?? LIMITS.files;
  const maxCommits = req.maxCommits ?? LIMITS.commits;
  let total = 0;
  for (const v of now.values()) total += v;
  const files: DrillDownFile[] = [...now].map(([path, count]) => ({ path, count })).sort((a, b) => b.count - a.count || (a.path < b.path ? -1 : 1));

  const changes: DrillDownChange[] = [];
  if (before) {
    for (const path of new Set([...now.keys(), ...before.keys()])) {
      const b = before.get(path) ?? 0;
      const a = now.get(path) ?? 0;
      if (a !== b) changes.push({ path, before: b, after: a });
    }
    changes.sort((x, y) => Math.abs(y.after - y.before) - Math.abs(x.after - x.before) || (x.path < y.path ? -1 : 1));
  }
  const log = await commitsBetween(loc.gitDir, commit, previous, maxCommits, signal);
  const truncated = files.length > maxFiles || changes.length > maxFiles || log.truncated;
  return {
    seriesId: req.seriesId,
    repo: req.repo,
    commit,
    ...(previous ? { previousCommit: previous } : {}),
    total,
    files: files.slice(0, maxFiles),
    changes: changes.slice(0, maxFiles),
    commits: log.commits,
    ...(truncated ? { truncated: true } : {}),
  };
}

/**
 * The insights server's whole drill-down handler: the insight's definition and its last result
 * name the series (by its stable id) and the repository's folder; the rest is drillDown().
 */
export async function drillDownInsight(def: InsightDefinition, result: InsightResult, q: DrillDownQuery, signal?: AbortSignal): Promise<DrillDownResult> {
  const series = result.series.find((s) => s.id === q.seriesId);
  if (!series) throw new InsightsError('UNKNOWN_SERIES', `the insight "${def.title}" has no series ${q.seriesId} any more; refresh the dashboard`);
  const spec = toSeriesSpecs(def).find((s) => seriesId(s, series.capture) === q.seriesId);
  if (!spec) throw new InsightsError('UNKNOWN_SERIES', `the definition of "${def.title}" changed since it was computed; refresh the dashboard`);
  const repo = result.repos.find((r) => r.repo === q.repo);
  if (!repo) throw new InsightsError('UNKNOWN_REPO', `repository ${q.repo} is not part of "${def.title}" any more; refresh the dashboard`);
  return drillDown(
    { repoPath: repo.path, repo: q.repo, seriesId: q.seriesId, spec, capture: series.capture, commit: q.commit, previousCommit: q.previousCommit },
    signal,
  );
}
