// Tests inside the real extension host of code-server: the extension loaded from this checkout
// as a development extension, test/extension/suite/index.js run by VS Code's own test runner,
// which reports its outcome through window.codeAutomationExit (0 = all passed).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { ensureVsix, launchBrowser, prerequisiteGate, ROOT, screenshot, startCodeServer, type CodeServer } from './harness';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { makeWorkspace } = require('../extension/makeWorkspace.cjs') as { makeWorkspace: () => string };

const gate = prerequisiteGate();
let cs: CodeServer | undefined;
let browser: Browser | undefined;
let ws: string | undefined;

after(async () => {
  await browser?.close();
  await cs?.stop();
  if (ws) rmSync(ws, { recursive: true, force: true });
});

test('the extension-host suite passes in code-server', { skip: gate.skip, timeout: 420_000 }, async () => {
  ensureVsix(); // builds dist/, which the development extension loads
  ws = makeWorkspace();
  cs = await startCodeServer({ settings: { 'codeInsights.cacheFile': join(ws, '..', `${ws.split('/').pop()}-cache.sqlite`) } });
  browser = await launchBrowser();
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const lines: string[] = [];
  page.on('console', (m) => {
    const t = m.text();
    if (t.includes('[code-insights tests]')) lines.push(t);
  });
  const exit = new Promise<number>((resolve) => {
    void page.exposeFunction('codeAutomationExit', (code: number) => resolve(code));
  });
  const remote = (p: string) => `vscode-remote://127.0.0.1:${cs!.port}${p}`;
  const payload = JSON.stringify([
    ['extensionDevelopmentPath', remote(ROOT)],
    ['extensionTestsPath', remote(join(ROOT, 'test', 'extension', 'suite', 'index.js'))],
  ]);
  await page.goto(`${cs.url}/?folder=${encodeURIComponent(ws)}&payload=${encodeURIComponent(payload)}`);
  // The deadline is cleared once the suite answers: a pending timer kept this file's process
  // alive for the rest of its 360 s after the suite had passed.
  let deadline: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    exit,
    new Promise<number>((_, reject) => {
      deadline = setTimeout(() => reject(new Error(`no result within 360 s; output so far:\n${lines.join('\n')}`)), 360_000);
    }),
  ]).finally(() => clearTimeout(deadline));
  await screenshot(page, 'exthost-suite').catch(() => undefined);
  process.stdout.write(lines.map((l) => `exthost: ${l}\n`).join(''));
  assert.equal(code, 0, `extension host tests failed:\n${lines.join('\n')}`);
  assert.ok(lines.some((l) => /\b[1-9]\d* passed, 0 failed/.test(l)), lines.join('\n'));
});
