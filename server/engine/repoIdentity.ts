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

export async function repoIdentity(gitDir: string, headSha: string, signal?: AbortSignal): Promise<string> {
  const r = await runGitRaw(gitDir, ['config', '--get', 'remote.origin.url'], { signal });
  if (r.code === 0) {
    const n = normaliseRemoteUrl(r.stdout.toString());
    if (n) return n;
  }
  const roots = await runGitRaw(gitDir, ['rev-list', '--first-parent', '--max-parents=0', headSha], { signal });
  const root = roots.stdout.toString().trim().split('\n').pop();
  return `root:${root || headSha}`;
}
