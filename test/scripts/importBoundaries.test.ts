// The folder boundaries, as eslint.config.mjs declares them: a forbidden
// import added to a folder is a lint error that names the file, the target and the rule; the
// imports each folder needs pass; an exception that is no longer used is reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Linter } from 'eslint';
import { parser } from 'typescript-eslint';

const ROOT = join(__dirname, '..', '..');

interface BoundaryOptions { root: string; folders: unknown[]; exceptions: { file: string; target: string }[] }

async function loadRule(): Promise<{ plugin: object; options: BoundaryOptions }> {
  // The project's own config, so the test checks the boundaries as they are declared.
  const config: { plugins?: { local?: object }; rules?: Record<string, unknown> }[] = (await import(pathToFileURL(join(ROOT, 'eslint.config.mjs')).href)).default;
  const entry = config.find((c) => c.rules?.['local/import-boundaries']);
  assert.ok(entry?.plugins?.local, 'eslint.config.mjs enables local/import-boundaries');
  const [, options] = entry.rules!['local/import-boundaries'] as [string, BoundaryOptions];
  return { plugin: entry.plugins.local, options };
}

/** Lint messages of the boundary rule for `code` as if it were the file `file` of the repository. */
async function lint(file: string, code: string, exceptions?: BoundaryOptions['exceptions']): Promise<string[]> {
  const { plugin, options } = await loadRule();
  const linter = new Linter({ cwd: ROOT });
  const messages = linter.verify(code, [{
    files: ['**/*.ts', '**/*.js'],
    languageOptions: { parser, sourceType: 'module' },
    plugins: { local: plugin },
    rules: { 'local/import-boundaries': ['error', { ...options, ...(exceptions ? { exceptions } : {}) }] },
  }], join(ROOT, file));
  return messages.map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

test('extension/ and webview/ may import only protocol/ of ours (and packages; vscode in extension/ only)', async () => {
  assert.deepEqual(await lint('extension/x.ts', "import * as vscode from 'vscode';\nimport { ComputeInsightsRequest } from '../protocol/lsp';\nimport { y } from './y';\n"), []);
  assert.deepEqual(await lint('extension/dashboard/x.ts', "import type { HostMessage } from '../../protocol/webview';\n"), []);
  const fromExtension = await lint('extension/x.ts', "import { openCache } from '../server/store/cache';\n");
  assert.equal(fromExtension.length, 1);
  assert.match(fromExtension[0]!, /^local\/import-boundaries: extension\/x\.ts may not import server\/store\/cache \("\.\.\/server\/store\/cache"\): extension\/ may import only extension\/, protocol\//);
  assert.equal((await lint('extension/x.ts', "import type { Api } from '../webview/model';\n")).length, 1, 'a type-only import crosses the boundary too');

  assert.deepEqual(await lint('webview/x.ts', "import { Chart } from 'chart.js';\nimport type { HostMessage } from '../protocol/webview';\n"), []);
  assert.equal((await lint('webview/x.ts', "import { computeInsights } from '../server/engine/computeInsights';\n")).length, 1);
  assert.equal((await lint('webview/x.ts', "const m = import('../extension/commands');\n")).length, 1, 'a dynamic import');
  assert.equal((await lint('webview/x.ts', "const m = require('../org/app');\n")).length, 1, 'a require()');
  assert.equal((await lint('webview/x.ts', "export { x } from '../extension/x';\n")).length, 1, 'a re-export');
  assert.match((await lint('webview/x.ts', "import * as vscode from 'vscode';\n"))[0]!, /webview\/x\.ts may not import the package "vscode"/);
});

test('server/engine/ never imports store, sync, lsp, cli or the run layer; other server folders may', async () => {
  assert.deepEqual(await lint('server/engine/x.ts', "import { a } from './buckets';\nimport type { InsightDefinition } from '../../protocol/insights';\n"), []);
  for (const target of ['store/cache', 'sync/outbox', 'lsp/main', 'cli/main', 'runs/run']) {
    const found = await lint('server/engine/x.ts', `import { a } from '../${target}';\n`);
    assert.equal(found.length, 1, target);
    assert.match(found[0]!, new RegExp(`server/engine/x\\.ts may not import server/${target}`));
  }
  assert.deepEqual(await lint('server/store/x.ts', "import { a } from '../engine/api';\nimport { b } from '../sync/outbox';\n"), []);
  assert.equal((await lint('server/lsp/x.ts', "import * as vscode from 'vscode';\n")).length, 1, 'server/ never imports vscode');
});

test('protocol/ imports nothing of ours outside it; org/ imports protocol/, the run layer, and engine types only', async () => {
  assert.deepEqual(await lint('protocol/x.ts', "import type { A } from './insights';\n"), []);
  assert.equal((await lint('protocol/x.ts', "import { escapeRegex } from '../server/engine/countMatches';\n")).length, 1);

  assert.deepEqual(await lint('org/x.ts', "import type { OrgPoint } from '../protocol/org';\nimport { run } from '../server/runs/run';\nimport type { ComputeResult } from '../server/engine/api';\n"), []);
  assert.equal((await lint('org/x.ts', "import { computeInsights } from '../server/engine/computeInsights';\n")).length, 1, 'org/ counts nothing itself');
  assert.equal((await lint('org/x.ts', "import { openCache } from '../server/store/cache';\n")).length, 1);
  assert.equal((await lint('org/dashboard/x.ts', "import { x } from '../../webview/app';\n")).length, 1);
});

test('an exception allows exactly its one import, and one no longer used is reported', async () => {
  const exceptions = [{ file: 'server/engine/x.ts', target: 'server/store/cache' }];
  assert.deepEqual(await lint('server/engine/x.ts', "import { openCache } from '../store/cache';\n", exceptions), []);
  assert.equal((await lint('server/engine/x.ts', "import { openCache } from '../store/cache';\nimport { q } from '../store/queueForSync';\n", exceptions)).length, 1);
  const stale = await lint('server/engine/x.ts', "import { a } from './buckets';\n", exceptions);
  assert.deepEqual(stale, ['local/import-boundaries: The import-boundary exception for server/engine/x.ts -> server/store/cache is no longer used: delete it from eslint.config.mjs.']);
});
