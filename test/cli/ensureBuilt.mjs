// Builds dist/ unless dist/cli.js is already newer than every source it bundles (server/, webview/,
// protocol/ and org/, whose dist/org.js the `org` command loads). Test files run
// in parallel processes, so cliHarness.ts calls this under a lock (flock) and only the first builds.
// --force builds anyway (the snapshot of a build someone else was writing did not run).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
function newest(dir) {
  let t = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    t = Math.max(t, st.isDirectory() ? newest(p) : st.mtimeMs);
  }
  return t;
}
const out = join(root, 'dist', 'cli.js');
const sources = Math.max(newest(join(root, 'server')), newest(join(root, 'protocol')), newest(join(root, 'org')), newest(join(root, 'webview')), statSync(join(root, 'bin', 'code-insights.js')).mtimeMs, statSync(join(root, 'scripts', 'build.mjs')).mtimeMs);
if (process.argv.includes('--force') || !existsSync(out) || statSync(out).mtimeMs <= sources) {
  execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}
