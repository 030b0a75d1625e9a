// The org dashboard page in headless Chromium: strict CSP with no violation, read token entered
// once (sessionStorage), the org's insights charted, repository filter re-summed by the service,
// CSV export. Runs with the shared webview bundle (when dist/webview.js is built) and with the
// page's own Chart.js view. Screenshots go to test-artifacts/org/.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ingest } from '../../org/store';
import { packageRoot } from '../../org/paths';
import { definition, makeOrg, openTestDb, sha, startApp, type TestDb, type TestOrg } from './helpers';
import { CHROMIUM, missingChromium, prerequisiteGate } from '../helpers/prerequisites';

const ARTIFACTS = join(packageRoot(), 'test-artifacts', 'org');
const TIMES = Array.from({ length: 8 }, (_, i) => new Date(Date.UTC(2026, 8, 7 + 7 * i)).toISOString());
const REPOS = ['github.com/acme/api', 'github.com/acme/web', 'github.com/acme/cli', 'gitlab.com/other/a', 'gitlab.com/other/b'];
const DEFS = [
  definition({ id: 'aaaaaaaaaaaaaaaa', label: 'TODO comments', query: 'TODO' }),
  definition({ id: 'bbbbbbbbbbbbbbbb', label: 'console.log calls', query: 'console\\.log\\(', literal: false }),
  definition({ id: 'cccccccccccccccc', label: 'Deprecated API', query: '@deprecated', literal: true }),
];
const value = (d: number, r: number, t: number) => (d + 1) * 10 + r * 3 + t * (d + 1);
const expected = (d: number, keep: (repo: string) => boolean) =>
  TIMES.map((_, t) => REPOS.reduce((a, repo, r) => a + (keep(repo) ? value(d, r, t) : 0), 0));

const defIndex = (key: string) => DEFS.findIndex((d) => d.id === key);
const haveBundle = existsSync(join(packageRoot(), 'dist', 'webview.js'));

describe('org dashboard page in Chromium', prerequisiteGate('org dashboard page', missingChromium()), () => {
  let t: TestDb;
  let org: TestOrg;
  let browser: Browser;
  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    t = await openTestDb('pglite');
    org = await makeOrg(t.db, 'acme');
    const points = [];
    for (const [d, def] of DEFS.entries()) {
      for (const [r, repo] of REPOS.entries()) {
        for (const [i, time] of TIMES.entries()) points.push({ series: def.id, repo, time, commit: sha(1 + i), commitTime: time, value: value(d, r, i) });
      }
    }
    await ingest(t.db, org.id, DEFS, points);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  after(async () => {
    await browser?.close();
    await t?.cleanup();
  });

  async function openPage(base: string): Promise<{ page: Page; problems: string[] }> {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    await page.addInitScript(() => {
      const w = window as unknown as { __violations: string[]; __toView: unknown[] };
      w.__violations = [];
      w.__toView = [];
      document.addEventListener('securitypolicyviolation', (e) => w.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
      window.addEventListener('message', (e) => {
        const d = e.data as { channel?: string; direction?: string; message?: unknown };
        if (d && d.channel === 'code-insights/dashboard' && d.direction === 'toView') w.__toView.push(d.message);
      });
    });
    await page.goto(base + '/');
    return { page, problems };
  }

  const modes: { name: string; bundle: boolean }[] = [{ name: 'own Chart.js view', bundle: false }];
  if (haveBundle) modes.unshift({ name: 'shared webview bundle', bundle: true });

  for (const mode of modes) {
    it(`${mode.name}: login, charts, filter, CSV export, under a strict CSP`, async () => {
      const srv = await startApp(t.db, undefined, mode.bundle);
      try {
        const head = await fetch(srv.base + '/');
        const csp = head.headers.get('content-security-policy') ?? '';
        assert.match(csp, /script-src 'nonce-[A-Za-z0-9+/=]+'/);
        assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
        assert.match(csp, /default-src 'none'/);

        const { page, problems } = await openPage(srv.base);
        const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${mode.bundle ? 'bundle' : 'chartjs'}-${name}.png`), fullPage: true });
        await page.waitForSelector('#login:not([hidden])');
        await shot('login');

        // A write token is refused with the service's message; the read token is asked again.
        await page.fill('#token', org.write);
        await page.click('#login button[type=submit]');
        await page.waitForFunction(() => /needs a "read" token/.test(document.getElementById('status')!.textContent ?? ''));
        assert.equal(await page.isVisible('#login'), true);

        await page.fill('#token', org.read);
        await page.click('#login button[type=submit]');
        await page.waitForFunction(() => /3 insights, all repositories/.test(document.getElementById('status')!.textContent ?? ''));
        if (mode.bundle) {
          await page.waitForFunction(() => document.querySelectorAll('#code-insights-dashboard [data-key]').length === 3);
          const fed = await page.evaluate(() => (window as unknown as { __toView: { type: string; cards: { key: string; series: { points: { value: number }[] }[] }[] }[] }).__toView.filter((m) => m.type === 'dashboard').at(-1));
          assert.deepEqual(fed!.cards.map((c) => c.key).sort(), DEFS.map((d) => d.id));
          fed!.cards.forEach((c) => assert.deepEqual(c.series[0].points.map((p) => p.value), expected(defIndex(c.key), () => true)));
        } else {
          await page.waitForFunction(() => document.querySelectorAll('#insights .card canvas').length === 3);
          const latest = await page.$$eval('#insights .card', (els) => els.map((e) => [(e as HTMLElement).dataset.series, e.querySelector('.latest')!.textContent]));
          for (const [key, text] of latest) assert.equal(text, `${expected(defIndex(key!), () => true).at(-1)!.toLocaleString('en-US')} · 5 repos`);
        }
        await page.waitForTimeout(300); // let the charts finish drawing for the screenshot
        await shot('dashboard');
        assert.equal(await page.evaluate(() => sessionStorage.getItem('code-insights.org.readToken')), org.read);
        assert.equal(await page.evaluate(() => localStorage.getItem('code-insights.org.readToken')), null);

        // Repository filter: re-summed by the service from per-repo points.
        const filtered = page.waitForRequest((r) => r.url().includes('/api/v1/series/aaaaaaaaaaaaaaaa?repo='));
        if (mode.bundle) {
          await page.locator('vscode-textfield[aria-label="Include repositories (regular expression)"] input').fill('^github\\.com/acme/');
        } else {
          await page.fill('#repo', '^github\\.com/acme/');
          await page.click('#filter-form button[type=submit]');
        }
        await filtered;
        await page.waitForFunction(() => /repositories matching \^github\\\.com\/acme\//.test(document.getElementById('status')!.textContent ?? ''));
        const acme = (repo: string) => repo.startsWith('github.com/acme/');
        if (mode.bundle) {
          const fed = await page.evaluate(() => (window as unknown as { __toView: { type: string; cards: { key: string; series: { points: { value: number }[] }[] }[] }[] }).__toView.filter((m) => m.type === 'dashboard').at(-1));
          fed!.cards.forEach((c) => assert.deepEqual(c.series[0].points.map((p) => p.value), expected(defIndex(c.key), acme)));
        } else {
          const latest = await page.$$eval('#insights .card', (els) => els.map((e) => [(e as HTMLElement).dataset.series, e.querySelector('.latest')!.textContent]));
          for (const [key, text] of latest) assert.equal(text, `${expected(defIndex(key!), acme).at(-1)!.toLocaleString('en-US')} · 3 repos`);
        }
        await page.waitForTimeout(300);
        await shot('filtered');

        // CSV export of every insight as shown (filtered).
        const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
        const csv = readFileSync((await download.path())!, 'utf8').trim().split('\r\n');
        assert.equal(csv[0], 'series_id,label,query,repo_include,repo_exclude,time,value,repos');
        assert.equal(csv.length, 1 + DEFS.length * TIMES.length);
        assert.ok(csv.includes(`aaaaaaaaaaaaaaaa,TODO comments,TODO,^github\\.com/acme/,,${TIMES[0]},${expected(0, acme)[0]},3`), csv.join('\n'));
        assert.match(download.suggestedFilename(), /^code-insights-acme\.csv$/);

        // The token is kept for this tab: a reload goes straight to the dashboard.
        await page.reload();
        await page.waitForFunction(() => /3 insights/.test(document.getElementById('status')!.textContent ?? ''));
        assert.equal(await page.isHidden('#login'), true);
        // Sign out forgets it.
        await page.click('#signout');
        await page.waitForSelector('#login:not([hidden])');
        assert.equal(await page.evaluate(() => sessionStorage.getItem('code-insights.org.readToken')), null);

        const violations = await page.evaluate(() => (window as unknown as { __violations: string[] }).__violations);
        assert.deepEqual(violations, [], 'no CSP violation');
        assert.deepEqual(problems.filter((p) => !/401|403/.test(p)), [], 'no page or console errors');
        await page.context().close();
      } finally {
        await srv.close();
      }
    });
  }
});
