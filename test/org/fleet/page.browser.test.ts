// The org page's fleet section in headless Chromium, under the page's strict CSP: the backfill
// status of each org-defined insight (with the failed repository's error), a form that creates an
// insight from fields with a write token (refused definitions show the same message as
// .vscode/insights.json gets), and "Retry failed repositories".
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { addRepos, createInsights, fleetStatus, markError, markRunning } from '../../../org/fleet/store';
import { packageRoot } from '../../../org/paths';
import { parseDefinitions } from '../../../server/engine/definitions';
import { CHROMIUM, missingChromium, prerequisiteGate } from '../../helpers/prerequisites';
import { makeOrg, openTestDb, startApp, type TestDb, type TestOrg } from '../helpers';

const ARTIFACTS = join(packageRoot(), 'test-artifacts', 'org');

describe('org page: fleet status and the new-insight form in Chromium', prerequisiteGate('org page fleet suite', missingChromium()), () => {
  let t: TestDb;
  let org: TestOrg;
  let browser: Browser;
  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    t = await openTestDb('pglite');
    org = await makeOrg(t.db, 'acme');
    await addRepos(t.db, org.id, ['https://github.com/acme/api', 'https://github.com/acme/web', 'https://gitlab.com/other/x']);
    const made = await createInsights(t.db, org.id, JSON.stringify({ insights: [{ id: 'old-logger', title: 'Old logger', queries: ['oldLog('], literal: true }] }), { kind: 'all' });
    await markRunning(t.db, made.runs[2], 5);
    await markError(t.db, made.runs[2], 'git clone https://gitlab.com/other/x: fatal: repository not found', true);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  });
  after(async () => {
    await browser?.close();
    await t?.cleanup();
  });

  it('shows the backfill, creates an insight from the form, refuses a bad query with its message, retries failed ones', async () => {
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
      await page.waitForSelector('#fleet-rows tr[data-insight="old-logger"]');
      const row = await page.textContent('#fleet-rows tr[data-insight="old-logger"]');
      assert.match(row!, /Old logger \(old-logger\)0 \/ 3201/);
      assert.match((await page.textContent('#fleet-rows tr.failure'))!, /gitlab\.com\/other\/x: git clone .*repository not found/);
      assert.match((await page.textContent('#fleet-summary'))!, /3 repositories; 1 org-defined insight/);

      // A query that is not a valid regular expression: the message .vscode/insights.json gets.
      await page.fill('#fleet-title', 'Console calls');
      await page.fill('#fleet-id', 'console');
      await page.fill('#fleet-queries', 'console\\.log(');
      await page.fill('#fleet-token', org.admin);
      await page.click('#fleet-form button[type=submit]');
      const expected = parseDefinitions(JSON.stringify({ insights: [{ id: 'console', title: 'Console calls', queries: [{ query: 'console\\.log(' }], step: 'week', points: 52 }] })).problems[0].message;
      await page.waitForFunction(() => document.getElementById('fleet-message')!.className === 'error');
      assert.equal(await page.textContent('#fleet-message'), expected);

      // Fixed, with a scope: created and queued over the two github.com/acme repositories.
      await page.fill('#fleet-queries', 'console\\.log\\(\nconsole\\.warn\\(');
      await page.fill('#fleet-scope', '^github\\.com/acme/');
      await page.fill('#fleet-token', org.admin);
      await page.click('#fleet-form button[type=submit]');
      await page.waitForFunction(() => /Created console: 2 repositories queued/.test(document.getElementById('fleet-message')!.textContent ?? ''));
      await page.waitForSelector('#fleet-rows tr[data-insight="console"]');
      assert.equal(await page.inputValue('#fleet-token'), '', 'the write token is not kept');
      const s = await fleetStatus(t.db, org.id);
      const made = s.insights.find((i) => i.name === 'console')!;
      assert.deepEqual(made.scope, { kind: 'regex', regex: '^github\\.com/acme/' });
      assert.equal(made.total, 2);

      // A read token cannot change anything; an admin token retries the failed repository.
      await page.fill('#fleet-token', org.read);
      await page.click('#fleet-retry');
      await page.waitForFunction(() => /needs an "admin" token/.test(document.getElementById('fleet-message')!.textContent ?? ''));
      await page.fill('#fleet-token', org.admin);
      await page.click('#fleet-retry');
      await page.waitForFunction(() => /1 failed repositories queued again/.test(document.getElementById('fleet-message')!.textContent ?? ''));
      assert.equal((await fleetStatus(t.db, org.id)).insights[0].failed, 0);
      await page.screenshot({ path: join(ARTIFACTS, 'fleet-section.png'), fullPage: true });
      assert.deepEqual(await page.evaluate(() => (window as unknown as { __violations: string[] }).__violations), []);
      assert.deepEqual(problems.filter((p) => !/40[13]/.test(p)), []);
    } finally {
      await srv.close();
    }
  });
});
