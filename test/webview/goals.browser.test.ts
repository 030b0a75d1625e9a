// Goals on the dashboard, in real headless Chromium with the panel's strict CSP: a threshold is a
// dashed line at its value across the chart, a target a line from its start to its value at its
// date, in the colour of its series; a card whose series breaks its goal is marked with the
// reason; goal lines are never picked for drill-down nor listed in the data table.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openDashboardPage, ROOT, type Harness } from './browserHarness';
import { missingChromium, prerequisiteGate } from '../helpers/prerequisites';
import { sampleCard } from './fixtures/messages';
import type { HostMessage, InsightCard } from '../../protocol/webview';

function goalCard(): InsightCard {
  const card = sampleCard();
  // TODO ends at 7 (6 + 1); FIXME starts at 1. Weekly times 2026-10-12 … 2026-11-02.
  card.goals = [
    { seriesId: 's-todo', goal: { max: 6, ratchet: true }, verdict: 'broken', reasons: ['7 is above the maximum 6'] },
    // From 1 at the first point (2026-10-12) to 0 on 2026-11-09: a quarter less each week.
    { seriesId: 's-fixme', goal: { target: { value: 0, date: '2026-11-09T00:00:00.000Z' } }, verdict: 'ok', reasons: [] },
  ];
  return card;
}

const dashboard = (cards: InsightCard[]): HostMessage => ({
  type: 'dashboard',
  layout: { dashboards: [{ id: 'all', title: 'All insights' }], active: 'all', order: cards.map((c) => c.key) },
  cards,
  theme: 'light',
  capabilities: { drillDown: true, openFile: true, reorder: true, saveExport: true },
});

const gate = prerequisiteGate('dashboard bundle in Chromium', existsSync(join(ROOT, 'dist', 'webview.js')) ? undefined : 'dist/webview.js is not built (npm run build)', missingChromium());

describe('goals on the dashboard', gate, () => {
  let h: Harness;
  before(async () => {
    h = await openDashboardPage({ theme: 'light' });
    await h.send(dashboard([goalCard()]));
  });
  after(async () => {
    const problems = await h.problems();
    await h.close();
    assert.deepEqual(problems, [], 'no CSP violation, page error or console error');
  });

  test('threshold and target lines are drawn after the series, in their colours, at their values', async () => {
    const [chart] = (await h.inspect())['w/todo']!;
    assert.deepEqual(chart!.datasets.map((d) => d.label), ['TODO', 'FIXME', 'TODO: max 6', 'FIXME: target 0 by 2026-11-09']);
    assert.deepEqual(chart!.datasets[2]!.data, [6, 6, 6, 6]);
    assert.deepEqual(chart!.datasets[3]!.data, [1, 0.75, 0.5, 0.25]);
    assert.equal(chart!.datasets[2]!.color, chart!.datasets[0]!.color, 'a goal line has its series colour');
    assert.equal(chart!.datasets[3]!.color, chart!.datasets[1]!.color);
  });

  test('the card is marked with the broken goal and its reason; a goal that holds adds nothing', async () => {
    const card = h.page.locator('article[data-key="w/todo"]');
    assert.equal(await card.getAttribute('data-goal'), 'broken');
    const marks = await card.locator('p.goal').allTextContents();
    assert.deepEqual(marks, ['Goal broken: TODO: 7 is above the maximum 6']);
  });

  test('the data table lists the series only, not the goal lines', async () => {
    const card = h.page.locator('article[data-key="w/todo"]');
    await card.locator('vscode-button', { hasText: 'Table' }).click();
    assert.deepEqual(await card.locator('table thead th').allTextContents(), ['Time', 'TODO', 'FIXME']);
  });

  test('when the goal holds again, the mark goes and the lines stay', async () => {
    const card = goalCard();
    card.goals![0] = { ...card.goals![0]!, verdict: 'ok', reasons: [] };
    await h.send({ type: 'card', card });
    const el = h.page.locator('article[data-key="w/todo"]');
    await h.page.waitForFunction(() => document.querySelector('article[data-key="w/todo"]')?.getAttribute('data-goal') === '');
    assert.equal(await el.locator('p.goal').count(), 0);
    const [chart] = (await h.inspect())['w/todo']!;
    assert.equal(chart!.datasets.length, 4);
  });
});
