// For contributors with a desktop: runs test/extension/suite in a downloaded VS Code through
// @vscode/test-electron (`npm run test:vscode`). Not run in CI (it downloads VS Code); CI runs
// the same suite inside code-server (test/e2e/extensionHost.e2e.test.ts).
import { runTests } from '@vscode/test-electron';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const { makeWorkspace } = createRequire(import.meta.url)('./makeWorkspace.cjs');
const workspace = makeWorkspace();
try {
  await runTests({
    version: process.env.VSCODE_VERSION ?? '1.100.3',
    extensionDevelopmentPath: root,
    extensionTestsPath: join(here, 'suite', 'index.js'),
    launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust'],
  });
} catch (err) {
  console.error(`extension host tests failed: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
}
