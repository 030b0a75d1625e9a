// The identity of a repository the org adds: the engine's normalised remote URL (host/owner/name),
// so a repository added as https://, ssh:// or scp-style is one repository; a local path or
// file:// URL (tests, a mirror on a shared disk) is `path:` + its absolute path.
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { normaliseRemoteUrl } from '../../server/engine/repoIdentity';

export interface RepoRef {
  /** What a worker clones: the URL as given, or the absolute path of a relative local path. */
  url: string;
  identity: string;
}

export function repoRef(input: string, cwd = process.cwd()): RepoRef {
  const url = input.trim();
  const normal = normaliseRemoteUrl(url);
  if (normal) return { url, identity: normal };
  if (/^file:\/\//i.test(url)) {
    const path = fileURLToPath(url).replace(/\/+$/, '');
    return { url, identity: `path:${path}` };
  }
  const path = (isAbsolute(url) ? url : resolve(cwd, url)).replace(/(.)\/+$/, '$1');
  return { url: path, identity: `path:${path}` };
}
