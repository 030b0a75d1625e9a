import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bucketTimes, floorToStep, parseDate } from '../../server/engine/buckets';

const iso = (d: Date) => d.toISOString();

test('week buckets sit on Mondays 00:00 UTC, N-1 boundaries before end plus end', () => {
  const end = new Date('2026-11-28T15:30:00Z'); // a Saturday
  const b = bucketTimes('week', 4, end);
  assert.deepEqual(b.map((x) => iso(x.time)), ['2026-11-09T00:00:00.000Z', '2026-11-16T00:00:00.000Z', '2026-11-23T00:00:00.000Z', iso(end)]);
  assert.deepEqual(b.map((x) => x.boundary), [true, true, true, false]);
  for (const x of b.slice(0, -1)) assert.equal(x.time.getUTCDay(), 1);
});

test('an end exactly on a boundary does not repeat it', () => {
  const end = new Date('2026-11-23T00:00:00Z'); // Monday
  assert.deepEqual(bucketTimes('week', 3, end).map((x) => iso(x.time)), ['2026-11-09T00:00:00.000Z', '2026-11-16T00:00:00.000Z', iso(end)]);
  assert.deepEqual(bucketTimes('day', 2, end).map((x) => iso(x.time)), ['2026-11-22T00:00:00.000Z', iso(end)]);
});

test('day, month, quarter and year boundaries', () => {
  const end = new Date('2026-05-17T08:00:00Z');
  assert.deepEqual(bucketTimes('day', 3, end).map((x) => iso(x.time)).slice(0, 2), ['2026-05-16T00:00:00.000Z', '2026-05-17T00:00:00.000Z']);
  assert.deepEqual(bucketTimes('month', 4, end).map((x) => iso(x.time)).slice(0, 3), ['2026-03-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z', '2026-05-01T00:00:00.000Z']);
  assert.deepEqual(bucketTimes('quarter', 4, end).map((x) => iso(x.time)).slice(0, 3), ['2025-10-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z']);
  assert.deepEqual(bucketTimes('year', 3, end).map((x) => iso(x.time)).slice(0, 2), ['2025-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z']);
});

test('month stepping crosses year ends and short months', () => {
  const end = new Date('2026-03-31T12:00:00Z');
  assert.deepEqual(bucketTimes('month', 5, end).map((x) => iso(x.time)).slice(0, 4), [
    '2025-12-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z',
  ]);
});

test('floorToStep for a Sunday goes back to Monday', () => {
  assert.equal(iso(floorToStep(new Date('2026-11-29T23:59:59Z'), 'week')), '2026-11-23T00:00:00.000Z');
  assert.equal(iso(floorToStep(new Date('2026-11-30T00:00:00Z'), 'week')), '2026-11-30T00:00:00.000Z');
});

test('one point is the end alone; bad counts and dates are refused with a message', () => {
  const end = new Date('2026-01-01T00:00:00Z');
  assert.deepEqual(bucketTimes('week', 1, end).map((x) => iso(x.time)), [iso(end)]);
  assert.throws(() => bucketTimes('week', 0, end), /--points must be a whole number/);
  assert.throws(() => parseDate('yesterday-ish', '--end'), /--end "yesterday-ish" is not a date/);
  assert.equal(iso(parseDate('2026-02-03')), '2026-02-03T00:00:00.000Z');
});
