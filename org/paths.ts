// Where the service's files live at run time. The service runs from source (tsx) and from the
// esbuild bundle (dist/cli.js); both sit inside the package, so walk up to its package.json.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { homedir } from 'node:os';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = __dirname;
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if (JSON.parse(readFileSync(pj, 'utf8')).name === 'code-insights') return (root = dir);
      } catch {
        // not ours; keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`code-insights package root not found above ${__dirname}`);
    dir = up;
  }
}

export const migrationsDir = (): string => join(packageRoot(), 'org', 'migrations');
export const dashboardDir = (): string => join(packageRoot(), 'org', 'dashboard');

/** Default PGlite data folder: the user's data directory, per platform conventions. */
export function defaultDataDir(): string {
  if (process.platform === 'win32') return join(process.env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'code-insights', 'org-db');
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'code-insights', 'org-db');
  return join(process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'code-insights', 'org-db');
}
