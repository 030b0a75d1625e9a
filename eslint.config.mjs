// Lint run by `npm test` before the tests (scripts/check.mjs). A small rule set that finds bugs,
// not style: ESLint's and typescript-eslint's recommended rules, promises nobody awaits or
// handles (type-aware, TypeScript only), and the folder boundaries (README.md, "Developing").
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import boundaries from './scripts/lint/importBoundaries.mjs';

const root = import.meta.dirname;

/** Which of our folders each folder may import (scripts/lint/importBoundaries.mjs says how). */
const folders = [
  { from: 'extension/', allow: ['extension/', 'protocol/'] },
  { from: 'webview/', allow: ['webview/', 'protocol/'], denyPackages: ['vscode'] },
  { from: 'protocol/', allow: ['protocol/'], denyPackages: ['vscode'] },
  { from: 'server/', deny: ['extension/', 'webview/'], denyPackages: ['vscode'] },
  {
    from: 'server/engine/',
    deny: ['extension/', 'webview/', 'org/', 'server/store/', 'server/sync/', 'server/lsp/', 'server/cli/', 'server/runs/'],
    denyPackages: ['vscode'],
  },
  // Org workers compute through the run layer; they validate definitions and name repositories as
  // the CLI does (definitions, repoIdentity); types of the engine's results may be named.
  { from: 'org/', allow: ['org/', 'protocol/', 'server/runs/', 'server/engine/definitions', 'server/engine/repoIdentity'], allowTypes: ['server/'], denyPackages: ['vscode'] },
];

/** Imports that break a boundary today, one line each; each must be in use (a stale one fails). */
const exceptions = [];

const unusedVars = ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', destructuredArrayIgnorePattern: '^_' }];

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', 'test-artifacts/**', '.bench/**', '**/*.d.ts'] },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    languageOptions: { parserOptions: { project: './tsconfig.json', tsconfigRootDir: root } },
    rules: {
      // protocol/ declares each request in a namespace named for it, as vscode-languageserver-node does.
      '@typescript-eslint/no-namespace': 'off',
      '@typescript-eslint/no-unused-vars': unusedVars,
      '@typescript-eslint/no-floating-promises': ['error', {
        // node:test's test()/describe() return promises the runner itself awaits.
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }],
      }],
      '@typescript-eslint/no-misused-promises': 'error',
      'prefer-const': 'off',
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    // Tests poke at untyped JSON and driver internals.
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { ...globals.node } },
    rules: { 'no-unused-vars': unusedVars },
  },
  { files: ['org/dashboard/**/*.js'], languageOptions: { globals: { ...globals.browser } } },
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs', '**/*.cjs'],
    plugins: { local: boundaries },
    rules: { 'local/import-boundaries': ['error', { root, folders, exceptions }] },
  },
);
