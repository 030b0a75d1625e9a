// Bare mirrors of the org's repositories in one folder of a worker, bounded in size: a job fetches
// into the mirror it already has instead of cloning again, and when the folder grows past its
// budget the mirrors used longest ago are removed (never one in use). The last use of a mirror is
// its folder's modification time, so the order survives a restart of the worker.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export class GitCommandError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Runs git without a terminal (a URL that asks for a password fails instead of waiting). */
export function runGit(args: string[], opts: { cwd?: string; signal?: AbortSignal } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd: opts.cwd,
      // Only transports that fetch data: never ext:: (runs a command) or fd::, whatever git's config says.
      env: { ...process.env, GIT_ALLOW_PROTOCOL: process.env.GIT_ALLOW_PROTOCOL ?? 'https:http:ssh:git:file', GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', SSH_ASKPASS: 'true', GIT_SSH_COMMAND: process.env.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes' },
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: opts.signal,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
  });
}

/** The last meaningful line git printed: what a person reads to fix a URL or an access right. */
function gitReason(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const fatal = lines.filter((l) => /^(fatal|error):/.test(l));
  return (fatal.length ? fatal.join(' ') : lines.pop() ?? 'git failed without a message').slice(0, 500);
}

/** The head commit of a remote's default branch (`git ls-remote URL HEAD`). */
export async function remoteHead(url: string, signal?: AbortSignal): Promise<string> {
  const r = await runGit(['ls-remote', '--', url, 'HEAD'], { signal });
  if (r.code !== 0) throw new GitCommandError('REPO_UNREACHABLE', `git ls-remote ${url}: ${gitReason(r.stderr)}`);
  const m = /^([0-9a-f]{40,64})\tHEAD$/m.exec(r.stdout);
  if (!m) throw new GitCommandError('REPO_EMPTY', `git ls-remote ${url}: the repository has no HEAD (empty, or no default branch)`);
  return m[1];
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

async function dirSize(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await dirSize(p);
    else {
      try {
        total += (await lstat(p)).size;
      } catch {
        // removed meanwhile (git gc)
      }
    }
  }
  return total;
}

/** The engine's cache of a mirror (per-blob counts, per-commit values) lives inside it: counted in
 *  the budget, removed with it, and never shared with another repository's jobs. */
export const ENGINE_CACHE_NAME = 'code-insights-cache.sqlite';

export interface MirrorUse {
  gitDir: string;
  /** The engine cache of this mirror (ENGINE_CACHE_NAME inside gitDir). */
  cacheFile: string;
  /** Bytes the mirror grew by (clone or fetch). */
  fetchedBytes: number;
  cloned: boolean;
}

export class MirrorStore {
  private readonly busy = new Map<string, Promise<unknown>>();
  private readonly inUse = new Map<string, number>();
  private readonly sizes = new Map<string, number>();

  constructor(
    readonly dir: string,
    /** Bytes; 0 = no bound. */
    readonly budget: number,
  ) {}

  private ready = false;

  /** Made at first use, not at start: a service that never computes leaves no folder behind. */
  private ensureDir(): void {
    if (this.ready) return;
    mkdirSync(this.dir, { recursive: true });
    // A clone interrupted by a crash left a temporary folder: nothing can finish it.
    for (const name of readdirSync(this.dir)) if (name.endsWith('.tmp')) rmSync(join(this.dir, name), { recursive: true, force: true });
    this.ready = true;
  }

  pathOf(url: string): string {
    return join(this.dir, `${createHash('sha256').update(url).digest('hex').slice(0, 24)}.git`);
  }

  /** Total bytes of the mirrors known to this process (for the mirror-size metric). */
  totalBytes(): number {
    let t = 0;
    for (const v of this.sizes.values()) t += v;
    return t;
  }

  /** Fetches (or clones) the mirror of `url`, then runs `fn` on it while no eviction can remove it.
   *  Jobs of one worker on one repository take turns (git fetch into one mirror is not concurrent). */
  async use<T>(url: string, fn: (m: MirrorUse) => Promise<T>, signal?: AbortSignal): Promise<T> {
    this.ensureDir();
    const path = this.pathOf(url);
    const prev = this.busy.get(path) ?? Promise.resolve();
    const mine = prev.catch(() => undefined).then(async () => {
      this.inUse.set(path, (this.inUse.get(path) ?? 0) + 1);
      try {
        const use = await this.update(url, path, signal);
        const now = new Date();
        utimesSync(path, now, now);
        // The size measured after the fetch holds the engine cache as it was; the job may grow
        // it, and the budget counts it: the file's change is added, not the folder walked again.
        const cacheBefore = fileSize(use.cacheFile);
        try {
          return await fn(use);
        } finally {
          this.sizes.set(path, (this.sizes.get(path) ?? 0) + fileSize(use.cacheFile) - cacheBefore);
        }
      } finally {
        this.inUse.set(path, this.inUse.get(path)! - 1);
        if (this.inUse.get(path) === 0) this.inUse.delete(path);
      }
    });
    this.busy.set(path, mine);
    try {
      return await mine;
    } finally {
      if (this.busy.get(path) === mine) this.busy.delete(path);
      await this.evict();
    }
  }

  private async update(url: string, path: string, signal?: AbortSignal): Promise<MirrorUse> {
    if (existsSync(join(path, 'HEAD'))) {
      const before = this.sizes.get(path) ?? (await dirSize(path));
      const r = await runGit(['--git-dir', path, 'fetch', '--prune', '--quiet', 'origin'], { signal });
      if (r.code !== 0) throw new GitCommandError('FETCH_FAILED', `git fetch ${url}: ${gitReason(r.stderr)}`);
      const after = await dirSize(path);
      this.sizes.set(path, after);
      return { gitDir: path, cacheFile: join(path, ENGINE_CACHE_NAME), fetchedBytes: Math.max(0, after - before), cloned: false };
    }
    const tmp = `${path}.${process.pid}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    const r = await runGit(['clone', '--mirror', '--quiet', '--', url, tmp], { signal });
    if (r.code !== 0) {
      rmSync(tmp, { recursive: true, force: true });
      throw new GitCommandError('CLONE_FAILED', `git clone ${url}: ${gitReason(r.stderr)}`);
    }
    rmSync(path, { recursive: true, force: true });
    renameSync(tmp, path);
    const size = await dirSize(path);
    this.sizes.set(path, size);
    return { gitDir: path, cacheFile: join(path, ENGINE_CACHE_NAME), fetchedBytes: size, cloned: true };
  }

  /** Removes the least recently used mirrors not in use until the folder fits its budget. */
  async evict(): Promise<string[]> {
    if (this.budget <= 0 || !existsSync(this.dir)) return [];
    const mirrors: { path: string; used: number; size: number }[] = [];
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith('.git')) continue;
      const path = join(this.dir, name);
      let used: number;
      try {
        used = statSync(path).mtimeMs;
      } catch {
        continue;
      }
      const size = this.sizes.get(path) ?? (await dirSize(path));
      this.sizes.set(path, size);
      mirrors.push({ path, used, size });
    }
    let total = mirrors.reduce((s, m) => s + m.size, 0);
    const removed: string[] = [];
    for (const m of mirrors.sort((a, b) => a.used - b.used)) {
      if (total <= this.budget) break;
      if (this.inUse.has(m.path) || this.busy.has(m.path)) continue;
      rmSync(m.path, { recursive: true, force: true });
      this.sizes.delete(m.path);
      total -= m.size;
      removed.push(m.path);
    }
    return removed;
  }
}
