// Repo identity: the normalised URL of `origin` (host/owner/name), else the hash of the root
// commit of the sampled chain. The same repository gets the same identity on every machine.
import { runGitRaw } from './git';

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

/**
 * Finding the root walks the whole first-parent chain (0.3 s on git/git), so a known root is
 * remembered per git dir and only checked to still exist there.
 */
export async function repoIdentity(
  gitDir: string,
  headSha: string,
  signal?: AbortSignal,
  memo?: { get(gitDir: string): string | undefined; set(gitDir: string, root: string): void },
): Promise<string> {
  const r = await runGitRaw(gitDir, ['config', '--get', 'remote.origin.url'], { signal });
  if (r.code === 0) {
    const n = normaliseRemoteUrl(r.stdout.toString());
    if (n) return n;
  }
  const known = memo?.get(gitDir);
  if (known && (await runGitRaw(gitDir, ['cat-file', '-e', `${known}^{commit}`], { signal })).code === 0) return `root:${known}`;
  const roots = await runGitRaw(gitDir, ['rev-list', '--first-parent', '--max-parents=0', headSha], { signal });
  const root = roots.stdout.toString().trim().split('\n').pop() || headSha;
  memo?.set(gitDir, root);
  return `root:${root}`;
}
