// The commit of time T is exactly what `git rev-list -1 --first-parent --before=T REV` prints:
// the first commit along REV's first-parent chain whose committer time is <= T. One streamed
// rev-list answers every bucket: once the oldest bucket has its commit, all newer ones have too.
import { createInterface } from 'node:readline';
import { spawnGit, gitNotFound, runGitRaw, firstLine } from './git';
import { AbortedError, InsightsError } from './errors';

export interface ChainCommit {
  sha: string;
  /** Committer time, seconds since the epoch. */
  time: number;
}

export interface Sample {
  /** For each requested time (same order), the chosen commit or undefined. */
  commits: (ChainCommit | undefined)[];
  /** Set when the first-parent chain ended at a shallow boundary before the oldest time found a commit. */
  shallowCut?: ChainCommit;
}

/** The revision a repo is sampled at: the user's, else origin/HEAD's target, else HEAD. */
export async function resolveRev(gitDir: string, rev: string | undefined, signal?: AbortSignal): Promise<{ rev: string; sha: string; detached: boolean }> {
  if (rev !== undefined && /[\r\n\0]/.test(rev)) throw new InsightsError('BAD_REV', `revision ${JSON.stringify(rev)} is not a revision name`);
  const candidates = rev ? [rev] : ['refs/remotes/origin/HEAD', 'HEAD'];
  // One git answers every candidate (a name on stdin is never taken for an option); whether
  // HEAD is detached is asked at the same time, since each git start costs a round trip.
  const [peeled, head] = await Promise.all([
    runGitRaw(gitDir, ['cat-file', '--batch-check=%(objectname)'], { input: candidates.map((c) => `${c}^{commit}\n`).join(''), signal }),
    rev ? undefined : runGitRaw(gitDir, ['symbolic-ref', '--quiet', 'HEAD'], { signal }),
  ]);
  if (peeled.code !== 0) throw new InsightsError('GIT_FAILED', `git cat-file failed: ${firstLine(peeled.stderr) || `exit code ${peeled.code}`}`);
  const answers = peeled.stdout.toString().split('\n');
  const found = candidates.findIndex((_, i) => /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(answers[i] ?? ''));
  if (found >= 0) {
    const c = candidates[found];
    return { rev: c, sha: answers[found], detached: c === 'HEAD' && head?.code !== 0 };
  }
  if (rev) throw new InsightsError('BAD_REV', `revision "${rev}" does not exist in this repository`);
  const branch = head!.stdout.toString().trim().replace(/^refs\/heads\//, '');
  throw new InsightsError('NO_COMMITS', `the repository has no commits yet${branch ? ` (branch ${branch} is unborn)` : ''}`);
}

/** Picks the commit of each time (seconds) along the first-parent chain of `sha`. */
export function sampleCommits(gitDir: string, sha: string, timesSec: number[], signal?: AbortSignal): Promise<Sample> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError());
    const commits: (ChainCommit | undefined)[] = timesSec.map(() => undefined);
    // Walking from newest to oldest, each commit settles every unsettled time >= its own
    // committer time; a time settled first keeps the first (newest) such commit.
    const order = timesSec.map((t, i) => i).sort((a, b) => timesSec[a] - timesSec[b]);
    let unsettled = order.length;
    let last: ChainCommit | undefined;
    let finished = false;
    const child = spawnGit(gitDir, ['rev-list', '--first-parent', '--timestamp', sha]);
    const stderr: Buffer[] = [];
    child.stderr!.on('data', (b: Buffer) => stderr.push(b));
    const onAbort = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', onAbort, { once: true });
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      if (finished) return;
      const sp = line.indexOf(' ');
      const c: ChainCommit = { time: Number(line.slice(0, sp)), sha: line.slice(sp + 1) };
      last = c;
      // Unsettled times are always the smallest ones: settle from the largest down.
      while (unsettled > 0 && timesSec[order[unsettled - 1]] >= c.time) {
        commits[order[unsettled - 1]] = c;
        unsettled--;
      }
      if (unsettled === 0) {
        finished = true;
        child.kill('SIGTERM');
      }
    });
    child.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? gitNotFound(e) : e));
    child.on('close', async (code) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) return reject(new AbortedError());
      if (!finished && code !== 0) {
        return reject(new InsightsError('GIT_FAILED', `git rev-list failed: ${firstLine(Buffer.concat(stderr).toString())}`));
      }
      let shallowCut: ChainCommit | undefined;
      if (!finished && last) {
        // The chain ended before the oldest time found a commit: at the root, or at a shallow boundary.
        const r = await runGitRaw(gitDir, ['rev-parse', '--is-shallow-repository']).catch(() => undefined);
        if (r && r.stdout.toString().trim() === 'true') {
          const parents = await runGitRaw(gitDir, ['cat-file', '-p', last.sha]).catch(() => undefined);
          if (parents && /^parent /m.test(parents.stdout.toString())) shallowCut = last;
        }
      }
      resolve({ commits, shallowCut });
    });
  });
}
