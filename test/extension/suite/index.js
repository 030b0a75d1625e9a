// Runs INSIDE the VS Code extension host (real API, real extension), started either by
// @vscode/test-electron (runElectron.mjs, for contributors with VS Code) or by code-server in
// the e2e suite (test/e2e/extensionHost.e2e.test.ts). Plain JavaScript: the host loads it as is.
// The workspace is a folder with one git repository made by the launcher (see makeWorkspace.cjs).
'use strict';
const assert = require('node:assert/strict');
const { existsSync, readFileSync } = require('node:fs');
const { join } = require('node:path');
const vscode = require('vscode');

const EXTENSION_ID = 'code-insights.code-insights';

async function waitFor(what, fn, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const tests = [
  ['activates on its commands and registers every contributed command', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is not installed in this host`);
    await vscode.commands.executeCommand('codeInsights.showLog');
    await waitFor('activation', () => ext.isActive);
    const api = ext.exports;
    assert.equal(typeof api.activateMs, 'number');
    const commands = await vscode.commands.getCommands(true);
    const contributed = ext.packageJSON.contributes.commands.map((c) => c.command);
    for (const c of contributed) assert.ok(commands.includes(c), `command ${c} is contributed but not registered`);
    console.log(`[code-insights tests] activate() took ${api.activateMs.toFixed(1)} ms`);
  }],

  ['Track Selection as Insight writes a literal query and the server computes it', async () => {
    const folder = vscode.workspace.workspaceFolders[0];
    const file = vscode.Uri.joinPath(folder.uri, 'repo', 'main.ts');
    const doc = await vscode.workspace.openTextDocument(file);
    const editor = await vscode.window.showTextDocument(doc);
    const line = doc.lineAt(1).text; // "call(a.b) // TODO(x)"
    const start = line.indexOf('a.b');
    editor.selection = new vscode.Selection(1, start, 1, start + 3);
    await vscode.commands.executeCommand('codeInsights.trackSelection');
    const defsPath = join(folder.uri.fsPath, '.vscode', 'insights.json');
    const defs = await waitFor('the definitions file', () => existsSync(defsPath) && JSON.parse(readFileSync(defsPath, 'utf8')));
    assert.deepEqual(defs.insights.map((i) => [i.id, i.literal, i.queries]), [['a-b', true, [{ query: 'a.b' }]]]);
    // "a.b" as a literal: 2 occurrences; as a regex it would also match "axb" (3).
    const service = vscode.extensions.getExtension(EXTENSION_ID).exports.service;
    const summary = await waitFor('the computed insight', async () => (await service.list()).find((i) => i.id === 'a-b' && i.latest));
    assert.equal(summary.latest.value, 2);
  }],

  ['Delete removes the insight from the file (confirmation answered by the test through the API)', async () => {
    const folder = vscode.workspace.workspaceFolders[0];
    const service = vscode.extensions.getExtension(EXTENSION_ID).exports.service;
    await service.editDefinitions(folder.uri, { remove: 'a-b' });
    // When editDefinitions returns, the change is on disk.
    const defsPath = join(folder.uri.fsPath, '.vscode', 'insights.json');
    assert.deepEqual(JSON.parse(readFileSync(defsPath, 'utf8')).insights, []);
    await waitFor('the list to empty', async () => (await service.list()).length === 0);
  }],

  ['an insight added while the file has unsaved edits in an editor joins them: both saved, nothing of the user lost', async () => {
    const folder = vscode.workspace.workspaceFolders[0];
    const service = vscode.extensions.getExtension(EXTENSION_ID).exports.service;
    const defsUri = vscode.Uri.joinPath(folder.uri, '.vscode', 'insights.json');
    const editor = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(defsUri));
    try {
      await editor.edit((e) => e.insert(new vscode.Position(0, 0), '// typed, not saved\n'));
      assert.ok(editor.document.isDirty);
      await service.editDefinitions(folder.uri, { add: { id: 'joined', title: 'Joined', kind: 'series', queries: [{ query: 'joined' }] } });
      const disk = readFileSync(defsUri.fsPath, 'utf8');
      assert.match(disk, /^\/\/ typed, not saved\n/);
      assert.match(disk, /"id": "joined"/);
      assert.equal(editor.document.isDirty, false);
      assert.equal(editor.document.getText(), disk);
      await waitFor('the added insight listed', async () => (await service.list()).some((i) => i.id === 'joined'));
      // Clean now: the removal writes the file, and the editor shows it.
      await service.editDefinitions(folder.uri, { remove: 'joined' });
      assert.doesNotMatch(readFileSync(defsUri.fsPath, 'utf8'), /joined/);
      await waitFor('the editor to show the file as written', () => !editor.document.getText().includes('joined') && !editor.document.isDirty);
      await waitFor('the list to empty', async () => (await service.list()).length === 0);
    } finally {
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    }
  }],

  ['Check Goals runs the check in the insights server: a broken ratchet is reported and its added line marked', async () => {
    const folder = vscode.workspace.workspaceFolders[0];
    const repo = join(folder.uri.fsPath, 'repo');
    const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@example.com' };
    const git = (...args) => require('node:child_process').execFileSync('git', args, { cwd: repo, env, encoding: 'utf8' });
    git('checkout', '-q', '-b', 'goals-topic');
    require('node:fs').appendFileSync(join(repo, 'main.ts'), 'oldCall(1)\n');
    git('commit', '-q', '-am', 'adds an oldCall');
    const service = vscode.extensions.getExtension(EXTENSION_ID).exports.service;
    await service.editDefinitions(folder.uri, { add: { id: 'old-call', title: 'Old calls', kind: 'series', queries: [{ query: 'oldCall\\(', goal: { ratchet: true } }] } });
    await waitFor('the insight with a goal', async () => (await service.list()).some((i) => i.id === 'old-call'));
    try {
      const r = await vscode.commands.executeCommand('codeInsights.checkGoals', undefined, { quiet: true });
      assert.ok(r, 'the command answers with the check');
      assert.equal(r.failed, true);
      const s = r.results[0].series[0];
      assert.deepEqual([s.base, s.head, s.verdict], [0, 1, 'broken']);
      assert.deepEqual(s.culprits.map((c) => [c.path, c.line]), [['main.ts', 4]]);
      const main = vscode.Uri.file(join(repo, 'main.ts'));
      const diags = await waitFor('the goal diagnostic', () => {
        const d = vscode.languages.getDiagnostics(main).filter((x) => x.source === 'code-insights goals');
        return d.length ? d : undefined;
      });
      assert.deepEqual(diags.map((d) => d.range.start.line), [3]);
      assert.match(diags[0].message, /Old calls .*rose from 0 to 1/);
    } finally {
      await service.editDefinitions(folder.uri, { remove: 'old-call' });
      git('checkout', '-q', 'main');
    }
  }],

  ['a line typed in the editor that breaks a ratchet is marked before it is saved or committed', async () => {
    const folder = vscode.workspace.workspaceFolders[0];
    const service = vscode.extensions.getExtension(EXTENSION_ID).exports.service;
    await service.editDefinitions(folder.uri, { add: { id: 'typed', title: 'Typed calls', kind: 'series', queries: [{ query: 'typedCall\\(', goal: { ratchet: true } }] } });
    await waitFor('the insight with a ratchet', async () => (await service.list()).some((i) => i.id === 'typed'));
    const main = vscode.Uri.file(join(folder.uri.fsPath, 'repo', 'main.ts'));
    const editor = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(main));
    try {
      // The previous test changed the file on disk and back: wait until the editor shows it as committed.
      await waitFor('the file as committed', () => !editor.document.getText().includes('oldCall') && !editor.document.isDirty);
      await editor.edit((e) => e.insert(new vscode.Position(1, 0), 'typedCall(1)\n'));
      assert.ok(editor.document.isDirty, 'the line is typed, not saved');
      const at = editor.document.getText().split('\n').indexOf('typedCall(1)');
      assert.equal(at, 1);
      // This insight's marks only: a mark of the previous test's insight (removed, its line
      // reverted) may still stand until the folder's marks are recomputed.
      const marks = await waitFor('the ratchet diagnostic on the typed line', () => {
        const d = vscode.languages.getDiagnostics(main).filter((x) => x.source === 'code-insights ratchet' && /Typed calls/.test(x.message));
        return d.length ? d : undefined;
      });
      assert.deepEqual(marks.map((d) => d.range.start.line), [at]);
      assert.match(marks[0].message, /Typed calls .*this line adds 1; ratchet: main\.ts has 1 now, 0 at the base/);
      // Deleting the line takes the mark away.
      await editor.edit((e) => e.delete(new vscode.Range(at, 0, at + 1, 0)));
      await waitFor('the mark to go', () => vscode.languages.getDiagnostics(main).every((x) => x.source !== 'code-insights ratchet'));
    } finally {
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
      await service.editDefinitions(folder.uri, { remove: 'typed' });
    }
  }],
];

/** Entry point called by the extension host's test runner: resolves when all passed, rejects otherwise. */
async function run() {
  let failed = 0;
  for (const [name, fn] of tests) {
    try {
      await fn();
      console.log(`[code-insights tests] ok - ${name}`);
    } catch (err) {
      failed++;
      console.error(`[code-insights tests] not ok - ${name}: ${err && err.stack ? err.stack : err}`);
    }
  }
  console.log(`[code-insights tests] ${tests.length - failed} passed, ${failed} failed`);
  if (failed) throw new Error(`${failed} extension host test(s) failed`);
}

module.exports = { run };
