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
  /** The first commit of the walk: the sampled revision itself, with its committer time. */
  head?: ChainCommit;
  /** Set when the walk stopped at `stopAt`: the times still undefined are settled along its chain. */
  stoppedAt?: string;
}

/**
 * What one revision's walk settled, kept per repository so that a rerun at the same revision
 * needs no walk: the commit of a time never changes once its first-parent chain is known (the
 * objects are immutable), and every time at or after the revision's own committer time gets the
 * revision itself. Bucket times are aligned to the step, so reruns ask the same ones; only the
 * newest (the end, "now" by default) moves, and it is at or after the revision's time.
 */
export interface SampleMemo {
  head: string;
  headTime: number;
  /** time (seconds) → [sha, committer time], or null: no commit that early (the chain's root is later). */
  at: Record<string, [string, number] | null>;
}

/** The commits of `timesSec` from a memo of `head`'s walk, or undefined when any time is not in it. */
export function sampleFromMemo(memo: SampleMemo | undefined, head: string, timesSec: number[]): (ChainCommit | undefined)[] | undefined {
  if (!memo || memo.head !== head || typeof memo.headTime !== 'number' || typeof memo.at !== 'object' || memo.at === null) return undefined;
  const out: (ChainCommit | undefined)[] = [];
  for (const t of timesSec) {
    if (t >= memo.headTime) out.push({ sha: memo.head, time: memo.headTime });
    else if (Object.prototype.hasOwnProperty.call(memo.at, t)) {
      const a = memo.at[t];
      out.push(a ? { sha: a[0], time: a[1] } : undefined);
    } else return undefined;
  }
  return out;
}

/** The memo after a walk of `head`: none when the walk stopped at a shallow boundary (a fetch may extend it). */
export function nextSampleMemo(prev: SampleMemo | undefined, head: string, sample: Sample, timesSec: number[]): SampleMemo | undefined {
  if (sample.shallowCut || !sample.head || sample.head.sha !== head) return undefined;
  const keep = prev && prev.head === head && prev.at && Object.keys(prev.at).length < 4096 ? prev.at : {};
  const at: SampleMemo['at'] = { ...keep };
  timesSec.forEach((t, i) => {
    const c = sample.commits[i];
    at[t] = c ? [c.sha, c.time] : null;
  });
  return { head, headTime: sample.head.time, at };
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

/**
 * Picks the commit of each time (seconds) along the first-parent chain of `sha`. With `stopAt`,
 * the walk ends where it reaches that commit (one whose own walk is remembered), leaving the
 * times no newer commit settled undefined.
 */
export function sampleCommits(gitDir: string, sha: string, timesSec: number[], signal?: AbortSignal, stopAt?: string): Promise<Sample> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError());
    const commits: (ChainCommit | undefined)[] = timesSec.map(() => undefined);
    // Walking from newest to oldest, each commit settles every unsettled time >= its own
    // committer time; a time settled first keeps the first (newest) such commit.
    const order = timesSec.map((t, i) => i).sort((a, b) => timesSec[a] - timesSec[b]);
    let unsettled = order.length;
    let last: ChainCommit | undefined;
    let first: ChainCommit | undefined;
    let finished = false;
    let stoppedAt: string | undefined;
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
      if (c.sha === stopAt) {
        finished = true;
        stoppedAt = c.sha;
        child.kill('SIGTERM');
        return;
      }
      last = c;
      first ??= c;
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
    // eslint-disable-next-line @typescript-eslint/no-misused-promises -- its awaits catch; it cannot reject
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
      resolve({ commits, shallowCut, head: first, ...(stoppedAt ? { stoppedAt } : {}) });
    });
  });
}
