// Long-lived `git cat-file --batch` / `--batch-check` readers. Requests are pipelined: ids are
// written as they become known and answers are parsed from the stream in order, so git
// decompresses on one core while Node counts on the other.
import type { ChildProcess } from 'node:child_process';
import { spawnGit, gitNotFound, partialCloneError } from './git';
import { AbortedError, InsightsError } from './errors';

export interface BlobAnswer {
  oid: string;
  /** -1 when the object is missing. */
  size: number;
  /** Present for `--batch` readers. */
  content?: Buffer;
}

type Callback = (a: BlobAnswer) => void;

export class CatFile {
  private readonly child: ChildProcess;
  private readonly queue: { oid: string; cb: Callback }[] = [];
  private head = 0;
  private pendingWrite: string[] = [];
  private writeScheduled = false;
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Body length still expected for the current object (content readers). */
  private want = -1;
  private current: BlobAnswer | undefined;
  private ended = false;
  private failure: Error | undefined;
  private readonly done: Promise<void>;
  bytesRead = 0;

  constructor(gitDir: string, readonly withContent: boolean, private readonly signal?: AbortSignal) {
    // Size checks flush each answer at once, so the content requests that depend on them flow
    // while later ids are still being written; content readers buffer for throughput.
    this.child = spawnGit(gitDir, ['cat-file', ...(withContent ? ['--batch', '--buffer'] : ['--batch-check'])]);
    const stderr: Buffer[] = [];
    this.child.stderr!.on('data', (b: Buffer) => stderr.push(b));
    this.child.stdout!.on('data', (b: Buffer) => this.onData(b));
    this.child.stdin!.on('error', () => { /* reported through close */ });
    const onAbort = () => this.child.kill('SIGKILL');
    signal?.addEventListener('abort', onAbort, { once: true });
    this.done = new Promise((resolve, reject) => {
      this.child.on('error', (e: NodeJS.ErrnoException) => {
        this.failure = e.code === 'ENOENT' ? gitNotFound(e) : e;
      });
      this.child.on('close', (code) => {
        signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted) return reject(new AbortedError());
        if (this.failure) return reject(this.failure);
        if (code !== 0 || this.head < this.queue.length) {
          const text = Buffer.concat(stderr).toString().trim();
          // A partial clone (--filter=blob:none): git dies on a blob it would have to download.
          const partial = partialCloneError(text);
          if (partial) return reject(partial);
          return reject(new InsightsError('GIT_FAILED', `git cat-file stopped early (exit ${code}): ${text}`));
        }
        resolve();
      });
    });
    this.done.catch(() => { /* observed by finish() */ });
  }

  /** Queues a request; `cb` is called in request order. */
  request(oid: string, cb: Callback): void {
    if (this.ended) throw new Error('CatFile.request after end');
    this.queue.push({ oid, cb });
    this.pendingWrite.push(oid);
    if (!this.writeScheduled) {
      this.writeScheduled = true;
      setImmediate(() => this.flushWrites());
    }
  }

  private flushWrites(): void {
    this.writeScheduled = false;
    if (this.pendingWrite.length === 0) return;
    const text = this.pendingWrite.join('\n') + '\n';
    this.pendingWrite = [];
    this.child.stdin!.write(text);
    if (this.ended) this.child.stdin!.end();
  }

  /** No more requests: lets git flush and exit; resolves when every answer was delivered. */
  finish(): Promise<void> {
    this.ended = true;
    if (this.pendingWrite.length === 0 && !this.writeScheduled) this.child.stdin!.end();
    return this.done;
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }

  private onData(b: Buffer): void {
    // After a cancel, answers already in the pipe are dropped instead of counted.
    if (this.signal?.aborted) return;
    this.chunks.push(b);
    this.buffered += b.length;
    this.bytesRead += b.length;
    try {
      this.drain();
    } catch (e) {
      this.failure = e as Error;
      this.child.kill('SIGKILL');
    }
  }

  private take(n: number): Buffer {
    // Returns exactly n bytes from the front of the chunk list.
    const first = this.chunks[0];
    if (first.length === n) {
      this.chunks.shift();
      this.buffered -= n;
      return first;
    }
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0];
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.buffered -= n;
    return out;
  }

  private findNewline(): number {
    let base = 0;
    for (const c of this.chunks) {
      const i = c.indexOf(10);
      if (i >= 0) return base + i;
      base += c.length;
    }
    return -1;
  }

  private drain(): void {
    for (;;) {
      if (this.want >= 0) {
        // content + trailing LF
        if (this.buffered < this.want + 1) return;
        const content = this.take(this.want);
        this.take(1);
        const a = this.current!;
        a.content = content;
        this.want = -1;
        this.current = undefined;
        this.deliver(a);
        continue;
      }
      if (this.buffered === 0) return;
      const nl = this.findNewline();
      if (nl < 0) return;
      const line = this.take(nl + 1).toString('latin1', 0, nl);
      const parts = line.split(' ');
      const req = this.queue[this.head];
      if (!req) throw new Error(`git cat-file answered more than asked: ${line}`);
      if (parts[1] === 'missing' || parts[1] === 'ambiguous') {
        this.deliver({ oid: req.oid, size: -1 });
        continue;
      }
      const size = Number(parts[2]);
      if (!Number.isFinite(size)) throw new Error(`unexpected git cat-file header: ${line}`);
      if (this.withContent) {
        this.current = { oid: req.oid, size };
        this.want = size;
      } else {
        this.deliver({ oid: req.oid, size });
      }
    }
  }

  private deliver(a: BlobAnswer): void {
    const req = this.queue[this.head];
    this.queue[this.head] = undefined as never;
    this.head++;
    req.cb(a);
  }
}
