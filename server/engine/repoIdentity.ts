// Repo identity: the normalised URL of `origin` (host/owner/name), else the hash of the root
// commit of the sampled chain. The same repository gets the same identity on every machine.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { commonGitDir, runGitRaw } from './git';

/** Is this a shallow clone? (git keeps the cut commits in `shallow`, in the common git dir.) */
function isShallow(gitDir: string): boolean {
  return existsSync(join(commonGitDir(gitDir), 'shallow'));
}

/** host/owner/name from a remote URL, or undefined for a URL without a host (a local path). */
export function normaliseRemoteUrl(url: string): string | undefined {
  let u = url.trim();
  if (!u) return undefined;
  let hostAndPath: string | undefined;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(u);
  if (scheme) {
    if (scheme[1].toLowerCase() === 'file') return undefined;
    hostAndPath = scheme[2].replace(/^[^@/]*@/, '');
    // drop a port
    hostAndPath = hostAndPath.replace(/^([^/:]+):\d+(\/|$)/, '$1$2');
  } else {
    const scp = /^(?:[^@/]+@)?([^:/]+):(?!\/)(.*)$/.exec(u);
    if (!scp) return undefined;
    hostAndPath = `${scp[1]}/${scp[2]}`;
  }
  u = hostAndPath.replace(/\/+$/, '').replace(/\.git$/i, '').replace(/\/+/g, '/');
  const slash = u.indexOf('/');
  if (slash <= 0) return undefined;
  return u.slice(0, slash).toLowerCase() + u.slice(slash);
}

/** The identity from `origin`'s URL, or undefined when there is none that names a host. */
export async function originIdentity(gitDir: string, signal?: AbortSignal): Promise<string | undefined> {
  const r = await runGitRaw(gitDir, ['config', '--get', 'remote.origin.url'], { signal });
  return r.code === 0 ? normaliseRemoteUrl(r.stdout.toString()) : undefined;
}

/**
 * The identity from the root of `headSha`'s first-parent chain. Finding the root walks the whole
 * chain (0.3 s on git/git without a commit-graph), so the memo keeps the root found per git dir
 * with the revision it was found from ("root head"). At that same revision the chain, and so its
 * root, cannot have changed; nor at one whose chain the caller's own walk followed to it
 * (`walkedTo`: where the caller's walk of headSha's chain stopped, asked only when needed); at
 * another the root is reused when it still exists there.
 */
export async function rootIdentity(
  gitDir: string,
  headSha: string,
  signal?: AbortSignal,
  memo?: { get(gitDir: string): string | undefined; set(gitDir: string, value: string): void },
  walkedTo?: () => Promise<string | undefined> | undefined,
): Promise<string> {
  // A shallow clone's chain ends where the clone cut it, and deepening it keeps the revision:
  // its root is never remembered (found with the run memo's test: the cut commit came back).
  if (isShallow(gitDir)) memo = undefined;
  const [known, knownHead] = (memo?.get(gitDir) ?? '').split(' ');
  if (known && /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(known)) {
    if (knownHead === headSha) return `root:${known}`;
    const sameChain = knownHead !== undefined && (await walkedTo?.()) === knownHead;
    if (sameChain || (await runGitRaw(gitDir, ['cat-file', '-e', `${known}^{commit}`], { signal })).code === 0) {
      memo?.set(gitDir, `${known} ${headSha}`);
      return `root:${known}`;
    }
  }
  const roots = await runGitRaw(gitDir, ['rev-list', '--first-parent', '--max-parents=0', headSha], { signal });
  const root = roots.stdout.toString().trim().split('\n').pop() || headSha;
  memo?.set(gitDir, `${root} ${headSha}`);
  return `root:${root}`;
}
