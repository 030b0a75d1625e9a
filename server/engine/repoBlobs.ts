// The blobs of one repository's run: which are needed, from the store or read by git, and
// what is known of each. Per repository: repositories run concurrently, and one must never
// count another's blob before it has been read (forks share blobs through the store across runs).
import type { BlobAnswer } from './blobReader';
import { CatFile } from './blobReader';
import { blobFromStore, countsToString, putBlobCounts } from './blobStore';
import { countBlob } from './countBlob';
import { ZERO, type BlobCounts } from './countMatches';
import type { RunContext } from './runContext';
import type { BlobState } from './units';
import { MAX_TEXT_BLOB } from './countMatches';

/** A cheap string hash (FNV-1a) spreading paths over the git grep processes and blob readers. */
export function pathHash(path: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < path.length; i++) h = Math.imul(h ^ path.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export class RepoBlobs {
  readonly blobs = new Map<string, BlobState>();
  /** Objects missing from the repository (a partial clone): their values are not stored. */
  missing = 0;
  /** Blobs waiting for git grep (gitSearch.ts), with their paths. */
  readonly toGrep: string[] = [];
  readonly toGrepPath: string[] = [];
  /** Counts still running in guarded workers. */
  private readonly deferred: Promise<void>[] = [];
  // Blob readers: git inflates objects on as many cores as it may use while Node counts.
  private readonly readers: CatFile[] = [];
  private turn = 0;
  private checker: CatFile | undefined;
  // Each blob goes to the reader of its path, so that every version of a file (one delta chain)
  // is inflated by the same git process and its delta base cache; dealt out in turn, both
  // readers would inflate the same bases.
  private readonly pathOf = new Map<string, string>();
  /** A handful of blobs (one new commit) gets one reader: each git start costs more than it saves. */
  private readerCap: number;

  constructor(
    private readonly gitDir: string,
    private readonly ctx: RunContext,
  ) {
    this.readerCap = ctx.readersPerRepo;
  }

  /** A blob of `path` some unit counts; `size` from the tree listing, or -1 when a diff named it. */
  need(path: string, oid: string, size: number): void {
    const { ctx } = this;
    if (this.blobs.has(oid)) return;
    if (!ctx.units.some((u) => u.pathOk(path))) return;
    const cached = ctx.store && blobFromStore(ctx.store, oid, ctx.matchers, ctx.needLines);
    if (cached) {
      this.blobs.set(oid, cached);
      ctx.stats.blobsFromCache++;
      return;
    }
    this.blobs.set(oid, { size, binary: false }); // placeholder: requested
    if (ctx.readersPerRepo > 1) this.pathOf.set(oid, path);
    if (ctx.grepNeedles || ctx.gitLines) {
      // Sizes are asked after git grep.
      this.toGrep.push(oid);
      this.toGrepPath.push(path);
    } else if (size >= 0) this.withSize(oid, size);
    else this.sizeThenRead(oid);
  }

  /** Starts blob readers up to the cap (`cap` lowers it first, for a chunk too small for more). */
  startReaders(cap?: number): void {
    if (cap !== undefined && this.readers.length === 0) this.readerCap = cap;
    while (this.readers.length < this.readerCap) this.readers.push(new CatFile(this.gitDir, true, this.ctx.signal));
  }

  /** Reads the blob now, or once its size is known when none was given. */
  take(oid: string): void {
    if (this.blobs.get(oid)!.size >= 0) this.readNow(oid);
    else this.sizeThenRead(oid);
  }

  private readNow(oid: string): void {
    this.startReaders();
    this.ctx.progress.blobsTotal++;
    const path = this.pathOf.get(oid);
    this.readers[(path === undefined ? this.turn++ : pathHash(path)) % this.readers.length].request(oid, (a) => this.onContent(a));
  }

  private onContent(a: BlobAnswer): void {
    const { ctx } = this;
    if (ctx.signal?.aborted) return;
    ctx.progress.blobsDone++;
    if (a.size < 0 || !a.content) {
      this.markMissing(a.oid);
      return;
    }
    const buf = a.content;
    ctx.stats.blobsRead++;
    ctx.stats.bytesRead += buf.length;
    const { st, later, guarded } = countBlob(buf, a.size, ctx.matchers, ctx.guards, ctx.needLines);
    const store = ctx.store;
    guarded.forEach((p, j) => {
      const m = ctx.matchers[later[j]];
      this.deferred.push(p.then((r) => void (r && store && store.putCount(m.key, a.oid, countsToString(r)))));
    });
    this.blobs.set(a.oid, st);
    if (store) putBlobCounts(store, a.oid, st, ctx.matchers, later);
    if (ctx.progress.blobsDone % 256 === 0) ctx.report();
  }

  private markMissing(oid: string): void {
    this.blobs.set(oid, { size: 0, binary: false, missing: true });
    this.missing++;
  }

  /** Whether a blob of this size is read at all: larger than every limit, it is skipped. */
  private fits(oid: string, size: number): boolean {
    if (size > this.ctx.maxLimit || size > MAX_TEXT_BLOB) {
      this.blobs.set(oid, { size, binary: false, skipped: true });
      return false;
    }
    return true;
  }

  private withSize(oid: string, size: number): void {
    this.blobs.get(oid)!.size = size;
    if (this.fits(oid, size)) this.readNow(oid);
  }

  /** Asks git for a blob's size; a missing object is recorded as such instead. */
  private askSize(oid: string, onSize: (size: number) => void): void {
    this.checker ??= new CatFile(this.gitDir, false, this.ctx.signal);
    this.checker.request(oid, (a) => {
      if (a.size >= 0) return onSize(a.size);
      this.markMissing(oid);
    });
  }

  private sizeThenRead(oid: string): void {
    this.askSize(oid, (size) => this.withSize(oid, size));
  }

  /** The size the tree listing gave (ls-tree -l), else asked of git (a diff does not give sizes). */
  private withKnownSize(oid: string, onSize: (size: number) => void): void {
    const known = this.blobs.get(oid)?.size ?? -1;
    if (known >= 0) onSize(known);
    else this.askSize(oid, onSize);
  }

  /** A blob git counted: its size is still needed, since each series has its own size limit. */
  countedByGit(oid: string, counts: BlobCounts[]): void {
    const { ctx } = this;
    const st: BlobState = { size: this.blobs.get(oid)?.size ?? -1, binary: false, counts };
    this.blobs.set(oid, st);
    ctx.stats.blobsCountedByGit++;
    this.withKnownSize(oid, (size) => {
      st.size = size;
      if (ctx.store) putBlobCounts(ctx.store, oid, st, ctx.matchers);
    });
  }

  /**
   * Lines from git grep -c '' (-I): a blob it did not name is binary, or empty when its size
   * is 0 (a text file always has a line). Its size decides, and applies the size limits.
   */
  linesFromGit(oid: string, lines: number | undefined): void {
    const { ctx } = this;
    ctx.stats.blobsCountedByGit++;
    this.withKnownSize(oid, (size) => {
      if (!this.fits(oid, size)) return;
      const binary = lines === undefined && size > 0;
      const st: BlobState = { size, binary, lines: binary ? undefined : lines ?? 0 };
      this.blobs.set(oid, st);
      if (ctx.store) putBlobCounts(ctx.store, oid, st, ctx.matchers);
    });
  }

  /** A blob git grep showed to hold none of the needles: every query counts zero in it. */
  ruleOut(oid: string): void {
    const { ctx } = this;
    const st: BlobState = { size: this.blobs.get(oid)!.size, binary: false, counts: ctx.matchers.map((m) => (m.capture ? new Map() : ZERO)) };
    this.blobs.set(oid, st);
    ctx.stats.blobsRuledOut++;
    if (ctx.store) putBlobCounts(ctx.store, oid, st, ctx.matchers);
  }

  /** Waits for every size asked, blob read and guarded count. */
  async finish(): Promise<void> {
    const { ctx } = this;
    if (this.checker) await this.checker.finish();
    ctx.trace(`sizes checked; blobs requested ${ctx.progress.blobsTotal}, done ${ctx.progress.blobsDone}`);
    await Promise.all(this.readers.map((r) => r.finish()));
    await Promise.all(this.deferred);
    ctx.trace('blobs read');
  }

  kill(): void {
    this.checker?.kill();
    for (const r of this.readers) r.kill();
  }
}
