// Real VS Code for end-to-end tests: code-server 4.100.3 (installed by scripts/e2e-setup.sh)
// driven in Debian's headless Chromium with playwright-core. Shared by every e2e test file.
//
// Locally, a missing prerequisite skips the suite with the reason; with CI=true it fails.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const ROOT = join(__dirname, '..', '..');
export const E2E_DIR = process.env.CODE_INSIGHTS_E2E_DIR ?? '/opt/code-insights-e2e';
export const CODE_SERVER = join(E2E_DIR, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const VSIX = join(ROOT, 'code-insights.vsix');
export const ARTIFACTS = join(ROOT, 'test-artifacts', 'e2e');

/** Why the suite cannot run here, or undefined when it can. Under CI=true the caller fails instead of skipping. */
export function missingPrerequisite(): string | undefined {
  if (!existsSync(CODE_SERVER)) return `code-server is not installed at ${E2E_DIR} (run: bash scripts/e2e-setup.sh)`;
  if (!existsSync(join(E2E_DIR, 'node_modules', 'code-server', 'lib', 'vscode', 'node_modules'))) return 'code-server is installed without its VS Code modules (run: bash scripts/e2e-setup.sh)';
  if (!existsSync(CHROMIUM)) return `Chromium is not at ${CHROMIUM} (run: bash scripts/e2e-setup.sh)`;
  return undefined;
}

/** Skip (locally) or fail (CI=true) when a prerequisite is missing. */
export function prerequisiteGate(): { skip: string | false } {
  const missing = missingPrerequisite();
  if (!missing) return { skip: false };
  if (process.env.CI === 'true') throw new Error(`e2e prerequisite missing under CI: ${missing}`);
  process.stderr.write(`e2e: skipped — ${missing}\n`);
  return { skip: missing };
}

/**
 * Builds the bundles and the .vsix once per run, unless a fresh one is there: under a lock, as
 * the test files run in parallel (ensureVsix.mjs says why).
 */
export function ensureVsix(): string {
  const r = spawnSync('flock', [join(tmpdir(), 'code-insights-cli-test-build.lock'), process.execPath, join(__dirname, 'ensureVsix.mjs')], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`packaging the .vsix failed:\n${r.stdout}\n${r.stderr}`);
  return VSIX;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export interface CodeServer {
  url: string;
  port: number;
  userDataDir: string;
  extensionsDir: string;
  process: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

/** Installs the .vsix into a fresh extensions folder and starts code-server on a free loopback port. */
export async function startCodeServer(opts: { vsix?: string; settings?: Record<string, unknown>; args?: string[] } = {}): Promise<CodeServer> {
  const base = mkdtempSync(join(tmpdir(), 'ci-e2e-cs-'));
  const userDataDir = join(base, 'user-data');
  const extensionsDir = join(base, 'extensions');
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  mkdirSync(extensionsDir, { recursive: true });
  writeFileSync(join(userDataDir, 'User', 'settings.json'), JSON.stringify({
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'telemetry.telemetryLevel': 'off',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'update.mode': 'none',
    'files.simpleDialog.enable': true,
    'git.enabled': false,
    'window.restoreWindows': 'none',
    'workbench.colorTheme': 'Default Dark Modern',
    ...opts.settings,
  }, null, 2));
  if (opts.vsix) {
    const r = spawnSync(process.execPath, [CODE_SERVER, '--install-extension', opts.vsix, '--extensions-dir', extensionsDir, '--user-data-dir', userDataDir], { encoding: 'utf8' });
    if (r.status !== 0 || !/successfully installed/.test(r.stdout)) throw new Error(`installing ${opts.vsix} failed:\n${r.stdout}\n${r.stderr}`);
  }
  const port = await freePort();
  let out = '';
  const proc = spawn(process.execPath, [
    CODE_SERVER, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check',
    '--disable-workspace-trust', '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir, ...(opts.args ?? []),
    // The default cache folder of this code-server's insights servers is its own, never the
    // user's (~/.cache/code-insights), so a test that falls back to it cannot leave points there.
  ], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: undefined, XDG_CACHE_HOME: join(base, 'cache') } as NodeJS.ProcessEnv });
  proc.stdout!.on('data', (d) => (out += String(d)));
  proc.stderr!.on('data', (d) => (out += String(d)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`code-server exited (${proc.exitCode}):\n${out}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`code-server did not answer within 60 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    port,
    userDataDir,
    extensionsDir,
    process: proc,
    output: () => out,
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill('SIGTERM');
      await Promise.race([new Promise((r) => proc.once('exit', r)), new Promise((r) => setTimeout(r, 5000))]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
    },
  };
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Opens the workbench on a folder and waits until it is interactive. */
export async function openWorkbench(browser: Browser, cs: CodeServer, folder: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${cs.url}/?folder=${encodeURIComponent(folder)}`);
  await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
  await page.waitForSelector('.statusbar', { timeout: 60_000 });
  await page.locator('.monaco-workbench').click({ position: { x: 700, y: 450 } });
  return page;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

export const quickInput = (page: Page) => page.locator('.quick-input-widget');

/**
 * Runs a command by its palette title (for example "Code Insights: New Insight"). Retries while
 * the workbench is still registering extensions' commands.
 */
export async function runCommand(page: Page, title: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+Shift+P');
    const input = quickInput(page).locator('.quick-input-box input');
    await input.waitFor({ state: 'visible' });
    await input.fill(`>${title}`);
    const row = quickInput(page).locator('.monaco-list-row', { hasText: title }).first();
    try {
      await row.waitFor({ state: 'visible', timeout: 5_000 });
      await page.waitForTimeout(150);
      await page.keyboard.press('Enter');
      return;
    } catch (err) {
      if (Date.now() > deadline) {
        const shot = await screenshot(page, `failed-command-${title.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 40)}`);
        throw new Error(`the command palette did not offer "${title}" (screenshot ${shot})`, { cause: err });
      }
    }
  }
}

/** The visible text of the quick input: its title, message (prompt or validation) and placeholder. */
export async function quickInputText(page: Page): Promise<string> {
  // A string, not a function: tsx would wrap inner functions in a helper the page does not have.
  return page.evaluate(`(() => {
    const w = document.querySelector('.quick-input-widget');
    if (!w || w.style.display === 'none' || !w.offsetParent) return '';
    const text = (sel) => ((w.querySelector(sel) && w.querySelector(sel).innerText) || '').trim();
    const input = w.querySelector('.quick-input-box input');
    return [text('.quick-input-title'), text('.quick-input-message'), input ? input.placeholder : '', input ? input.getAttribute('aria-label') || '' : ''].join(' | ');
  })()`);
}

/** Waits for the quick input to show `expect` (title, prompt or placeholder), then types `text` (replacing its value) and presses Enter. */
export async function answer(page: Page, expect: string | RegExp, text?: string): Promise<void> {
  const matches = (t: string) => (typeof expect === 'string' ? t.includes(expect) : expect.test(t));
  let shown = '';
  const deadline = Date.now() + 15_000;
  while (!matches((shown = await quickInputText(page)))) {
    if (Date.now() > deadline) {
      const shot = await screenshot(page, `failed-waiting-for-${String(expect).replace(/[^A-Za-z0-9]+/g, '-').slice(0, 40)}`);
      throw new Error(`the quick input did not show ${String(expect)} (it shows: ${JSON.stringify(shown)}; screenshot ${shot})`);
    }
    await page.waitForTimeout(100);
  }
  const input = quickInput(page).locator('.quick-input-box input');
  if (text !== undefined) {
    await input.fill(text);
    await page.waitForTimeout(200);
  }
  await page.keyboard.press('Enter');
  await page.waitForTimeout(250);
}

/** Polls `fn` until it returns a value (not undefined), or fails with the last state after `timeoutMs`. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** The extension's own log file (its LogOutputChannel), from code-server's log folder. */
export function extensionLog(cs: CodeServer): string {
  const found: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name === 'Code Insights.log' || /code-insights.*\.log$/i.test(e.name)) found.push(p);
    }
  };
  walk(join(cs.userDataDir, 'logs'));
  return found.map((f) => readFileSync(f, 'utf8')).join('\n');
}

/**
 * What a failed wait saw, for the CI log (its artifacts are not kept): a screenshot's path and
 * the end of the extension's log, without the LSP trace's parameter blocks.
 */
export async function failureContext(page: Page, cs: CodeServer | undefined, name: string, lines = 40): Promise<string> {
  const shot = await screenshot(page, `failed-${name}`).catch((e) => `(no screenshot: ${(e as Error).message})`);
  const log = cs ? extensionLog(cs).split('\n').filter((l) => /^\d{4}-\d\d-\d\d /.test(l)).slice(-lines).join('\n') : '';
  return `screenshot ${shot}\nthe extension's log ends:\n${log || '(empty)'}`;
}

/** Process ids of the insights server(s) this code-server started (found by the extension's path). */
export function insightsServerPids(cs: CodeServer): number[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).stdout;
  return ps.split('\n')
    .filter((l) => l.includes(cs.extensionsDir) && l.includes('dist/server.js'))
    .map((l) => Number(l.trim().split(/\s+/)[0]))
    .filter((n) => Number.isInteger(n) && n > 0);
}
