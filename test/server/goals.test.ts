// Goals in the definitions: read with a located problem for each mistake (as every field),
// resolved per series (insight ▸ query ▸ captured value), judged against base and head, and
// never part of a series' identity.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDefinitions, toSeriesSpecs, type DefinitionProblem } from '../../server/engine/definitions';
import { describeGoal, evaluateGoal, goalOf, hasGoals } from '../../server/engine/goals';
import { seriesId } from '../../server/engine/seriesId';
import { GOAL_KEYS } from '../../protocol/insights';
import { checkDefinitions } from '../../org/fleet/store';

const at = (text: string, p: DefinitionProblem) => text.slice(p.offset, p.offset + p.length);

test('goals per insight, per query and per captured value are read and merged field by field', () => {
  const text = JSON.stringify({
    insights: [
      { id: 'a', title: 'A', goal: { max: 10, ratchet: true }, queries: [{ query: 'x', goal: { max: 3 } }, 'y'] },
      { id: 'c', title: 'C', kind: 'capture', queries: ['react@(\\d+)'], goal: { ratchet: true }, captureGoals: { '17': { max: 0 } } },
      { id: 't', title: 'T', queries: ['oldLogger'], goal: { target: { value: 0, date: '2027-03-31', start: '2026-10-01' } } },
      { id: 'n', title: 'N', queries: ['z'] },
    ],
  });
  const r = parseDefinitions(text);
  assert.deepEqual(r.problems, []);
  const [a, c, t, n] = r.insights;
  assert.deepEqual(goalOf(a!, 0), { max: 3, ratchet: true });
  assert.deepEqual(goalOf(a!, 1), { max: 10, ratchet: true });
  assert.deepEqual(goalOf(c!, 0, '17'), { ratchet: true, max: 0 });
  assert.deepEqual(goalOf(c!, 0, '18'), { ratchet: true });
  assert.deepEqual(t!.goal, { target: { value: 0, date: '2027-03-31', start: '2026-10-01' } });
  assert.equal(goalOf(n!, 0), undefined);
  assert.deepEqual([a, c, t, n].map((d) => hasGoals(d!)), [true, true, true, false]);
  assert.equal(describeGoal(goalOf(a!, 0)!), '<= 3, ratchet');
});

test('a goal is not part of a series identity: the same query with and without a goal has one id', () => {
  const withGoal = parseDefinitions('{"insights": [{"id": "a", "title": "A", "goal": {"max": 1}, "queries": [{"query": "x", "goal": {"ratchet": true}}]}]}').insights[0]!;
  const without = parseDefinitions('{"insights": [{"id": "a", "title": "A", "queries": ["x"]}]}').insights[0]!;
  assert.equal(seriesId(toSeriesSpecs(withGoal)[0]!), seriesId(toSeriesSpecs(without)[0]!));
});

test('goal mistakes are located where they are written, and leave the insight out', () => {
  const text = JSON.stringify({
    insights: [
      { id: 'a', title: 'A', queries: [{ query: 'x', goal: { max: 'ten' } }] },
      { id: 'b', title: 'B', queries: ['x'], goal: { target: { value: 0, date: 'soon' } } },
      { id: 'c', title: 'C', queries: ['x'], goal: { min: 5, max: 1 } },
      { id: 'd', title: 'D', queries: ['x'], captureGoals: { '1': { max: 0 } } },
      { id: 'e', title: 'E', kind: 'languages', goal: { max: 1 } },
      { id: 'f', title: 'F', queries: ['x'], goal: { ratchet: 'yes', maximum: 3 } },
      { id: 'g', title: 'G', queries: ['x'], goal: {} },
      { id: 'h', title: 'H', queries: ['x'], goal: { target: { value: 0, date: '2027-01-01', start: '2027-06-01' } } },
    ],
  }, null, 1);
  const r = parseDefinitions(text);
  const got = r.problems.map((p) => [p.severity, p.code, p.path.join('.'), at(text, p).replace(/\s+/g, '')]);
  assert.deepEqual(got, [
    ['error', 'DEF_BAD_GOAL', 'insights.0.queries.0.goal.max', '"ten"'],
    ['error', 'DEF_BAD_GOAL', 'insights.1.goal.target', '{"value":0,"date":"soon"}'],
    ['error', 'DEF_BAD_GOAL', 'insights.2.goal', '{"min":5,"max":1}'],
    ['error', 'DEF_BAD_GOAL', 'insights.3.captureGoals', '{"1":{"max":0}}'],
    ['error', 'DEF_BAD_GOAL', 'insights.4.goal', '{"max":1}'],
    ['error', 'DEF_BAD_GOAL', 'insights.5.goal.ratchet', '"yes"'],
    ['warning', 'DEF_UNKNOWN_PROPERTY', 'insights.5.goal.maximum', '"maximum"'],
    ['error', 'DEF_BAD_GOAL', 'insights.6.goal', '{}'],
    ['error', 'DEF_BAD_GOAL', 'insights.7.goal.target', '"2027-06-01"'],
  ]);
  assert.deepEqual(r.insights, []);
  assert.match(r.problems[0]!.message, /insight "a": query 1: goal "max" must be a number/);
});

test('verdicts: thresholds and ratchets break, a target breaks once its date has passed and only warns before', () => {
  const now = new Date('2027-01-01T00:00:00Z');
  assert.deepEqual(evaluateGoal({ max: 5 }, { head: 5 }, now), { verdict: 'ok', reasons: [], tooHigh: false });
  assert.equal(evaluateGoal({ max: 5 }, { head: 6 }, now).verdict, 'broken');
  assert.deepEqual(evaluateGoal({ min: 5 }, { head: 4 }, now), { verdict: 'broken', reasons: ['4 is below the minimum 5'], tooHigh: false });
  assert.equal(evaluateGoal({ ratchet: true }, { base: 3, head: 3 }, now).verdict, 'ok');
  assert.equal(evaluateGoal({ ratchet: true }, { base: 3, head: 2 }, now).verdict, 'ok');
  assert.deepEqual(evaluateGoal({ ratchet: true }, { base: 3, head: 4 }, now).reasons, ['rose from 3 to 4 (ratchet: it may not rise above the base)']);
  assert.equal(evaluateGoal({ ratchet: true }, { head: 4 }, now).verdict, 'ok', 'no base (HEAD is the base): nothing to rise above');
  // A target whose date has passed breaks unless met; a burn-down over 2026-2027 is half way now.
  assert.equal(evaluateGoal({ target: { value: 0, date: '2026-12-01' } }, { base: 5, head: 1 }, now).verdict, 'broken');
  assert.equal(evaluateGoal({ target: { value: 0, date: '2026-12-01' } }, { base: 5, head: 0 }, now).verdict, 'ok');
  const half = { target: { value: 0, date: '2028-01-01T00:00:00Z', start: '2026-01-01T00:00:00Z' } };
  assert.equal(evaluateGoal(half, { start: 100, head: 49 }, now).verdict, 'ok');
  assert.deepEqual(evaluateGoal(half, { start: 100, head: 60 }, now), { verdict: 'warn', reasons: ['behind the burn-down to 0 by 2028-01-01: 60 now, 50 expected'], tooHigh: false });
  // Upward target (adoption): 10 by a date that has passed, from 2.
  assert.deepEqual(evaluateGoal({ target: { value: 10, date: '2026-06-01' } }, { base: 2, head: 7 }, now).verdict, 'broken');
  assert.equal(evaluateGoal({ target: { value: 10, date: '2026-06-01' } }, { base: 2, head: 7 }, now).tooHigh, false);
});

test('the editor schema lists the goal fields protocol/insights.ts declares', () => {
  const schema = JSON.parse(readFileSync(join(__dirname, '../../protocol/insights.schema.json'), 'utf8'));
  assert.deepEqual(Object.keys(schema.definitions.goal.properties).sort(), [...GOAL_KEYS].sort());
  assert.equal(schema.definitions.insight.properties.goal.$ref, '#/definitions/goal');
  assert.equal(schema.definitions.query.oneOf[1].properties.goal.$ref, '#/definitions/goal');
});

test('org create-insight reads the same goals from the same file, and a bad goal is refused with its line', () => {
  const text = JSON.stringify({ insights: [{ id: 'a', title: 'A', queries: [{ query: 'x', goal: { ratchet: true } }], goal: { max: 3 } }] }, null, 1);
  const ok = checkDefinitions(text);
  assert.deepEqual(ok.problems, []);
  assert.deepEqual([ok.insights[0]!.goal, ok.insights[0]!.queries![0]!.goal], [{ max: 3 }, { ratchet: true }]);
  const bad = checkDefinitions(text.replace('"max": 3', '"max": "3"'));
  assert.deepEqual(bad.problems.map((p) => [p.code, p.line]), [['DEF_BAD_GOAL', text.split('\n').findIndex((l) => l.includes('"max"')) + 1]]);
});

