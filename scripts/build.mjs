// Bundles each runtime context with esbuild. Entry points that do not exist yet are skipped,
// so a context can be added without touching this file's callers.
import { build } from 'esbuild';
import { existsSync, mkdirSync, copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const watch = process.argv.includes('--watch');
const targets = [
  // The command line and the insights server run in Node; node_modules ship beside them.
  { entry: 'server/cli/main.ts', out: 'dist/cli.js', platform: 'node', external: ['@electric-sql/pglite', 'pg-native'] },
  // Counts patterns that may backtrack without bound, under a time budget (see guardedCount.ts).
  { entry: 'server/engine/countWorker.ts', out: 'dist/countWorker.js', platform: 'node' },
  { entry: 'org/cli.ts', out: 'dist/org.js', platform: 'node', external: ['@electric-sql/pglite', 'pg-native', 'chart.js'] },
  { entry: 'server/lsp/main.ts', out: 'dist/server.js', platform: 'node', external: ['@electric-sql/pglite', 'pg-native'] },
  // What VS Code loads at start-up and what a webview downloads are minified.
  { entry: 'extension/extension.ts', out: 'dist/extension.js', platform: 'node', external: ['vscode'], minify: true },
  { entry: 'webview/main.ts', out: 'dist/webview.js', platform: 'browser', format: 'iife', minify: true },
];

mkdirSync(join(root, 'dist'), { recursive: true });
const wasm = join(root, 'node_modules/sql.js/dist/sql-wasm.wasm');
if (existsSync(wasm)) copyFileSync(wasm, join(root, 'dist/sql-wasm.wasm'));

await Promise.all(
  targets
    .filter((t) => existsSync(join(root, t.entry)))
    .map((t) =>
      build({
        entryPoints: [join(root, t.entry)],
        outfile: join(root, t.out),
        bundle: true,
        platform: t.platform,
        format: t.format ?? 'cjs',
        target: t.platform === 'node' ? 'node20' : 'es2022',
        sourcemap: true,
        minify: !!t.minify,
        external: t.external ?? [],
        // jsonc-parser's UMD entry hides its modules from the bundler; its ESM build bundles cleanly.
        mainFields: t.platform === 'node' ? ['module', 'main'] : ['browser', 'module', 'main'],
        logLevel: 'warning',
        loader: { '.css': 'text' },
      }),
    ),
);
if (!watch) process.stdout.write('build: ok\n');
