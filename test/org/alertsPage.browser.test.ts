// The org page's alerts section in headless Chromium, under the page's strict CSP: each rule with
// its condition, pending period, state and value, the webhook as its host only (a read token's
// view: a Slack URL's path is its secret), and the history of firings with each delivery's outcome.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { createRule } from '../../org/alerts/store';
import { packageRoot } from '../../org/paths';
import { ingest } from '../../org/store';
import { CHROMIUM, missingChromium, prerequisiteGate } from '../helpers/prerequisites';
import { definition, makeOrg, openTestDb, point, sha, startApp, type TestDb, type TestOrg } from './helpers';

const ARTIFACTS = join(packageRoot(), 'test-artifacts', 'org');
const SERIES = 'a1e4700000000b01';
const WEEK = 7 * 24 * 3600 * 1000;
const T0 = Date.parse('2026-01-05T00:00:00.000Z');

describe('org page: alert rules and their history in Chromium', prerequisiteGate('org page alerts suite', missingChromium()), () => {
  let t: TestDb;
  let org: TestOrg;
  let browser: Browser;
  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    t = await openTestDb('pglite');
    org = await makeOrg(t.db, 'acme');
    const values = [30, 28, 25, 26];
    await ingest(t.db, org.id, [definition({ id: SERIES, label: 'Old logger calls' })], values.map((v, i) => point({ series: SERIES, time: new Date(T0 + i * WEEK).toISOString(), commit: sha(i + 1), commitTime: new Date(T0 + i * WEEK).toISOString(), value: v })));
    await createRule(t.db, org.id, { series: SERIES, condition: { kind: 'threshold', above: 20, below: null }, pendingSeconds: 0, webhook: 'https://hooks.slack.example/services/T0/B0/very-secret', format: 'slack' });
    await createRule(t.db, org.id, { series: SERIES, condition: { kind: 'target', target: 0, by: '2026-03-01', direction: 'down', window: 8 }, pendingSeconds: 14 * 24 * 3600, webhook: 'https://alerts.example/hook', format: 'json' });
    await createRule(t.db, org.id, { series: SERIES, condition: { kind: 'threshold', above: 100, below: null }, pendingSeconds: 0, webhook: 'https://alerts.example/hook', format: 'json' });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  });
  after(async () => {
    await browser?.close();
    await t?.cleanup();
  });

  it('lists the rules with their state and the history of firings with their deliveries', async () => {
    const srv = await startApp(t.db, undefined, false);
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
      });
      await page.addInitScript(() => {
        const w = window as unknown as { __violations: string[] };
        w.__violations = [];
        document.addEventListener('securitypolicyviolation', (e) => w.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
      });
      await page.goto(srv.base + '/');
      await page.fill('#token', org.read);
      await page.click('#login button[type=submit]');
      await page.waitForSelector('#alerts-rules tr');
      const rows = await page.$$eval('#alerts-rules tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
      assert.deepEqual(rows, [
        ['1', 'Old logger calls', 'above 20', '—', 'firing since 2026-01-05', '26 (2026-01-26)', 'slack → https://hooks.slack.example/…'],
        ['2', 'Old logger calls', 'target 0 by 2026-03-01 (down)', '2 w', 'firing since 2026-01-12', '26 (2026-01-26)', 'json → https://alerts.example/…'],
        ['3', 'Old logger calls', 'above 100', '—', 'ok', '26 (2026-01-26)', 'json → https://alerts.example/…'],
      ]);
      assert.match((await page.textContent('#alerts-summary'))!, /3 rules, 2 firing/);
      const history = await page.$$eval('#alerts-history tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(1).map((td) => td.textContent)));
      // 30, 28, 25, 26: −1.5 a week from a fitted 25, so 0 about 16.7 weeks after 2026-01-26; due 5 weeks after
      assert.deepEqual(history, [
        ['2', 'firing', '26 (2026-01-26)', 'target date missed by 12 weeks', 'pending, 0 attempts'],
        ['1', 'firing', '26 (2026-01-26)', 'above 20', 'pending, 0 attempts'],
      ]);
      assert.ok(!(await page.content()).includes('very-secret'));
      await page.screenshot({ path: join(ARTIFACTS, 'alerts-section.png'), fullPage: true });
      assert.deepEqual(await page.evaluate(() => (window as unknown as { __violations: string[] }).__violations), []);
      assert.deepEqual(problems, []);
    } finally {
      await srv.close();
    }
  });
});
