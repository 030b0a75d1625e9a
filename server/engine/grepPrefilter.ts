// Finds which of many blobs can hold a literal query at all, without piping every blob into
// Node: the blobs go into a throwaway tree (written to a temporary object directory, never
// into the user's repository) and `git grep -l -F` searches it on every core. Only the blobs it
// names are read and counted exactly; the others hold no needle and count zero. A prefilter
// only: the exact count always comes from the engine's own matcher.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { runGit, spawnGit } from './git';
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
