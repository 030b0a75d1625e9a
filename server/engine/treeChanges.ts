// Tree listings and tree diffs between consecutive sampled commits, streamed as they are
// parsed so blob reads start while git is still walking trees.
import { spawnGit, gitNotFound, firstLine, partialCloneError } from './git';
import { AbortedError, InsightsError } from './errors';

/** Regular files only: symlinks (120000) and submodules (160000) never count. */
export function isRegularFileMode(mode: string): boolean {
  return mode === '100644' || mode === '100755' || mode === '100664';
}

export interface TreeEntry {
  path: string;
  oid: string;
  /** Known from ls-tree -l; -1 when unknown (from a diff). */
  size: number;
}

export interface FileChange {
  path: string;
  /** Undefined when the old side was absent or not a regular file. */
  old?: string;
  new?: string;
}

function streamZ(
  gitDir: string,
  args: string[],
  input: string | undefined,
  onRecord: (rec: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError());
    const child = spawnGit(gitDir, args);
    const stderr: Buffer[] = [];
    let rest: Buffer | undefined;
    let failed: unknown;
    child.stderr!.on('data', (b: Buffer) => stderr.push(b));
    child.stdout!.on('data', (b: Buffer) => {
      const buf = rest ? Buffer.concat([rest, b]) : b;
      let start = 0;
      for (;;) {
        const z = buf.indexOf(0, start);
        if (z < 0) break;
        try {
          onRecord(buf.toString('utf8', start, z));
        } catch (e) {
          failed = e;
          child.kill('SIGKILL');
          return;
        }
        start = z + 1;
      }
      rest = start < buf.length ? buf.subarray(start) : undefined;
    });
    const onAbort = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? gitNotFound(e) : e));
    child.on('close', (code) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) return reject(new AbortedError());
      if (failed) return reject(failed);
      if (code !== 0) {
        const text = Buffer.concat(stderr).toString();
        // ls-tree -l needs every blob's size, which a partial clone may not have.
        return reject(partialCloneError(text) ?? new InsightsError('GIT_FAILED', `git ${args[0]} failed: ${firstLine(text) || `exit ${code}`}`));
      }
      resolve();
    });
    child.stdin!.on('error', () => { /* reported through close */ });
    child.stdin!.end(input ?? '');
  });
}

/** Every regular file of a commit's tree; sizes cost git a lookup per blob, so only when asked. */
export function listTree(gitDir: string, commit: string, onEntry: (e: TreeEntry) => void, signal?: AbortSignal, withSizes = true): Promise<void> {
  return streamZ(
    gitDir,
    ['ls-tree', '-r', ...(withSizes ? ['-l'] : []), '-z', '--full-tree', commit],
    undefined,
    (rec) => {
      // "<mode> <type> <oid> <size padded>\t<path>"
      const tab = rec.indexOf('\t');
      const meta = rec.slice(0, tab);
      const mode = meta.slice(0, meta.indexOf(' '));
      if (!isRegularFileMode(mode)) return;
      const parts = meta.split(/ +/);
      onEntry({ path: rec.slice(tab + 1), oid: parts[2], size: withSizes ? Number(parts[3]) : -1 });
    },
    signal,
  );
}

/**
 * Changes between each consecutive pair (older → newer), from one `git diff-tree --stdin`.
 * `onChange(pairIndex, change)` is called in order; a pair with no changes calls nothing.
 */
export function diffPairs(
  gitDir: string,
  pairs: { older: string; newer: string }[],
  onChange: (pairIndex: number, c: FileChange) => void,
  signal?: AbortSignal,
): Promise<void> {
  if (pairs.length === 0) return Promise.resolve();
  const indexOfNewer = new Map<string, number>();
  pairs.forEach((p, i) => indexOfNewer.set(p.newer, i));
  // A line "X Y" diffs Y → X and is announced by a header record "X".
  const input = pairs.map((p) => `${p.newer} ${p.older}\n`).join('');
  let current = -1;
  let pendingMeta: string | undefined;
  return streamZ(
    gitDir,
    ['diff-tree', '--stdin', '-r', '-z', '--no-renames', '--no-ext-diff', '--no-textconv'],
    input,
    (rec) => {
      if (pendingMeta !== undefined) {
        // ":oldmode newmode oldoid newoid status" then the path
        const [oldMode, newMode, oldOid, newOid] = pendingMeta.slice(1).split(' ');
        pendingMeta = undefined;
        const c: FileChange = { path: rec };
        if (isRegularFileMode(oldMode)) c.old = oldOid;
        if (isRegularFileMode(newMode)) c.new = newOid;
        if (c.old !== c.new) onChange(current, c);
        return;
      }
      if (rec.startsWith(':')) {
        pendingMeta = rec;
        return;
      }
      const i = indexOfNewer.get(rec);
      if (i === undefined) throw new Error(`unexpected git diff-tree output: ${rec.slice(0, 80)}`);
      current = i;
    },
    signal,
  );
}
