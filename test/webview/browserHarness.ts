// Serves dist/webview.js on a localhost page under the same strict Content-Security-Policy the
// VS Code panel uses, in real headless Chromium. The test plays the host: it posts page
// envelopes to the app and records what the app posts back. Any CSP violation, page error or
// console error is recorded so a test can fail on it.
import { createServer, type Server } from 'node:http';
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PAGE_CHANNEL, type HostMessage, type ViewMessage } from '../../protocol/webview';
import { CHROMIUM } from '../helpers/prerequisites';

export const ROOT = join(__dirname, '..', '..');
export const ARTIFACTS = join(ROOT, 'test-artifacts', 'webview');

export function csp(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    'img-src data: blob:',
    "font-src 'none'",
    "connect-src 'none'",
    "frame-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

export interface Harness {
  page: Page;
  url: string;
  /** Posts a host message to the app, as the org page's host script would. */
  send(m: HostMessage): Promise<void>;
  /** Every message the app posted so far. */
  sent(): Promise<ViewMessage[]>;
  waitForSent<T extends ViewMessage['type']>(type: T, after?: number): Promise<Extract<ViewMessage, { type: T }>>;
  problems(): Promise<string[]>;
  inspect(): Promise<Record<string, { role: string; labels: string[]; datasets: { label: string; data: (number | null)[]; hidden: boolean; color: string; width: number }[] }[]>>;
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export async function openDashboardPage(opts: { theme?: 'light' | 'dark'; bodyClass?: string } = {}): Promise<Harness> {
  const bundle = readFileSync(join(ROOT, 'dist', 'webview.js'));
  const server: Server = createServer((req, res) => {
    const nonce = randomBytes(16).toString('base64');
    if (req.url === '/webview.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(bundle);
      return;
    }
    if (req.url !== '/') {
      res.writeHead(404).end();
      return;
    }
    const policy = csp(nonce);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': policy });
    res.end(`<!doctype html>
<html lang="en"${opts.theme ? ` data-theme="${opts.theme}"` : ''}>
<head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${policy}"><title>Code Insights</title></head>
<body${opts.bodyClass ? ` class="${opts.bodyClass}"` : ''}><main id="code-insights-dashboard"></main>
<script nonce="${nonce}" src="/webview.js"></script></body></html>`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const url = `http://127.0.0.1:${port}/`;
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1200, height: 1600 }, colorScheme: opts.theme ?? 'light' });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(`console.error: ${m.text()}`);
  });
  // Runs before any page script, outside the page's CSP: the recorder a host page would be.
  await page.addInitScript((channel: string) => {
    const w = window as unknown as { __sent: unknown[]; __csp: string[] };
    w.__sent = [];
    w.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} ${e.sourceFile}:${e.lineNumber}`));
    window.addEventListener('message', (e) => {
      const d = e.data as { channel?: string; direction?: string; message?: unknown };
      if (d && d.channel === channel && d.direction === 'toHost') w.__sent.push(d.message);
    });
  }, PAGE_CHANNEL);
  await page.goto(url);
  await page.waitForFunction(() => (window as unknown as { __sent: { type: string }[] }).__sent.some((m) => m.type === 'ready'));

  const h: Harness = {
    page,
    url,
    send: async (m) => {
      await page.evaluate(([channel, msg]) => window.postMessage({ channel, direction: 'toView', message: msg }, location.origin), [PAGE_CHANNEL, m] as const);
      // postMessage is asynchronous: wait until the app has handled it.
      await page.evaluate(() => new Promise((r) => setTimeout(r, 50)));
    },
    sent: () => page.evaluate(() => (window as unknown as { __sent: ViewMessage[] }).__sent),
    waitForSent: async (type, after = 0) => {
      const handle = await page.waitForFunction(
        ([t, n]) => (window as unknown as { __sent: { type: string }[] }).__sent.slice(n as number).find((m) => m.type === t),
        [type, after] as const,
        { timeout: 5000 },
      );
      return (await handle.jsonValue()) as never;
    },
    problems: async () => [...pageErrors, ...(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp))],
    inspect: () => page.evaluate(() => (window as unknown as { codeInsightsDashboard: { inspect(): never } }).codeInsightsDashboard.inspect()),
    screenshot: async (name) => {
      mkdirSync(ARTIFACTS, { recursive: true });
      const path = join(ARTIFACTS, name);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    close: async () => {
      await browser.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  return h;
}
