// Finds which of many blobs can hold a literal query at all, and counts plain literals exactly,
// without piping every blob into Node: the blobs go into a throwaway tree (written to a
// temporary object directory, never into the user's repository) and `git grep -F` searches it.
// `blobsContaining` is a prefilter only: the exact count then comes from the engine's own
// matcher. `countLiterals` is exact for the needles the caller proved it may use.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { commonGitDir, hasReplacements, runGit, spawnGit } from './git';
import { AbortedError } from './errors';

const objectsDirs = new Map<string, Promise<string>>();

/**
 * The repository's object directory, where `git rev-parse --git-path objects` puts it (git's
 * environment is cleared, so only a linked worktree's commondir moves it): read from the git
 * dir without starting git when that is plain, else asked of git. Once per git dir and process.
 */
export function objectsDir(gitDir: string, signal?: AbortSignal): Promise<string> {
  let p = objectsDirs.get(gitDir);
  if (!p) {
    p = (async () => {
      const dir = join(commonGitDir(gitDir), 'objects');
      if (existsSync(join(dir, 'info')) || existsSync(join(dir, 'pack'))) return dir;
      return (await runGit(gitDir, ['rev-parse', '--path-format=absolute', '--git-path', 'objects'], { signal })).trim();
    })();
    p.catch(() => objectsDirs.delete(gitDir));
    objectsDirs.set(gitDir, p);
  }
  return p;
}

/**
 * Where each blob's entry sits in its throwaway tree: entries are named by decimal index and
 * git orders them bytewise ("0", "1", "10", ...), and git grep visits them in that order, so
 * the rank of the last entry it named tells how far it has got.
 */
function treeOrder(n: number): { order: string[]; rank: Uint32Array } {
  const order = Array.from({ length: n }, (_, i) => String(i)).sort();
  const rank = new Uint32Array(n);
  order.forEach((name, r) => (rank[Number(name)] = r));
  return { order, rank };
}

/** The object format of these ids: SHA-1 (40 hex digits) or SHA-256 (64); undefined if mixed or other. */
function objectFormatOf(oids: string[]): 'sha1' | 'sha256' | undefined {
  const len = oids[0]?.length ?? 40;
  if (len !== 40 && len !== 64) return undefined;
  return oids.every((o) => o.length === len) ? (len === 40 ? 'sha1' : 'sha256') : undefined;
}

/**
 * Writes a tree naming each blob by its index into `objects` (a loose object) and returns its
 * id; ids of another length go through `git mktree --missing`. Writing it here spares a git
 * process and its round trip on the path to the search.
 */
export async function throwawayTree(objects: string, oids: string[], mktree: () => Promise<string>, order = treeOrder(oids.length).order): Promise<string> {
  const format = objectFormatOf(oids);
  if (!format) return (await mktree()).trim();
  const idBytes = format === 'sha1' ? 20 : 32;
  // Entries sorted by name as git orders them (bytewise; all are blobs named by decimal index),
  // each "100644 <name>\0" and the raw id.
  let bodyLength = 0;
  for (const name of order) bodyLength += 8 + name.length + idBytes;
  const header = `tree ${bodyLength}\0`;
  const raw = Buffer.allocUnsafe(header.length + bodyLength);
  let at = raw.write(header, 0, 'latin1');
  for (const name of order) {
    at += raw.write(`100644 ${name}\0`, at, 'latin1');
    at += raw.write(oids[Number(name)], at, 'hex');
  }
  const id = createHash(format).update(raw).digest('hex');
  mkdirSync(join(objects, id.slice(0, 2)), { recursive: true });
  writeFileSync(join(objects, id.slice(0, 2), id.slice(2)), deflateSync(raw, { level: 0 }));
  return id;
}

/**
 * Runs git grep, handing stdout to `onChunk` as it arrives. Exit 1 (nothing matched) is success;
 * any other failure rejects, as does an abort (the child is killed).
 */
function streamGrep(cwdGitDir: string, args: string[], env: Record<string, string>, onChunk: (b: Buffer) => void, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError());
    const child = spawnGit(cwdGitDir, args, undefined, env);
    const stderr: Buffer[] = [];
    let failed: unknown;
    child.stderr!.on('data', (b: Buffer) => stderr.push(b));
    child.stdout!.on('data', (b: Buffer) => {
      if (failed) return;
      try {
        onChunk(b);
      } catch (e) {
        failed = e;
        child.kill('SIGKILL');
      }
    });
    const onAbort = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdin!.end();
    child.on('error', reject);
    child.on('close', (code) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) return reject(new AbortedError());
      if (failed) return reject(failed);
      if (code !== 0 && code !== 1) return reject(new Error(`git grep failed (exit ${code}): ${Buffer.concat(stderr).toString().trim()}`));
      resolve();
    });
  });
}

/**
 * Calls `onCandidate` for each of `oids` whose content contains one of `needles` (bytes,
 * case-insensitive for ASCII when asked), as git grep finds them, so reading them overlaps
 * the search. Rejects on any git failure; callers then read every blob not yet announced.
 */
export async function blobsContaining(
  gitDir: string,
  oids: string[],
  needles: string[],
  ignoreCase: boolean,
  onCandidate: (oid: string) => void,
  signal?: AbortSignal,
  threads = availableParallelism(),
): Promise<void> {
  await inTempRepo(gitDir, oids, signal, async (temp, env, tree) => {
    const args = ['-c', 'core.attributesFile=/dev/null', '-c', `grep.threads=${threads}`, 'grep', '-l', '-z', '--no-color', '--no-textconv', '-F', ...(ignoreCase ? ['-i'] : []), ...needles.flatMap((n) => ['-e', n]), tree];
    let rest = '';
    await streamGrep(temp, args, env, (b) => {
      const recs = (rest + b.toString('latin1')).split('\0');
      rest = recs.pop()!;
      for (const rec of recs) {
        const oid = oids[Number(rec.slice(rec.lastIndexOf(':') + 1))];
        if (oid === undefined) throw new Error(`unexpected git grep output: ${rec}`);
        onCandidate(oid);
      }
    }, signal);
  });
}

export interface LiteralCounts {
  matches: number;
  lines: number;
}

/**
 * Exact counts of plain ASCII literals, from git itself: `git grep -I -o -n -F` over a
 * throwaway tree of the blobs, run in a temporary repository that borrows the user's objects
 * (so no repository config, attributes or hooks apply and nothing is written to the user's
 * repository). Valid only for needles whose occurrences cannot overlap one another (the
 * caller checks): then git's one leftmost scan over all needles finds, for each needle, the
 * same non-overlapping matches as scanning for it alone; lines split on LF as the engine's do,
 * and -I skips exactly the files with a NUL in their first 8000 bytes.
 *
 * `onCounts` is called once per blob with any match, as soon as git has moved past it (git
 * prints one file's matches together), with one entry per needle; blobs never named hold none.
 * Resolves once git has finished.
 */
export async function countLiterals(
  gitDir: string,
  oids: string[],
  needles: string[],
  onCounts: (oid: string, counts: LiteralCounts[]) => void,
  signal?: AbortSignal,
  threads = availableParallelism(),
  onProgress?: (searched: number) => void,
): Promise<void> {
  await inTempRepo(gitDir, oids, signal, async (temp, env, tree, rank) => {
    const args = ['-c', 'core.attributesFile=/dev/null', '-c', `grep.threads=${threads}`, 'grep', '-I', '-o', '-n', '-z', '--no-color', '--no-textconv', '-F', ...needles.flatMap((n) => ['-e', n]), tree];
    const index = new Map(needles.map((n, i) => [n, i]));
    // The blob whose records are being read, its counts and the last line counted per needle.
    let file = '';
    let oid = '';
    let counts: LiteralCounts[] = [];
    let lastLine: number[] = [];
    const done = new Set<string>();
    const flush = () => {
      if (!oid) return;
      if (done.has(oid)) throw new Error(`git grep named ${oid} twice`);
      done.add(oid);
      onCounts(oid, counts);
      oid = '';
    };
    let rest = '';
    await streamGrep(temp, args, env, (b) => {
      const recs = (rest + b.toString('latin1')).split('\n');
      rest = recs.pop()!;
      for (const rec of recs) {
        if (!rec) continue;
        const [name, lineNo, text] = rec.split('\0');
        const k = index.get(text);
        if (k === undefined || lineNo === undefined) throw new Error(`unexpected git grep output: ${rec.slice(0, 80)}`);
        if (name !== file) {
          flush();
          file = name;
          const index = Number(name.slice(name.lastIndexOf(':') + 1));
          oid = oids[index];
          if (oid === undefined) throw new Error(`unexpected git grep output: ${rec.slice(0, 80)}`);
          onProgress?.(rank[index]);
          counts = needles.map(() => ({ matches: 0, lines: 0 }));
          lastLine = needles.map(() => 0);
        }
        counts[k].matches++;
        const n = Number(lineNo);
        if (lastLine[k] !== n) {
          lastLine[k] = n;
          counts[k].lines++;
        }
      }
    }, signal);
    if (rest) throw new Error(`unexpected git grep output: ${rest.slice(0, 80)}`);
    flush();
  });
}

/**
 * A temporary repository that borrows the user's objects, holding a throwaway tree of `oids`
 * named by index: no repository config, attributes or hooks apply in it, and nothing is
 * written to the user's repository. It carries the user's replace refs, so that an object id
 * reads here as it reads there (`git replace`). Removed when `work` settles.
 */
async function inTempRepo(
  gitDir: string,
  oids: string[],
  signal: AbortSignal | undefined,
  work: (temp: string, env: Record<string, string>, tree: string, rank: Uint32Array) => Promise<void>,
): Promise<void> {
  const temp = mkdtempSync(join(tmpdir(), 'code-insights-count-'));
  try {
    const objects = join(temp, 'objects');
    mkdirSync(join(objects, 'info'), { recursive: true });
    mkdirSync(join(temp, 'refs'), { recursive: true });
    writeFileSync(join(temp, 'HEAD'), 'ref: refs/heads/main\n');
    writeFileSync(join(objects, 'info', 'alternates'), `${await objectsDir(gitDir, signal)}\n`);
    // A SHA-256 repository's objects are read only by a repository of that format.
    if (objectFormatOf(oids) === 'sha256') writeFileSync(join(temp, 'config'), '[core]\n\trepositoryformatversion = 1\n[extensions]\n\tobjectformat = sha256\n');
    if (await hasReplacements(gitDir, signal)) {
      const refs = await runGit(gitDir, ['for-each-ref', '--format=%(objectname) %(refname)', 'refs/replace/'], { signal, what: 'git for-each-ref' });
      writeFileSync(join(temp, 'packed-refs'), refs);
    }
    const env = { GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_ATTR_NOSYSTEM: '1' };
    const { order, rank } = treeOrder(oids.length);
    const tree = await throwawayTree(objects, oids, () =>
      runGit(temp, ['mktree', '--missing'], { input: oids.map((o, i) => `100644 blob ${o}\t${i}\n`).join(''), env, signal, what: 'git mktree' }),
    order);
    await work(temp, env, tree, rank);
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

/**
 * Lines of each text blob, from `git grep -I -c -e ''` over a throwaway tree in a temporary
 * repository borrowing the user's objects (as countLiterals). Every line matches the empty
 * pattern, so the count is the engine's physical line count: LF bytes plus one for a last line
 * without LF. Blobs absent from the map are binary (a NUL among the first 8000 bytes, as the
 * engine decides it) or empty.
 */
export async function countLinesByGit(
  gitDir: string,
  oids: string[],
  signal?: AbortSignal,
  threads = availableParallelism(),
  onProgress?: (searched: number) => void,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  await inTempRepo(gitDir, oids, signal, async (temp, env, tree, rank) => {
    const args = ['-c', 'core.attributesFile=/dev/null', '-c', `grep.threads=${threads}`, 'grep', '-I', '-c', '-z', '--no-color', '--no-textconv', '-e', '', tree];
    let rest = '';
    await streamGrep(temp, args, env, (b) => {
      const recs = (rest + b.toString('latin1')).split('\n');
      rest = recs.pop()!;
      for (const rec of recs) {
        const nul = rec.indexOf('\0');
        const index = Number(rec.slice(rec.lastIndexOf(':', nul) + 1, nul));
        const oid = oids[index];
        const n = Number(rec.slice(nul + 1));
        if (nul < 0 || oid === undefined || !Number.isSafeInteger(n) || n <= 0 || out.has(oid)) throw new Error(`unexpected git grep output: ${rec.slice(0, 80)}`);
        out.set(oid, n);
        onProgress?.(rank[index]);
      }
    }, signal);
    if (rest) throw new Error(`unexpected git grep output: ${rest.slice(0, 80)}`);
  });
  return out;
}

/** True when no occurrence of one needle can overlap an occurrence of another. */
export function needlesAreDisjoint(needles: string[]): boolean {
  for (const a of needles) {
    for (const b of needles) {
      if (a === b) continue;
      if (a.includes(b)) return false;
      for (let k = 1; k < Math.min(a.length, b.length); k++) if (a.endsWith(b.slice(0, k))) return false;
    }
  }
  return true;
}
