// Finds which of many blobs can hold a literal query at all, without piping every blob into
// Node: the blobs go into a throwaway tree (written to a temporary object directory, never
// into the user's repository) and `git grep -l -F` searches it on every core. Only the blobs it
// names are read and counted exactly; the others hold no needle and count zero. A prefilter
// only: the exact count always comes from the engine's own matcher.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { runGit, runGitRaw, spawnGit } from './git';
import { AbortedError } from './errors';

/** The repository's object directory (the common one for linked worktrees). */
async function objectsDir(gitDir: string, signal?: AbortSignal): Promise<string> {
  return (await runGit(gitDir, ['rev-parse', '--path-format=absolute', '--git-path', 'objects'], { signal })).trim();
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
): Promise<void> {
  const temp = mkdtempSync(join(tmpdir(), 'code-insights-grep-'));
  try {
    const env = { GIT_OBJECT_DIRECTORY: temp, GIT_ALTERNATE_OBJECT_DIRECTORIES: await objectsDir(gitDir, signal) };
    const tree = (await runGit(gitDir, ['mktree', '--missing'], { input: oids.map((o, i) => `100644 blob ${o}\t${i}\n`).join(''), env, signal, what: 'git mktree' })).trim();
    const args = ['-c', `grep.threads=${cpus().length}`, 'grep', '-l', '-z', '--no-color', '--no-textconv', '-F', ...(ignoreCase ? ['-i'] : []), ...needles.flatMap((n) => ['-e', n]), tree];
    await new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(new AbortedError());
      const child = spawnGit(gitDir, args, undefined, env);
      const stderr: Buffer[] = [];
      let rest = '';
      let failed: unknown;
      child.stderr!.on('data', (b: Buffer) => stderr.push(b));
      child.stdout!.on('data', (b: Buffer) => {
        const recs = (rest + b.toString('latin1')).split('\0');
        rest = recs.pop()!;
        for (const rec of recs) {
          const oid = oids[Number(rec.slice(rec.lastIndexOf(':') + 1))];
          if (oid === undefined) {
            failed = new Error(`unexpected git grep output: ${rec}`);
            child.kill('SIGKILL');
            return;
          }
          onCandidate(oid);
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
        // Exit 1: nothing matched.
        if (code !== 0 && code !== 1) return reject(new Error(`git grep failed (exit ${code}): ${Buffer.concat(stderr).toString().trim()}`));
        resolve();
      });
    });
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
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
 * and -I skips exactly the files with a NUL in their first 8000 bytes. Returns, per blob that
 * has any match, one entry per needle; blobs absent from the map hold none.
 */
export async function countLiterals(gitDir: string, oids: string[], needles: string[], signal?: AbortSignal): Promise<Map<string, LiteralCounts[]>> {
  const temp = mkdtempSync(join(tmpdir(), 'code-insights-count-'));
  try {
    mkdirSync(join(temp, 'objects', 'info'), { recursive: true });
    mkdirSync(join(temp, 'refs'), { recursive: true });
    writeFileSync(join(temp, 'HEAD'), 'ref: refs/heads/main\n');
    writeFileSync(join(temp, 'objects', 'info', 'alternates'), `${await objectsDir(gitDir, signal)}\n`);
    const env = { GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_ATTR_NOSYSTEM: '1' };
    const tree = (await runGit(temp, ['mktree', '--missing'], { input: oids.map((o, i) => `100644 blob ${o}\t${i}\n`).join(''), env, signal, what: 'git mktree' })).trim();
    const args = ['-c', 'core.attributesFile=/dev/null', '-c', `grep.threads=${cpus().length}`, 'grep', '-I', '-o', '-n', '-z', '--no-color', '--no-textconv', '-F', ...needles.flatMap((n) => ['-e', n]), tree];
    const r = await runGitRaw(temp, args, { env, signal });
    if (r.code !== 0 && r.code !== 1) throw new Error(`git grep failed (exit ${r.code}): ${r.stderr.trim()}`);
    const index = new Map(needles.map((n, i) => [n, i]));
    const out = new Map<string, LiteralCounts[]>();
    const lastLine = new Map<string, number[]>();
    for (const rec of r.stdout.toString('latin1').split('\n')) {
      if (!rec) continue;
      const [file, lineNo, text] = rec.split('\0');
      const oid = oids[Number(file.slice(file.lastIndexOf(':') + 1))];
      const k = index.get(text);
      if (oid === undefined || k === undefined || lineNo === undefined) throw new Error(`unexpected git grep output: ${rec.slice(0, 80)}`);
      let c = out.get(oid);
      if (!c) {
        c = needles.map(() => ({ matches: 0, lines: 0 }));
        out.set(oid, c);
        lastLine.set(oid, needles.map(() => 0));
      }
      c[k].matches++;
      const seen = lastLine.get(oid)!;
      const n = Number(lineNo);
      if (seen[k] !== n) {
        seen[k] = n;
        c[k].lines++;
      }
    }
    return out;
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
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
