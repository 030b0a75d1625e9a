// The blobs waiting for git grep: with plain literals git counts them exactly, for lines per
// language git counts the lines, else git grep names the blobs that can match and only those
// are read. A chunk too small to be worth a git process, or one git fails on, is read whole.
import { availableParallelism } from 'node:os';
import { AbortedError } from './errors';
import { blobsContaining, countLinesByGit, countLiterals } from './grepPrefilter';
import { pathHash, type RepoBlobs } from './repoBlobs';
import type { RunContext } from './runContext';

/** Progress while git searches a chunk: how far through it git has named a blob. */
class ChunkProgress {
  private shown = 0;
  constructor(
    private readonly ctx: RunContext,
    private readonly size: number,
  ) {}

  readonly searched = (upTo: number): void => {
    if (upTo - this.shown < 256 && upTo < this.size) return;
    this.ctx.progress.blobsDone += upTo - this.shown;
    this.shown = upTo;
    this.ctx.report();
  };

  settle(): void {
    this.searched(this.size);
  }

  /** git failed on this chunk: its share of the progress is taken back before the fallback. */
  unsettle(): void {
    this.ctx.progress.blobsTotal -= this.size;
    this.ctx.progress.blobsDone -= this.shown;
    this.shown = 0;
  }
}

async function searchChunk(gitDir: string, ctx: RunContext, blobs: RepoBlobs, chunk: string[], threads: number): Promise<void> {
  const { signal, trace } = ctx;
  const worthIt = chunk.length >= ctx.tuning.grepMinBlobs;
  const progress = new ChunkProgress(ctx, chunk.length);
  if (worthIt && (ctx.gitLines || ctx.exactNeedles)) ctx.progress.blobsTotal += chunk.length;
  const announced = new Set<string>();
  const take = (oid: string) => {
    if (announced.has(oid)) return;
    announced.add(oid);
    blobs.take(oid);
  };
  let filtered = false;
  if (ctx.gitLines && worthIt) {
    try {
      const lines = await countLinesByGit(gitDir, chunk, signal, threads, progress.searched);
      progress.settle();
      for (const oid of chunk) blobs.linesFromGit(oid, lines.get(oid));
      trace(`git counted the lines of ${chunk.length} blobs`);
      return;
    } catch (e) {
      if (e instanceof AbortedError) throw e;
      trace(`git line counting failed, reading every blob: ${(e as Error).message}`);
      progress.unsettle();
    }
  }
  const exact = ctx.exactNeedles;
  if (exact && worthIt) {
    // Plain literals: git counts them exactly; only blobs with a match need their size,
    // asked as git names them.
    const counted = new Set<string>();
    try {
      await countLiterals(gitDir, chunk, exact, (oid, c) => {
        counted.add(oid);
        blobs.countedByGit(oid, ctx.matchers.map((m) => {
          const x = c[exact.indexOf(m.exactNeedle!)];
          return { matches: x.matches, lines: x.lines, files: x.lines > 0 ? 1 : 0 };
        }));
      }, signal, threads, progress.searched);
      progress.settle();
      for (const oid of chunk) if (!counted.has(oid)) blobs.ruleOut(oid);
      trace(`git counted ${chunk.length} blobs, ${counted.size} with matches`);
      return;
    } catch (e) {
      if (e instanceof AbortedError) throw e;
      trace(`git counting failed, falling back: ${(e as Error).message}`);
      // What git counted before it failed stands; the rest is searched or read below.
      progress.unsettle();
      if (counted.size) chunk = chunk.filter((oid) => !counted.has(oid));
    }
  }
  if (worthIt && ctx.grepNeedles) {
    try {
      await blobsContaining(gitDir, chunk, ctx.grepNeedles.needles, ctx.grepNeedles.ignoreCase, take, signal, threads);
      filtered = true;
    } catch (e) {
      if (e instanceof AbortedError) throw e;
      trace(`grep prefilter failed, reading every blob: ${(e as Error).message}`);
    }
  }
  trace(`grep prefilter: ${filtered ? `${announced.size} of ${chunk.length}` : 'not used'}`);
  // Read whole: the reader starts now, while the sizes of blobs a diff named are asked.
  if (!filtered && !worthIt && chunk.length > 0) blobs.startReaders(1);
  for (const oid of chunk) {
    if (announced.has(oid)) continue;
    if (filtered) blobs.ruleOut(oid);
    else take(oid);
  }
}

/**
 * Once the trees are walked, the blobs waiting for git grep are split by path over one git
 * process per core (git grep inflates objects on one thread per process). By path, so that
 * every version of a file, one delta chain, is inflated by the same process: split any other
 * way, both processes inflate the same delta bases and the second core buys little.
 */
export function searchAll(gitDir: string, ctx: RunContext, blobs: RepoBlobs): Promise<void> {
  ctx.trace('search start');
  const { toGrep, toGrepPath } = blobs;
  const parts = Math.max(1, Math.min(availableParallelism(), 8, Math.floor(toGrep.length / ctx.tuning.grepMinBlobs)));
  if (parts === 1) return searchChunk(gitDir, ctx, blobs, toGrep, availableParallelism());
  const chunks: string[][] = Array.from({ length: parts }, () => []);
  toGrep.forEach((oid, i) => chunks[pathHash(toGrepPath[i]) % parts].push(oid));
  return Promise.all(chunks.map((c) => searchChunk(gitDir, ctx, blobs, c, 1))).then(() => undefined);
}
