// The meaning of alert rules (org/alerts/evaluate.ts), on series written out here: thresholds,
// ratchets against the lowest or the previous value, targets from a linear fit ("at this rate the
// target date is missed by N weeks"), and the pending period in the series' own time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AlertCondition } from '../../protocol/alerts';
import { brokenPoints, checkAt, linearFit, replay, type SeriesPoint } from '../../org/alerts/evaluate';

const WEEK = 7 * 24 * 3600 * 1000;
const T0 = Date.parse('2027-01-04T00:00:00.000Z');
const weekly = (values: number[]): SeriesPoint[] => values.map((v, i) => ({ t: T0 + i * WEEK, v }));
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

describe('alert rule evaluation', () => {
  it('fits a line: value now and slope per week', () => {
    const f = linearFit(weekly([100, 95, 90, 85]))!;
    assert.equal(f.slope, -5);
    assert.equal(f.at, 85);
    assert.equal(linearFit([{ t: T0, v: 1 }, { t: T0, v: 3 }]), null);
  });

  it('says by how many weeks a target is missed at the current rate, and when it is on track', () => {
    const pts = weekly([100, 95, 90, 85]); // −5 a week: 0 reached 17 weeks after the last point
    const last = T0 + 3 * WEEK;
    const late = checkAt({ kind: 'target', target: 0, by: day(last + 10 * WEEK), direction: 'down', window: 8 }, pts, 3, null);
    assert.equal(late.broken, true);
    assert.equal(late.detail.missedByWeeks, 7);
    assert.equal(late.detail.projected, new Date(last + 17 * WEEK).toISOString());
    const onTrack = checkAt({ kind: 'target', target: 0, by: day(last + 20 * WEEK), direction: 'down', window: 8 }, pts, 3, null);
    assert.equal(onTrack.broken, false);
    assert.equal(onTrack.detail.missedByWeeks, 0);
    // flat or going the wrong way: never reached at this rate
    const never = checkAt({ kind: 'target', target: 0, by: '2030-01-01', direction: 'down', window: 8 }, weekly([10, 10, 11]), 2, null);
    assert.deepEqual([never.broken, never.detail.missedByWeeks, never.detail.projected], [true, null, null]);
    // reached already; growth targets go up
    assert.equal(checkAt({ kind: 'target', target: 0, by: '2020-01-01', direction: 'down', window: 8 }, weekly([3, 0]), 1, null).broken, false);
    assert.equal(checkAt({ kind: 'target', target: 100, by: day(T0 + 4 * WEEK), direction: 'up', window: 8 }, weekly([10, 20, 30]), 2, null).broken, true);
    // the window: only the last points count (an old slope does not hide a stall)
    const stalled = weekly([100, 80, 60, 40, 40, 40, 40]);
    assert.equal(checkAt({ kind: 'target', target: 0, by: '2030-01-01', direction: 'down', window: 3 }, stalled, 6, null).detail.missedByWeeks, null);
    assert.equal(checkAt({ kind: 'target', target: 0, by: '2030-01-01', direction: 'down', window: 7 }, stalled, 6, null).broken, false);
  });

  it('ratchets against the lowest value since the rule started, or against the previous point', () => {
    const pts = weekly([20, 10, 8, 9, 7, 7, 8]);
    const lowest = replay({ kind: 'ratchet', baseline: 'lowest' }, 0, pts, null);
    assert.deepEqual(lowest.firings.map((f) => [f.fired, f.resolved]), [[3, 4], [6, undefined]]);
    assert.equal(lowest.state, 'firing');
    assert.equal(lowest.last!.detail.baseline, 7);
    const previous = replay({ kind: 'ratchet', baseline: 'previous' }, 0, pts, null);
    assert.deepEqual(previous.firings.map((f) => f.fired), [3, 6]);
    // from the rule's start: the earlier, lower values do not count
    const fromLater = replay({ kind: 'ratchet', baseline: 'lowest' }, 0, weekly([1, 2, 50, 40, 45]), T0 + 2 * WEEK);
    assert.deepEqual(fromLater.firings.map((f) => f.fired), [4]);
  });

  it('fires once per breach that lasts the pending period, measured in bucket time', () => {
    const cond = { kind: 'threshold' as const, above: 10, below: 2 };
    const pts = weekly([5, 12, 13, 8, 11, 12, 13, 14, 1, 5]);
    assert.deepEqual(replay(cond, 0, pts, null).firings.map((f) => [f.start, f.fired, f.resolved]), [[1, 1, 3], [4, 4, 9]]); // above, then below: one breach
    const pending = replay(cond, 14 * 24 * 3600, pts, null);
    assert.deepEqual(pending.firings.map((f) => [f.start, f.fired, f.resolved]), [[4, 6, 9]]);
    assert.equal(pending.state, 'ok');
    const now = replay(cond, 14 * 24 * 3600, weekly([5, 12, 13]), null);
    assert.deepEqual([now.state, now.since, now.firings.length], ['pending', 1, 0]);
  });

  it('one pass over a series says what the check of each point says', () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
    const conds: AlertCondition[] = [
      { kind: 'threshold', above: 50, below: 10 },
      { kind: 'threshold', above: null, below: 30 },
      { kind: 'ratchet', baseline: 'lowest' },
      { kind: 'ratchet', baseline: 'previous' },
      { kind: 'target', target: 0, by: '2027-03-01', direction: 'down', window: 4 },
      { kind: 'target', target: 90, by: '2027-06-01', direction: 'up', window: 2 },
    ];
    for (let round = 0; round < 200; round++) {
      const pts = weekly(Array.from({ length: 1 + rnd(30) }, () => rnd(100)));
      const from = rnd(3) === 0 ? null : T0 + rnd(10) * WEEK;
      for (const c of conds) {
        const fast = brokenPoints(c, pts, from);
        pts.forEach((_, i) => assert.equal(fast[i], checkAt(c, pts, i, from).broken, `${JSON.stringify(c)} at ${i} of ${JSON.stringify(pts.map((p) => p.v))}`));
      }
    }
  });
});

describe('webhook bodies', () => {
  it('Slack text shows a label as text: no mention or link can be slipped in', async () => {
    const { webhookBody } = await import('../../org/alerts/store');
    const body = {
      version: 1 as const,
      status: 'firing' as const,
      org: 'acme',
      rule: { id: '3', kind: 'threshold' as const, pendingSeconds: 0 },
      series: { id: 'a1e4700000000e01', label: '<!channel> & <https://evil.example|click>' },
      event: '9',
      time: '2027-01-04T00:00:00.000Z',
      value: 12,
      since: '2027-01-04T00:00:00.000Z',
      detail: { above: 10, below: null },
      links: {},
    };
    const out = webhookBody('slack', body, { kind: 'threshold', above: 10, below: null }) as { text: string };
    assert.equal(out.text, '[FIRING] acme · &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;: 12 is above 10 (alert rule 3, 2027-01-04)');
    assert.equal(webhookBody('json', body, { kind: 'threshold', above: 10, below: null }), body);
  });
});
