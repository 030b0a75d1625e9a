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
  // @ast-grep/* are native modules (structural insights), loaded from node_modules at run time.
  { entry: 'server/cli/main.ts', out: 'dist/cli.js', platform: 'node', external: ['@electric-sql/pglite', 'pg-native', '@ast-grep/*'] },
  // Counts patterns that may backtrack without bound, under a time budget (see guardedCount.ts).
  { entry: 'server/engine/countWorker.ts', out: 'dist/countWorker.js', platform: 'node' },
  { entry: 'org/cli.ts', out: 'dist/org.js', platform: 'node', external: ['@electric-sql/pglite', 'pg-native', 'chart.js', '@ast-grep/*'] },
  { entry: 'server/lsp/main.ts', out: 'dist/server.js', platform: 'node', external: ['@electric-sql/pglite', 'pg-native', '@ast-grep/*'] },
  // What VS Code loads at start-up and what a webview downloads are minified.
  { entry: 'extension/extension.ts', out: 'dist/extension.js', platform: 'node', external: ['vscode'], minify: true },
  { entry: 'webview/main.ts', out: 'dist/webview.js', platform: 'browser', format: 'iife', minify: true },
];

/**
 * linguist-languages is 375 KB of object literals, half the command line's bundle: parsing it
 * cost every run ~30 ms before any work began, and evaluating it ~30 ms more for languages. The
 * bundles get the same data cut to the fields detectLanguage reads, as one JSON string that V8
 * parses on first use (JSON.parse of a string literal is its fastest object path).
 */
const LANGUAGE_FIELDS = ['name', 'type', 'group', 'extensions', 'filenames', 'codemirrorMode'];
const compactLanguages = {
  name: 'compact-linguist-languages',
  setup(b) {
    b.onResolve({ filter: /^linguist-languages$/ }, () => ({ path: 'linguist-languages', namespace: 'compact-languages' }));
    b.onLoad({ filter: /.*/, namespace: 'compact-languages' }, async () => {
      const all = await import('linguist-languages');
      const data = {};
      for (const [key, l] of Object.entries(all)) {
        if (key === 'default' || typeof l !== 'object' || l === null) continue;
        data[key] = Object.fromEntries(LANGUAGE_FIELDS.filter((f) => l[f] !== undefined).map((f) => [f, l[f]]));
      }
      return { contents: `module.exports = JSON.parse(${JSON.stringify(JSON.stringify(data))});`, loader: 'js' };
    });
  },
};

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
        plugins: t.platform === 'node' ? [compactLanguages] : [],
      }),
    ),
);
if (!watch) process.stdout.write('build: ok\n');
