// The org page edits and deletes an org-defined insight (headless Chromium, under the page's
// CSP): "Edit" fills the form from the stored definition, "Save changes" replaces it with an
// admin token (a write token is refused with the service's message), "Delete" asks first and
// removes it. The database is checked after each step.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { addRepos, createInsights, fleetStatus } from '../../../org/fleet/store';
import { CHROMIUM, missingChromium, prerequisiteGate } from '../../helpers/prerequisites';
import { makeOrg, openTestDb, startApp, type TestDb, type TestOrg } from '../helpers';

describe('org page: edit and delete an org-defined insight in Chromium', prerequisiteGate('org page edit suite', missingChromium()), () => {
  let t: TestDb;
  let org: TestOrg;
  let browser: Browser;
  before(async () => {
    t = await openTestDb('pglite');
    org = await makeOrg(t.db, 'acme');
    await addRepos(t.db, org.id, ['https://github.com/acme/api', 'https://github.com/acme/web', 'https://gitlab.com/other/x']);
    await createInsights(t.db, org.id, JSON.stringify({ insights: [{ id: 'old-logger', title: 'Old logger', queries: ['oldLog('], literal: true, step: 'month', points: 12 }] }), { kind: 'regex', regex: '^github\\.com/' });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  });
  after(async () => {
    await browser?.close();
    await t?.cleanup();
  });

  it('fills the form from the definition, saves a change with an admin token, deletes after confirming', async () => {
    const srv = await startApp(t.db, undefined, false);
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      await page.addInitScript(() => {
        const w = window as unknown as { __violations: string[] };
        w.__violations = [];
        document.addEventListener('securitypolicyviolation', (e) => w.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
      });
      await page.goto(srv.base + '/');
      await page.fill('#token', org.read);
      await page.click('#login button[type=submit]');
      const row = '#fleet-rows tr[data-insight="old-logger"]';
      await page.waitForSelector(row);
      assert.equal(await page.isVisible('#fleet-update'), false, 'Save changes shows only while editing');

      await page.click(`${row} button.fleet-edit`);
      assert.equal(await page.inputValue('#fleet-title'), 'Old logger');
      assert.equal(await page.inputValue('#fleet-id'), 'old-logger');
      assert.equal(await page.inputValue('#fleet-queries'), 'oldLog(');
      assert.equal(await page.isChecked('#fleet-literal'), true);
      assert.equal(await page.inputValue('#fleet-step'), 'month');
      assert.equal(await page.inputValue('#fleet-points'), '12');
      assert.equal(await page.inputValue('#fleet-scope'), '^github\\.com/');

      // A second query, the scope widened to every repository (pattern cleared).
      await page.fill('#fleet-queries', 'oldLog(\nlegacyLog(');
      await page.fill('#fleet-scope', '');
      await page.fill('#fleet-token', org.write);
      await page.click('#fleet-update');
      await page.waitForFunction(() => /needs an "admin" token/.test(document.getElementById('fleet-message')!.textContent ?? ''));
      assert.equal((await fleetStatus(t.db, org.id)).insights[0].definition.queries?.length, 1, 'nothing changed with a write token');
      await page.fill('#fleet-token', org.admin);
      await page.click('#fleet-update');
      await page.waitForFunction(() => /Updated old-logger: 3 repositories queued/.test(document.getElementById('fleet-message')!.textContent ?? ''));
      assert.equal(await page.inputValue('#fleet-token'), '', 'the admin token is not kept');
      const s = (await fleetStatus(t.db, org.id)).insights[0];
      assert.deepEqual(s.definition.queries?.map((q) => q.query), ['oldLog(', 'legacyLog(']);
      assert.deepEqual(s.scope, { kind: 'all' });
      assert.equal(s.total, 3);
      await page.waitForFunction(() => /0 \/ 3/.test(document.querySelector('#fleet-rows tr[data-insight="old-logger"]')?.textContent ?? ''));

      // Delete: dismissed first (nothing happens), then accepted.
      await page.fill('#fleet-token', org.admin);
      page.once('dialog', (d) => void d.dismiss());
      await page.click(`${row} button.fleet-delete`);
      assert.equal((await fleetStatus(t.db, org.id)).insights.length, 1);
      page.once('dialog', (d) => {
        assert.match(d.message(), /Delete the org insight "Old logger" \(old-logger\)\? Points already computed stay/);
        void d.accept();
      });
      await page.click(`${row} button.fleet-delete`);
      await page.waitForFunction(() => /Deleted old-logger/.test(document.getElementById('fleet-message')!.textContent ?? ''));
      await page.waitForFunction(() => document.querySelector('#fleet-rows tr[data-insight="old-logger"]') === null);
      assert.deepEqual((await fleetStatus(t.db, org.id)).insights, []);
      assert.deepEqual(await page.evaluate(() => (window as unknown as { __violations: string[] }).__violations), []);
      assert.deepEqual(problems, []);
    } finally {
      await srv.close();
    }
  });
});
