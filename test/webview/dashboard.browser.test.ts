// The dashboard bundle in real headless Chromium on a page with the panel's strict CSP, fed
// through the plain-page channel (the org dashboard's host). What a user sees must equal what
// the host sent: chart data, tables, filters, drill-down; keyboard use; no CSP violation.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openDashboardPage, ROOT, type Harness } from './browserHarness';
import { missingChromium, prerequisiteGate } from '../helpers/prerequisites';
import { REPOS, captureCard, failedCard, languagesCard, sampleCard } from './fixtures/messages';
import type { HostMessage, InsightCard } from '../../protocol/webview';

const dashboard = (cards: InsightCard[], theme: 'light' | 'dark' = 'light'): HostMessage => ({
  type: 'dashboard',
  layout: { dashboards: [{ id: 'all', title: 'All insights' }, { id: 'team', title: 'Team' }], active: 'all', order: cards.map((c) => c.key) },
  cards,
  theme,
  capabilities: { drillDown: true, openFile: true, reorder: true, saveExport: true },
});

// Every suite below needs the built bundle and Chromium: skipped locally without them, failed under CI=true.
const gate = prerequisiteGate('dashboard bundle in Chromium', existsSync(join(ROOT, 'dist', 'webview.js')) ? undefined : 'dist/webview.js is not built (npm run build)', missingChromium());

describe('dashboard bundle in Chromium', gate, () => {
  let h: Harness;
  before(async () => {
    h = await openDashboardPage({ theme: 'light' });
    await h.send(dashboard([sampleCard(), captureCard(), languagesCard(), failedCard()]));
  });
  after(async () => {
    const problems = await h.problems();
    await h.close();
    assert.deepEqual(problems, [], 'no CSP violation, page error or console error');
  });

  test('chart data equals the series the host sent', async () => {
    const charts = await h.inspect();
    const todo = charts['w/todo'];
    assert.equal(todo.length, 1);
    assert.equal(todo[0].role, 'series');
    assert.deepEqual(todo[0].labels, ['2026-10-12', '2026-10-19', '2026-10-26', '2026-11-02']);
    const sent = sampleCard();
    assert.deepEqual(
      todo[0].datasets.map((d) => [d.label, d.data]),
      sent.series.map((s) => [s.label, s.points.map((p) => p.value)]),
    );
    // Capture: lines over time plus bars of each captured value at the latest point.
    const cap = charts['w/versions'];
    assert.deepEqual(cap.map((c) => c.role), ['series', 'latest']);
    assert.deepEqual(cap[1].labels, ['18', '20']);
    assert.deepEqual(cap[1].datasets[0].data, [1, 9]);
    // Languages: stacked area over time and a pie at the newest point.
    const langs = charts['w/langs'];
    assert.deepEqual(langs.map((c) => c.role), ['languages', 'languagesAt']);
    assert.deepEqual(langs[0].datasets.map((d) => d.label), ['TypeScript', 'JavaScript', 'Markdown']);
    assert.deepEqual(langs[0].datasets[0].data, [100, 180, 260, 400]);
    assert.deepEqual(langs[1].datasets[0].data, [400, 120, 25]);
    // A failed card draws no chart and says why, with the code.
    assert.deepEqual(charts['w/broken'], []);
    const failedText = await h.page.locator('article[data-key="w/broken"]').innerText();
    assert.match(failedText, /BAD_REGEX: invalid regular expression/);
  });

  test('partial cards name the missing repository and the reason', async () => {
    const text = await h.page.locator('article[data-key="w/versions"]').innerText();
    assert.match(text, /Partial: 1 repository is not in these numbers/);
    assert.match(text, /github\.com\/acme\/legacy \(\/work\/legacy\) — error: git rev-list failed: bad object/);
  });

  test('the table view shows the same numbers as the chart', async () => {
    const card = h.page.locator('article[data-key="w/todo"]');
    await card.locator('vscode-button', { hasText: 'Table' }).click();
    const rows = await card.locator('table tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
    assert.deepEqual(rows, [
      ['2026-10-12', '3', '1'],
      ['2026-10-19', '7', '1'],
      ['2026-10-26', '11', '2'],
      ['2026-11-02', '7', '4'],
    ]);
    assert.deepEqual(await card.locator('table thead th').allTextContents(), ['Time', 'TODO', 'FIXME']);
  });

  test('keyboard: arrows move between cards and points; the point is announced with repos and commits', async () => {
    await h.page.locator('article[data-key="w/todo"]').focus();
    await h.page.keyboard.press('ArrowDown');
    assert.equal(await h.page.evaluate(() => (document.activeElement as HTMLElement).dataset.key), 'w/versions');
    await h.page.keyboard.press('ArrowUp');
    await h.page.keyboard.press('Enter');
    assert.equal(await h.page.evaluate(() => document.activeElement?.tagName), 'CANVAS');
    await h.page.keyboard.press('ArrowLeft');
    const live = h.page.locator('.sr-only[role="status"]');
    await assert.doesNotReject(live.filter({ hasText: 'TODO, 2026-10-26: 11' }).waitFor({ timeout: 2000 }));
    const said = await live.innerText();
    assert.match(said, new RegExp(`${REPOS.A} 4 at ${REPOS.sha(3, REPOS.A).slice(0, 7)}`));
    assert.match(said, new RegExp(`${REPOS.B} 7 at ${REPOS.sha(3, REPOS.B).slice(0, 7)}`));
  });

  test('a point drills down: the request names the commit and the previous one; the answer is listed', async () => {
    const before = (await h.sent()).length;
    // Focus is on TODO at 2026-10-26 (previous test); Enter drills down.
    await h.page.keyboard.press('Enter');
    const sent = await h.waitForSent('request', before);
    assert.equal(sent.method, 'drillDown');
    const req = sent.params;
    // web went 2 → 7, the biggest move: it is the repo asked about first.
    assert.equal(req.repo, REPOS.B);
    assert.equal(req.seriesId, 's-todo');
    assert.equal(req.commit, REPOS.sha(3, REPOS.B));
    assert.equal(req.previousCommit, REPOS.sha(2, REPOS.B));
    assert.equal(req.time, '2026-10-26T00:00:00.000Z');
    await h.send({
      type: 'response',
      id: sent.id,
      method: 'drillDown',
      result: {
        seriesId: req.seriesId, repo: req.repo, commit: req.commit, previousCommit: req.previousCommit, total: 7,
        files: [{ path: 'src/app.ts', count: 5 }, { path: 'README.md', count: 2 }],
        changes: [{ path: 'src/app.ts', before: 1, after: 5 }, { path: 'old.js', before: 1, after: 0 }],
        commits: [{ sha: 'c'.repeat(40), author: 'Ada', date: '2026-10-25T10:00:00.000Z', subject: 'Add <b>TODO</b> markers' }],
      },
    });
    const drill = h.page.locator('article[data-key="w/todo"] .drill');
    assert.equal(await drill.isVisible(), true);
    assert.deepEqual(await drill.locator('.drill-files li').allInnerTexts(), ['src/app.ts 5', 'README.md 2']);
    const text = await drill.innerText();
    assert.match(text, /Went up since bbbbbbb \(1\)\s+src\/app\.ts 1 → 5 \(\+4\)/);
    assert.match(text, /Went down since bbbbbbb \(1\)\s+old\.js 1 → 0 \(-1\)/);
    // Commit text is shown as text, never as markup.
    assert.match(text, /ccccccc Add <b>TODO<\/b> markers — Ada, 2026-10-25/);
    // Choosing a file asks the host to open it at that revision.
    const n = (await h.sent()).length;
    await drill.locator('.drill-files a', { hasText: 'src/app.ts' }).click();
    const open = await h.waitForSent('openFile', n);
    assert.deepEqual(open, { type: 'openFile', key: 'w/todo', seriesId: 's-todo', repo: REPOS.B, commit: REPOS.sha(3, REPOS.B), path: 'src/app.ts' });
  });

  test('a repository filter re-sums per-repo points without asking the host to recompute', async () => {
    const n = (await h.sent()).length;
    await h.page.locator('vscode-textfield[aria-label^="Exclude"] input').fill('acme/web$');
    const msg = await h.waitForSent('filter', n);
    assert.deepEqual(msg.filter, { include: '', exclude: 'acme/web$' });
    const charts = await h.inspect();
    assert.deepEqual(charts['w/todo'][0].datasets[0].data, [3, 5, 4, 6]);
    assert.deepEqual(charts['w/versions'][1].datasets[0].data, [1, 4]);
    assert.equal((await h.sent()).slice(n).some((m) => m.type === 'refresh'), false);
    // A bad regex keeps the last good filter and says what is wrong.
    await h.page.locator('vscode-textfield[aria-label^="Include"] input').fill('(');
    assert.match(await h.page.locator('.toolbar').innerText(), /BAD_FILTER: include: .*Unterminated group/);
    assert.deepEqual((await h.inspect())['w/todo'][0].datasets[0].data, [3, 5, 4, 6]);
    await h.page.locator('vscode-textfield[aria-label^="Include"] input').fill('');
    await h.page.locator('vscode-textfield[aria-label^="Exclude"] input').fill('');
    assert.deepEqual((await h.inspect())['w/todo'][0].datasets[0].data, [3, 7, 11, 7]);
  });

  test('a card update changes its last point in place; export rows are one per series, repo and time', async () => {
    const next = sampleCard();
    next.series[0].points[3].repos[0].value = 10;
    next.series[0].points[3].value = 11;
    await h.send({ type: 'card', card: next });
    assert.deepEqual((await h.inspect())['w/todo'][0].datasets[0].data, [3, 7, 11, 11]);
    const n = (await h.sent()).length;
    await h.page.locator('article[data-key="w/todo"] vscode-button', { hasText: 'CSV' }).click();
    const exp = await h.waitForSent('export', n);
    assert.equal(exp.filename, 'todos.csv');
    const lines = exp.content.trim().split('\n');
    assert.equal(lines[0], 'insight,series,seriesId,repo,time,commit,value');
    // 2 series × (1 + 2 + 2 + 2) repo points.
    assert.equal(lines.length - 1, 14);
    assert.ok(lines.includes(`TODOs,TODO,s-todo,${REPOS.A},2026-11-02T00:00:00.000Z,${REPOS.sha(4, REPOS.A)},10`));
  });

  test('Alt+ArrowDown moves a card and the new order goes to the host', async () => {
    const n = (await h.sent()).length;
    await h.page.locator('article[data-key="w/todo"]').focus();
    await h.page.keyboard.press('Alt+ArrowDown');
    const msg = await h.waitForSent('reorder', n);
    assert.deepEqual(msg, { type: 'reorder', dashboard: 'all', order: ['w/versions', 'w/todo', 'w/langs', 'w/broken'] });
    const keys = await h.page.locator('.cards > article').evaluateAll((as) => as.map((a) => (a as HTMLElement).dataset.key));
    assert.deepEqual(keys, ['w/versions', 'w/todo', 'w/langs', 'w/broken']);
  });

  test('the filter says how many repositories it keeps', async () => {
    await h.page.locator('vscode-textfield[aria-label^="Include"] input').fill('acme/api');
    assert.match(await h.page.locator('.toolbar').innerText(), /Showing 1 of 3 repositories/);
    await h.page.locator('vscode-textfield[aria-label^="Include"] input').fill('');
  });

  test('keyboard: H toggles a series like its legend entry; Enter on the languages area moves the pie', async () => {
    const canvas = h.page.locator('article[data-key="w/todo"] canvas').first();
    await canvas.focus();
    await h.page.keyboard.press('ArrowDown'); // FIXME
    await h.page.keyboard.press('h');
    assert.deepEqual((await h.inspect())['w/todo'][0].datasets.map((d) => d.hidden), [false, true]);
    await h.page.keyboard.press('h');
    assert.deepEqual((await h.inspect())['w/todo'][0].datasets.map((d) => d.hidden), [false, false]);
    const area = h.page.locator('article[data-key="w/langs"] canvas').first();
    await area.focus();
    await h.page.keyboard.press('Home');
    await h.page.keyboard.press('Enter');
    assert.deepEqual((await h.inspect())['w/langs'][1].datasets[0].data, [100, 300, 10]);
    // The live region is announced after the redraw; wait for it rather than read it once.
    const status = h.page.locator('.sr-only[role="status"]');
    await status.filter({ hasText: /Languages at 2026-10-12/ }).waitFor({ timeout: 10_000 }).catch(() => {});
    assert.match(await status.innerText(), /Languages at 2026-10-12: TypeScript 100, JavaScript 300, Markdown 10/);
  });

  test('a capture bar drills down into that captured value', async () => {
    const n = (await h.sent()).length;
    const bars = h.page.locator('article[data-key="w/versions"] canvas').nth(1);
    await bars.focus();
    await h.page.keyboard.press('End'); // "20"
    await h.page.keyboard.press('Enter');
    const { params: req } = await h.waitForSent('request', n);
    assert.equal(req.seriesId, 'c-20');
    assert.equal(req.time, '2026-11-02T00:00:00.000Z');
  });

  test('PNG: copied to the clipboard; with the clipboard closed (as in a webview) the image goes to the host to save', async () => {
    await h.page.locator('article[data-key="w/todo"] vscode-button', { hasText: 'PNG' }).click();
    await h.page.locator('.sr-only[role="status"]', { hasText: 'Chart copied to the clipboard as PNG.' }).waitFor({ timeout: 5000 });
    // VS Code webviews refuse clipboard writes; this page does the same from now on.
    await h.page.evaluate(() => {
      navigator.clipboard.write = () => Promise.reject(new DOMException('Write permission denied.', 'NotAllowedError'));
    });
    const n = (await h.sent()).length;
    await h.page.locator('article[data-key="w/todo"] vscode-button', { hasText: 'PNG' }).click();
    const exp = await h.waitForSent('export', n);
    assert.equal(exp.format, 'png');
    assert.equal(exp.filename, 'todos.png');
    const png = Buffer.from(exp.content.replace(/^data:image\/png;base64,/, ''), 'base64');
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.ok(png.length > 2000, 'a drawn chart, not an empty image');
  });

  test('invalid host messages are ignored and reported, never rendered', async () => {
    await h.page.evaluate(() =>
      window.postMessage({ channel: 'code-insights/dashboard', direction: 'toView', message: { type: 'card', card: { key: 'x', evil: '<img src=x onerror=alert(1)>' } } }, location.origin),
    );
    await h.page.waitForTimeout(50);
    assert.match(await h.page.locator('.notice').innerText(), /Ignored a message from the host: invalid dashboard message at card: unknown field "evil"/);
    assert.equal(await h.page.locator('article[data-key="x"]').count(), 0);
  });
});

describe('themes', gate, () => {
  test('light and dark screenshots; a theme change redraws with that theme’s colours', async () => {
    const h = await openDashboardPage({ theme: 'light' });
    try {
      await h.send(dashboard([sampleCard(), captureCard(), languagesCard(), failedCard()]));
      await h.page.waitForTimeout(400);
      await h.screenshot('dashboard-light.png');
      const light = (await h.inspect())['w/todo'][0].datasets[0].color;
      await h.send({ type: 'theme', theme: 'dark' });
      await h.page.evaluate(() => (document.documentElement.dataset.theme = 'dark'));
      await h.page.waitForTimeout(400);
      const dark = (await h.inspect())['w/todo'][0].datasets[0].color;
      assert.notEqual(light, dark);
      await h.screenshot('dashboard-dark.png');
      const bg = await h.page.evaluate(() => getComputedStyle(document.querySelector('.ci-root')!).backgroundColor);
      assert.equal(bg, 'rgb(31, 31, 31)');
      // High contrast: black background, thicker lines.
      await h.send({ type: 'theme', theme: 'high-contrast' });
      await h.page.evaluate(() => (document.documentElement.dataset.theme = 'high-contrast'));
      await h.page.waitForTimeout(400);
      assert.deepEqual((await h.inspect())['w/todo'][0].datasets.map((d) => d.width), [3, 3]);
      assert.equal(await h.page.evaluate(() => getComputedStyle(document.querySelector('.ci-root')!).backgroundColor), 'rgb(0, 0, 0)');
      await h.screenshot('dashboard-high-contrast.png');
      assert.deepEqual(await h.problems(), []);
    } finally {
      await h.close();
    }
  });

  test('inside VS Code the chart colours are the theme’s --vscode-charts-* variables', async () => {
    const h = await openDashboardPage({ bodyClass: 'vscode-dark' });
    try {
      // VS Code sets these on the webview's <html>; the test sets them the same way (CSSOM).
      await h.page.evaluate(() => {
        document.documentElement.style.setProperty('--vscode-charts-blue', '#3794ff');
        document.documentElement.style.setProperty('--vscode-charts-red', '#f14c4c');
      });
      await h.send(dashboard([sampleCard()], 'dark'));
      const ds = (await h.inspect())['w/todo'][0].datasets;
      assert.deepEqual(ds.map((d) => d.color), ['#3794ff', '#f14c4c']);
      assert.deepEqual(await h.problems(), []);
    } finally {
      await h.close();
    }
  });
});

describe('host-side filter (the org page)', gate, () => {
  test('with filterBy "host" the app sends the filter and shows the cards the host re-summed', async () => {
    const h = await openDashboardPage();
    try {
      const msg = dashboard([sampleCard()]);
      if (msg.type === 'dashboard') msg.capabilities = { drillDown: false, openFile: false, reorder: false, saveExport: false, filterBy: 'host' };
      await h.send(msg);
      const n = (await h.sent()).length;
      await h.page.locator('vscode-textfield[aria-label^="Include"] input').fill('^github\\.com/acme/api$');
      const f = await h.waitForSent('filter', n);
      assert.deepEqual(f.filter, { include: '^github\\.com/acme/api$', exclude: '' });
      // Not re-summed locally: the host decides.
      assert.deepEqual((await h.inspect())['w/todo'][0].datasets[0].data, [3, 7, 11, 7]);
      const resummed = sampleCard();
      resummed.series[0].points = resummed.series[0].points.map((p) => ({ ...p, value: p.repos[0].value, repos: [] }));
      await h.send({ type: 'card', card: resummed });
      assert.deepEqual((await h.inspect())['w/todo'][0].datasets[0].data, [3, 5, 4, 6]);
      // No drill-down on this host: Enter on a point asks nothing.
      await h.page.locator('article[data-key="w/todo"] canvas').focus();
      await h.page.keyboard.press('Enter');
      assert.equal((await h.sent()).some((m) => m.type === 'request'), false);
      assert.deepEqual(await h.problems(), []);
    } finally {
      await h.close();
    }
  });
});

describe('computing and cached states', gate, () => {
  test('a computing card says how far it is; a cached card says it is cached until fresh data comes', async () => {
    const h = await openDashboardPage();
    try {
      const computing: InsightCard = { ...sampleCard(), key: 'w/new', title: 'New insight', state: 'computing', series: [], progress: { reposDone: 1, reposTotal: 3 } };
      const cached: InsightCard = { ...sampleCard(), stale: true };
      await h.send(dashboard([cached, computing]));
      const c = h.page.locator('article[data-key="w/new"]');
      assert.equal(await c.getAttribute('aria-busy'), 'true');
      assert.match(await c.innerText(), /Computing \(1 of 3 repositories done\)…/);
      assert.equal(await c.locator('vscode-progress-bar').count(), 1);
      const t = h.page.locator('article[data-key="w/todo"]');
      assert.match(await t.innerText(), /Up to date \(cached\)[\s\S]*Showing cached data from 2026-11-03 08:00 UTC while it refreshes\./);
      // Fresh data replaces the cached card; its chart keeps the same numbers.
      await h.send({ type: 'card', card: sampleCard() });
      assert.doesNotMatch(await t.innerText(), /cached/);
      assert.deepEqual((await h.inspect())['w/todo'][0].datasets[0].data, [3, 7, 11, 7]);
      assert.deepEqual(await h.problems(), []);
    } finally {
      await h.close();
    }
  });
});

describe('state kept across a reload', gate, () => {
  test('an open table and the filter come back after the page reloads', async () => {
    const h = await openDashboardPage();
    try {
      await h.send(dashboard([sampleCard(), captureCard()]));
      await h.page.locator('article[data-key="w/versions"] vscode-button', { hasText: 'Table' }).click();
      await h.page.locator('vscode-textfield[aria-label^="Exclude"] input').fill('legacy');
      await h.page.reload();
      await h.page.waitForFunction(() => (window as unknown as { __sent: { type: string }[] }).__sent.some((m) => m.type === 'ready'));
      await h.send(dashboard([sampleCard(), captureCard()]));
      const card = h.page.locator('article[data-key="w/versions"]');
      assert.equal(await card.locator('table').isVisible(), true);
      assert.deepEqual(await card.locator('table thead th').allTextContents(), ['Time', '18', '20']);
      assert.equal(await h.page.locator('vscode-textfield[aria-label^="Exclude"]').evaluate((f) => (f as unknown as { value: string }).value), 'legacy');
      assert.doesNotMatch(await card.innerText(), /legacy/, 'the filtered-out repository is not listed as missing');
      assert.deepEqual(await h.problems(), []);
    } finally {
      await h.close();
    }
  });
});

describe('CSP guard', gate, () => {
  test('the page policy blocks an injected <style> and inline handler, and the harness reports both', async () => {
    // Proves the "no CSP violation" checks above can fail: this is what an unsafe control library does.
    const h = await openDashboardPage();
    try {
      await h.page.evaluate(() => {
        const s = document.createElement('style');
        s.textContent = 'body { color: red }';
        document.head.append(s);
        const d = document.createElement('div');
        d.setAttribute('onclick', 'void 0');
        document.body.append(d);
        d.click();
      });
      await h.page.waitForTimeout(100);
      const problems = await h.problems();
      assert.ok(problems.some((p) => p.startsWith('style-src')), problems.join('\n'));
      assert.ok(problems.some((p) => p.startsWith('script-src')), problems.join('\n'));
    } finally {
      await h.close();
    }
  });
});
