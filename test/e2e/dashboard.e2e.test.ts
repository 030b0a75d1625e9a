// The chart dashboard end to end in real VS Code (code-server in headless Chromium), with the
// built .vsix: open it from the command palette, read the values on the charts inside the
// webview and compare them with the engine's, see a new commit move the last point, and check
// that the webview ran under its CSP without a single violation. Reuses test/e2e/harness.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Frame, Page } from 'playwright-core';
import { TestRepo, tempDir } from '../helpers/gitRepo';
import { computeInsights } from '../../server/engine/computeInsights';
import { toComputeRequest } from '../../server/engine/definitions';
import type { InsightDefinition } from '../../protocol/insights';
import { ensureVsix, launchBrowser, openWorkbench, prerequisiteGate, runCommand, screenshot, startCodeServer, waitFor, type CodeServer } from './harness';

type Inspected = Record<string, { role: string; labels: string[]; datasets: { label: string; data: (number | null)[] }[] }[]>;

const gate = prerequisiteGate();
const DEF: InsightDefinition = { id: 'todos', title: 'TODO and FIXME', kind: 'series', queries: [{ query: 'TODO' }, { query: 'FIXME' }], step: 'month', points: 4 };
let ws: string;
let alpha: TestRepo;
let cs: CodeServer | undefined;
let browser: Browser | undefined;
let page: Page;

before(async () => {
  if (gate.skip) return;
  ws = tempDir('ci-e2e-dash-');
  alpha = TestRepo.init(join(ws, 'alpha'));
  alpha.commit('2026-07-05T10:00:00Z', { 'a.ts': 'TODO one\nTODO two\n' });
  alpha.commit('2026-09-10T10:00:00Z', { 'b.ts': 'const x = 1; // TODO FIXME\n' });
  const beta = TestRepo.init(join(ws, 'beta'));
  beta.commit('2026-08-20T10:00:00Z', { 'c.py': 'TODO TODO TODO\n# FIXME\n' });
  mkdirSync(join(ws, '.vscode'), { recursive: true });
  writeFileSync(join(ws, '.vscode', 'insights.json'), JSON.stringify({ insights: [DEF] }, null, 2));
  const vsix = ensureVsix();
  cs = await startCodeServer({ vsix, settings: { 'codeInsights.cacheFile': join(tempDir('ci-e2e-cache-'), 'cache.sqlite') } });
  browser = await launchBrowser();
  page = await openWorkbench(browser, cs, ws);
  // Frames attached from now on (the webview's) record CSP violations.
  await page.addInitScript(() => {
    const w = window as unknown as { __csp?: string[] };
    w.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => w.__csp!.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
  });
});

after(async () => {
  await browser?.close();
  await cs?.stop();
  if (ws) rmSync(ws, { recursive: true, force: true });
});

/** The webview frame that holds the dashboard app (VS Code nests it two iframes deep). */
async function dashboardFrame(): Promise<Frame | undefined> {
  for (const f of page.frames()) {
    const has = await f.evaluate(() => !!(window as unknown as { codeInsightsDashboard?: unknown }).codeInsightsDashboard).catch(() => false);
    if (has) return f;
  }
  return undefined;
}

async function inspect(frame: Frame): Promise<Inspected> {
  return frame.evaluate(() => (window as unknown as { codeInsightsDashboard: { inspect(): Inspected } }).codeInsightsDashboard.inspect());
}

/** What the engine computes for the definition right now: the reference the chart must equal. */
async function expected(): Promise<number[][]> {
  const r = await computeInsights(toComputeRequest(DEF, [ws]), { cacheFile: null });
  return r.series.map((s) => s.points.map((p) => p.value));
}

let frame: Frame;

test('Open Dashboard shows the insight with the engine’s exact values, under the CSP', { skip: gate.skip }, async () => {
  await runCommand(page, 'Code Insights: Open Dashboard');
  frame = await waitFor('the dashboard webview', dashboardFrame, 60_000);
  const want = await expected();
  // Partial results arrive as each repository finishes; wait for the card to say it is done.
  const charts = await waitFor('the computed chart', async () => {
    const done = await frame.locator('article[data-state="done"]').count();
    const c = Object.values(await inspect(frame))[0];
    return done && c?.[0]?.datasets.length === 2 ? c : undefined;
  }, 90_000);
  await screenshot(page, 'dashboard-01-open');
  assert.deepEqual(charts[0].datasets.map((d) => d.label), ['TODO', 'FIXME']);
  assert.deepEqual(charts[0].datasets.map((d) => d.data), want);
  // Now: TODO 3 + 3 = 6 (alpha a.ts 2, b.ts 1; beta 3), FIXME 1 + 1 = 2.
  assert.deepEqual(want.map((s) => s.at(-1)), [6, 2]);

  // The table view shows the same numbers.
  await frame.locator('article vscode-button', { hasText: 'Table' }).first().click();
  const lastRow = await frame.locator('article table tbody tr').last().evaluate((tr) => [...tr.children].slice(1).map((c) => c.textContent));
  assert.deepEqual(lastRow, ['6', '2']);
  const csp = await frame.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? ['(recorder missing)']);
  assert.deepEqual(csp, [], 'no CSP violation inside the webview');
});

test('a new commit in a repository moves the last point (no manual refresh)', { skip: gate.skip }, async () => {
  const before = await inspect(frame);
  const key = Object.keys(before)[0];
  const last = before[key][0].datasets[0].data.at(-1);
  assert.equal(last, 6);
  alpha.commit(new Date(), { 'new.ts': 'TODO new\nTODO newer\n' }, 'Add more TODOs');
  const after = await waitFor('the last point to change', async () => {
    const now = (await inspect(frame))[key]?.[0]?.datasets[0].data.at(-1);
    return now !== undefined && now !== last ? now : undefined;
  }, 90_000);
  await screenshot(page, 'dashboard-02-after-commit');
  assert.equal(after, 8);
  const want = await expected();
  assert.deepEqual((await inspect(frame))[key][0].datasets.map((d) => d.data), want, 'the whole chart equals the engine again');
});
