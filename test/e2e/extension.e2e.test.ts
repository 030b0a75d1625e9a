// End-to-end in real VS Code (code-server in headless Chromium): the built .vsix installed as a
// user would, a workspace with two repositories of known history, driven from the keyboard.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { TestRepo, tempDir } from '../helpers/gitRepo';
import {
  answer,
  ensureVsix,
  extensionLog,
  failureContext,
  insightsServerPids,
  launchBrowser,
  openWorkbench,
  prerequisiteGate,
  quickInput,
  quickInputText,
  ROOT,
  runCommand,
  screenshot,
  startCodeServer,
  waitFor,
  type CodeServer,
} from './harness';

const gate = prerequisiteGate();
let ws: string;
let cs: CodeServer | undefined;
let browser: Browser | undefined;
let page: Page;

before(async () => {
  if (gate.skip) return;
  ws = tempDir('ci-e2e-ws-');
  const alpha = TestRepo.init(join(ws, 'alpha'));
  alpha.commit('2026-01-05T10:00:00Z', { 'a.ts': 'TODO one\nTODO two\n' });
  alpha.commit('2026-02-10T10:00:00Z', { 'b.ts': 'const x = 1; // TODO\n' });
  const beta = TestRepo.init(join(ws, 'beta'));
  beta.commit('2026-01-20T10:00:00Z', { 'c.py': 'TODO TODO TODO\n' });
  const vsix = ensureVsix();
  cs = await startCodeServer({ vsix, settings: { 'codeInsights.cacheFile': join(tempDir('ci-e2e-cache-'), 'cache.sqlite') } });
  browser = await launchBrowser();
  page = await openWorkbench(browser, cs, ws);
});

after(async () => {
  await browser?.close();
  await cs?.stop();
  if (ws) rmSync(ws, { recursive: true, force: true });
});

/** The tree row of an insight and its description ("6 (±0)"), or undefined while it is absent. */
async function treeRow(title: string): Promise<{ label: string; description: string } | undefined> {
  const row = page.locator('.pane-body .monaco-list-row', { hasText: title }).first();
  if (!(await row.count())) return undefined;
  const description = (await row.locator('.label-description').first().textContent().catch(() => '')) ?? '';
  return { label: title, description: description.trim() };
}

async function showInsightsView(): Promise<void> {
  // The view's generated focus command: clicking the activity bar icon would hide an open view.
  await runCommand(page, 'Code Insights: Focus on Insights View');
  await page.locator('.part.sidebar .title-label', { hasText: /code insights/i }).first().waitFor({ timeout: 30_000 });
}

test('New Insight from the command palette shows the insight in the tree with the exact latest value', { skip: gate.skip }, async () => {
  await showInsightsView();
  await page.getByText('No insights yet', { exact: false }).first().waitFor({ timeout: 30_000 });
  await screenshot(page, '01-welcome-view');

  await runCommand(page, 'Code Insights: New Insight');
  await answer(page, 'Title of the insight', 'TODO count');
  await answer(page, 'What should it count?'); // Series, the default
  await answer(page, /Regular expressions/, 'TODO');
  await answer(page, 'One point per', 'month');
  await answer(page, 'How many points', '3');
  await screenshot(page, '02-new-insight-scope');
  await answer(page, 'Which repositories');

  const file = join(ws, '.vscode', 'insights.json');
  await waitFor('the definitions file', async () => (existsSync(file) ? true : undefined), 20_000);
  const defs = JSON.parse(readFileSync(file, 'utf8'));
  assert.deepEqual(defs.insights, [{ id: 'todo-count', title: 'TODO count', kind: 'series', queries: [{ query: 'TODO' }], step: 'month', points: 3 }]);

  // Now: alpha has 3 TODOs (a.ts 2, b.ts 1), beta 3; both histories end before the previous month.
  const row = await waitFor('the computed tree row', async () => {
    const r = await treeRow('TODO count');
    return r && /^\d/.test(r.description) && !/updating/.test(r.description) ? r : undefined;
  });
  await screenshot(page, '03-tree-with-value');
  assert.equal(row.description, '6 (±0)');
});

test('a broken definitions file gets diagnostics in the Problems panel', { skip: gate.skip }, async () => {
  const file = join(ws, '.vscode', 'insights.json');
  const good = readFileSync(file, 'utf8');
  writeFileSync(file, '{\n  "insights": [\n    {"id": "bad", "title": "Bad", "queries": ["foo(bar"]}\n  ]\n}\n');
  await runCommand(page, 'View: Focus Problems (Errors, Warnings, Infos)');
  const marker = await waitFor('the regex diagnostic', async () => {
    const t = await page.locator('.markers-panel .monaco-list-row', { hasText: 'invalid regular expression' }).first().textContent().catch(() => null);
    return t ?? undefined;
  }, 30_000);
  await screenshot(page, '04-problems');
  assert.match(marker, /insight "bad": query 1: invalid regular expression "foo\(bar" at position 3: Unterminated group/);
  assert.match(marker, /\[Ln 3, Col 51\]/);
  writeFileSync(file, good);
  await waitFor('the diagnostic to clear', async () => ((await page.locator('.markers-panel .monaco-list-row', { hasText: 'invalid regular expression' }).count()) === 0 ? true : undefined), 30_000);
});

test('Export CSV writes exactly what the command line prints for the same definition', { skip: gate.skip }, async () => {
  const file = join(ws, '.vscode', 'insights.json');
  const defs = JSON.parse(readFileSync(file, 'utf8'));
  defs.insights.push({ id: 'todo-fixed', title: 'TODO fixed end', queries: ['TODO'], step: 'month', points: 3, end: '2026-03-01T00:00:00Z' });
  writeFileSync(file, JSON.stringify(defs, null, 2));
  await showInsightsView();
  let seen: { label: string; description: string } | undefined;
  await waitFor('the second insight computed', async () => {
    const r = (seen = await treeRow('TODO fixed end'));
    return r && /^\d/.test(r.description) && !/updating/.test(r.description) ? r : undefined;
  }).catch(async (err) => {
    throw new Error(`${(err as Error).message} (the row shows ${JSON.stringify(seen)})\n${await failureContext(page, cs, 'second-insight')}`);
  });
  assert.equal((await treeRow('TODO fixed end'))!.description, '6 (+1)');

  const out = join(ws, 'exported.csv');
  await runCommand(page, 'Code Insights: Export CSV');
  await answer(page, 'Export which insight', 'TODO fixed end');
  // The save dialog (VS Code's simple file dialog in code-server): replace the path and accept.
  await answer(page, 'Export "TODO fixed end" as CSV', out);
  // Under load the simple file dialog can miss an Enter that comes while it is still taking in
  // the typed path (seen once in CI): while it stays open showing that path, Enter again.
  await waitFor('the exported file', async () => {
    if (existsSync(out)) return true;
    const dialog = await quickInputText(page);
    if (dialog.includes('as CSV') && (await quickInput(page).locator('.quick-input-box input').inputValue().catch(() => '')) === out) await page.keyboard.press('Enter');
    await page.waitForTimeout(500);
    return undefined;
  }, 30_000);
  await screenshot(page, '05-exported');
  const cli = execFileSync(process.execPath, [join(ROOT, 'bin', 'code-insights.js'), 'series', ws, '-q', 'TODO', '--step', 'month', '--points', '3', '--end', '2026-03-01T00:00:00Z', '--format', 'csv', '--no-cache'], { encoding: 'utf8' });
  assert.equal(readFileSync(out, 'utf8'), cli);
  assert.equal(cli.trim().split('\n').length, 6);
});

test('when the server dies it is restarted, the user is told once, and insights work again', { skip: gate.skip }, async () => {
  for (let round = 1; round <= 2; round++) {
    const [pid] = await waitFor('a running insights server', async () => {
      const pids = insightsServerPids(cs!);
      return pids.length === 1 ? pids : undefined;
    }, 20_000);
    process.kill(pid!, 'SIGKILL');
    // A new server process (another pid) answers again.
    await waitFor('the restarted server', async () => {
      const pids = insightsServerPids(cs!);
      return pids.length === 1 && pids[0] !== pid ? true : undefined;
    }, 30_000);
    // The scenario is a server dying while in use: wait until the new one has initialised
    // before the next kill (a crash during start-up is a different case, not tested here).
    await waitFor('the restarted server to be ready', async () => ((extensionLog(cs!).match(/insights server ready/g)?.length ?? 0) >= round + 1 ? true : undefined), 60_000);
    if (round === 1) await screenshot(page, '06-server-restarted');
  }
  await page.waitForTimeout(1500);
  // Toasts hide after a while; the notification center keeps every message shown.
  await runCommand(page, 'Notifications: Show Notifications');
  const told = page.locator('.notifications-center .notification-list-item', { hasText: 'server stopped unexpectedly' });
  await told.first().waitFor({ timeout: 15_000 }).catch(async (err) => {
    throw new Error(`no restart notification (screenshot ${await screenshot(page, 'failed-restart-notification')})`, { cause: err });
  });
  assert.equal(await told.count(), 1, 'told once, not at every crash');
  await page.keyboard.press('Escape');
  assert.equal(extensionLog(cs!).match(/stopped unexpectedly; restarting it/g)?.length, 2);
  // The restarted server reads the definitions again and computes on request.
  await runCommand(page, 'Code Insights: Refresh');
  await showInsightsView();
  const row = await waitFor('the recomputed tree row', async () => {
    const r = await treeRow('TODO fixed end');
    return r && /^\d/.test(r.description) && !/updating/.test(r.description) ? r : undefined;
  });
  assert.equal(row.description, '6 (+1)');
});

test('the extension reports its activate() time in its log', { skip: gate.skip }, async () => {
  const log = await waitFor('the activate line', async () => {
    const m = /activate\(\) took ([\d.]+) ms/.exec(extensionLog(cs!));
    return m ? Number(m[1]) : undefined;
  }, 10_000);
  process.stdout.write(`e2e: extension activate() took ${log} ms\n`);
  mkdirSync(join(ROOT, 'test-artifacts', 'e2e'), { recursive: true });
  writeFileSync(join(ROOT, 'test-artifacts', 'e2e', 'activate-ms.txt'), `${log}\n`);
  // The figure is recorded, not asserted: tests never judge wall-clock time (seen here: 15–146 ms
  // on 2 busy cores). What is asserted is that activate() finished and logged a measurement.
  assert.ok(Number.isFinite(log) && log >= 0, `activate() reported ${log}`);
});

test('New Insight makes a structural insight: language, then an ast-grep pattern; the tree shows its exact count', { skip: gate.skip }, async () => {
  await showInsightsView();
  await runCommand(page, 'Code Insights: New Insight');
  await answer(page, 'Title of the insight', 'Constants');
  await answer(page, 'What should it count?', 'Structural');
  await answer(page, 'Language of the patterns', 'typescript');
  await screenshot(page, '07-new-structural-pattern');
  await answer(page, /ast-grep patterns in typescript/, 'const $A = $B');
  await answer(page, 'One point per', 'month');
  await answer(page, 'How many points', '3');
  await answer(page, 'Which repositories');

  const file = join(ws, '.vscode', 'insights.json');
  const made = await waitFor('the structural definition', async () => JSON.parse(readFileSync(file, 'utf8')).insights.find((d: { id: string }) => d.id === 'constants'), 20_000);
  assert.deepEqual(made, { id: 'constants', title: 'Constants', kind: 'structural', language: 'typescript', queries: [{ query: 'const $A = $B' }], step: 'month', points: 3 });
  // One declaration (alpha's b.ts); the TODOs in comments and beta's Python file are not code of it.
  const row = await waitFor('the structural tree row', async () => {
    const r = await treeRow('Constants');
    return r && /^\d/.test(r.description) && !/updating/.test(r.description) ? r : undefined;
  });
  assert.equal(row.description, '1 (±0)');
});
