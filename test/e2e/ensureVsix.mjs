// Packages code-insights.vsix unless it is newer than every source it holds. The e2e test files
// run in parallel processes: harness.ts calls this under a lock (flock, the lock the CLI tests
// build dist/ under), so one packages while the others wait and then find it fresh; and the
// package is written under a temporary name and renamed, so no one ever installs half a file
// (seen in CI: "End of central directory record signature not found").
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const vsix = join(root, 'code-insights.vsix');
function newest(dir) {
  if (!existsSync(dir)) return 0;
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}
const sources = Math.max(...['extension', 'server', 'protocol', 'webview'].map((d) => newest(join(root, d))));
if (!existsSync(vsix) || statSync(vsix).mtimeMs < sources) {
  const tmp = join(root, `.code-insights-${process.pid}.vsix`);
  try {
    execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    execFileSync(join(root, 'node_modules', '.bin', 'vsce'), ['package', '--allow-missing-repository', '--out', tmp], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    renameSync(tmp, vsix);
  } finally {
    rmSync(tmp, { force: true });
  }
}
