// The org page's charts say when an org-defined insight's backfill is not complete: a chart of a
// series such an insight computes carries "Incomplete: 1 of 3 repositories" with the failed
// repository named, while a developer's series beside it carries nothing; once every repository
// is computed the note goes (the page follows the backfill by itself). Headless Chromium, under
// the page's CSP, with the page's own Chart.js view and with the shared webview bundle.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { addRepos, createInsights, markDone, markError, markRunning, retryFailed, type RunKey } from '../../../org/fleet/store';
import { packageRoot } from '../../../org/paths';
import { ingest } from '../../../org/store';
import { toSeriesSpecs } from '../../../server/engine/definitions';
import { seriesId } from '../../../server/engine/seriesId';
import { seriesDefinition } from '../../../server/sync/fromResults';
import type { InsightDefinition } from '../../../protocol/insights';
import { ensureBuilt } from '../../cli/cliHarness';
import { CHROMIUM, missingChromium, prerequisiteGate } from '../../helpers/prerequisites';
import { definition, makeOrg, openTestDb, point, sha, startApp, type TestDb } from '../helpers';

const ARTIFACTS = join(packageRoot(), 'test-artifacts', 'org');
const INSIGHT: InsightDefinition = { kind: 'series', id: 'old-logger', title: 'Old logger', queries: [{ query: 'oldLog(' }], literal: true, step: 'week', points: 4 };

describe('org page: charts of an incomplete backfill say so', prerequisiteGate('org page incomplete-chart suite', missingChromium()), () => {
  let browser: Browser;
  before(async () => {
    ensureBuilt(); // dist/webview.js with this tree's card view
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  });
  after(async () => {
    await browser?.close();
  });

  const modes = [{ name: 'own Chart.js view', bundle: false }];
  if (existsSync(join(packageRoot(), 'dist', 'webview.js'))) modes.unshift({ name: 'shared webview bundle', bundle: true });

  for (const mode of modes) {
    it(`${mode.name}: note while repositories are queued or failed, gone when complete`, async () => {
      const t: TestDb = await openTestDb('pglite');
      const srv = await startApp(t.db, undefined, mode.bundle);
      try {
        const org = await makeOrg(t.db, 'acme');
        await addRepos(t.db, org.id, ['https://github.com/acme/api', 'https://github.com/acme/web', 'https://gitlab.com/acme/x']);
        const made = await createInsights(t.db, org.id, JSON.stringify({ insights: [INSIGHT] }), { kind: 'all' });
        const [api, web, x] = made.runs as [RunKey, RunKey, RunKey];
        const spec = toSeriesSpecs(INSIGHT)[0];
        const fleetSeries = seriesId(spec);
        // api computed (its points stored as a worker stores them), web still queued, x failed.
        await markRunning(t.db, api, 1);
        await ingest(t.db, org.id, [seriesDefinition(fleetSeries, spec)], [point({ series: fleetSeries, value: 4 }), point({ series: fleetSeries, value: 3, time: '2026-11-09T00:00:00.000Z', commit: sha(2) })]);
        await markDone(t.db, api, sha(2));
        await markRunning(t.db, x, 5);
        await markError(t.db, x, 'git clone https://gitlab.com/acme/x: fatal: repository not found', true);
        // A developer's pushed series: not computed by the fleet, never marked.
        await ingest(t.db, org.id, [definition()], [point({ value: 7 })]);

        const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
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

        const card = (id: string) => (mode.bundle ? `#code-insights-dashboard [data-key="${id}"]` : `#insights .card[data-series="${id}"]`);
        await page.waitForSelector(`${card(fleetSeries)} .incomplete`);
        const note = (await page.textContent(`${card(fleetSeries)} .incomplete`))!;
        assert.match(note, /Incomplete: 1 of 3 repositories/);
        // The failed repository is named as failed, with git's reason.
        const cardText = (await page.textContent(card(fleetSeries)))!;
        assert.match(cardText, /gitlab\.com\/acme\/x.*failed: git clone https:\/\/gitlab\.com\/acme\/x: fatal: repository not found/);
        if (!mode.bundle) assert.match(note, /1 failed; 1 still computing/);
        assert.equal(await page.$(`${card(definition().id)} .incomplete`), null, 'a pushed series is not marked');
        await page.screenshot({ path: join(ARTIFACTS, `incomplete-${mode.bundle ? 'bundle' : 'chartjs'}.png`), fullPage: true });

        // The backfill completes (web computed, x retried and computed): the page, polling the
        // status, drops the note without a reload.
        await markRunning(t.db, web, 1);
        await markDone(t.db, web, sha(3));
        for (const run of await retryFailed(t.db, org.id)) {
          await markRunning(t.db, run, 1);
          await markDone(t.db, run, sha(4));
        }
        await page.waitForFunction((sel) => document.querySelector(sel) !== null && document.querySelector(`${sel} .incomplete`) === null, card(fleetSeries), { timeout: 30_000 });
        assert.match((await page.textContent('#fleet-rows tr[data-insight="old-logger"]'))!, /3 \/ 3/);
        assert.deepEqual(await page.evaluate(() => (window as unknown as { __violations: string[] }).__violations), []);
        assert.deepEqual(problems, []);
        await page.close();
      } finally {
        await srv.close();
        await t.cleanup();
      }
    });
  }
});
