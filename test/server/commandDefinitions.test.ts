// Command insights in the definitions file: command, inputs, timeout and checkout, each mistake
// reported with its code at its exact place, the engine spec they become and its id; the org
// service refuses them as org-defined insights, and their series are never queued for sync.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_COMMAND_TIMEOUT } from '../../protocol/insights';
import { parseDefinitions, toSeriesSpecs } from '../../server/engine/definitions';
import { seriesId } from '../../server/engine/seriesId';
import { syncableSeries } from '../../server/sync/fromResults';
import { checkDefinitions } from '../../org/fleet/store';

const at = (text: string, p: { offset: number; length: number }) => text.slice(p.offset, p.offset + p.length);

test('a command insight becomes one command spec: inputs, checkout and timeout filled in; the timeout is not part of its id', () => {
  const text = `{"insights": [
    {"id": "deps", "title": "Dependencies", "kind": "command", "command": "jq '.packages | length' package-lock.json",
     "inputs": ["package-lock.json"], "timeout": 5, "goal": {"max": 300}, "captureGoals": {"dev": {"max": 10}}},
    {"id": "size", "title": "Size", "kind": "command", "command": "du -sk . | cut -f1"}
  ]}`;
  const r = parseDefinitions(text);
  assert.deepEqual(r.problems, []);
  const [deps, size] = r.insights.map((d) => toSeriesSpecs(d));
  assert.equal(deps.length, 1);
  assert.deepEqual([deps[0].label, deps[0].query, deps[0].command], ['Dependencies', "jq '.packages | length' package-lock.json", { inputs: ['package-lock.json'], checkout: false, timeoutMs: 5000 }]);
  assert.deepEqual(size[0].command, { inputs: [], checkout: true, timeoutMs: DEFAULT_COMMAND_TIMEOUT * 1000 });
  assert.equal(seriesId(deps[0]), seriesId({ ...deps[0], command: { ...deps[0].command!, timeoutMs: 1 } }));
  assert.notEqual(seriesId(deps[0]), seriesId({ ...deps[0], command: { ...deps[0].command!, checkout: true } }));
  assert.notEqual(seriesId(deps[0]), seriesId({ ...deps[0], command: { ...deps[0].command!, inputs: [] } }));
  // The same text as a regex query is another series.
  assert.notEqual(seriesId(deps[0]), seriesId({ ...deps[0], command: undefined }));
});

test('command mistakes: each with its code at its place; fields of other kinds are warned about', () => {
  const text = `{"insights": [
    {"id": "a", "title": "A", "kind": "command"},
    {"id": "b", "title": "B", "kind": "command", "command": "  "},
    {"id": "c", "title": "C", "kind": "command", "command": "echo 1", "timeout": 0},
    {"id": "d", "title": "D", "kind": "command", "command": "echo 1", "timeout": 99999, "inputs": "x"},
    {"id": "e", "title": "E", "kind": "command", "command": "echo 1", "queries": ["x"], "include": ["y"], "checkout": true},
    {"id": "f", "title": "F", "queries": ["x"], "command": "echo 1"}
  ]}`;
  const r = parseDefinitions(text);
  const codes = r.problems.map((p) => [p.code, p.path.join('.'), p.severity]);
  assert.deepEqual(codes, [
    ['DEF_BAD_COMMAND', 'insights.0', 'error'],
    ['DEF_BAD_COMMAND', 'insights.1.command', 'error'],
    ['DEF_BAD_TIMEOUT', 'insights.2.timeout', 'error'],
    ['DEF_SCHEMA', 'insights.3.inputs', 'error'],
    ['DEF_BAD_TIMEOUT', 'insights.3.timeout', 'error'],
    ['DEF_UNUSED_PROPERTY', 'insights.4.checkout', 'warning'],
    ['DEF_UNUSED_PROPERTY', 'insights.4.include', 'warning'],
    ['DEF_UNUSED_PROPERTY', 'insights.4.queries', 'warning'],
    ['DEF_UNUSED_PROPERTY', 'insights.5.command', 'warning'],
  ]);
  assert.match(r.problems[0].message, /insight "a": a command insight needs "command"/);
  assert.equal(at(text, r.problems[2]), '0');
  assert.match(r.problems[2].message, /"timeout" must be a number of seconds above 0 and at most 3600/);
  assert.deepEqual(r.insights.map((d) => d.id), ['e', 'f']);
});

test('the org service refuses command insights (DEF_KIND_NOT_SUPPORTED); their series are never synced', () => {
  const text = '{"insights": [{"id": "deps", "title": "Deps", "kind": "command", "command": "echo 1"}]}';
  const { problems } = checkDefinitions(text);
  assert.deepEqual(problems.map((p) => [p.code, p.severity]), [['DEF_KIND_NOT_SUPPORTED', 'error']]);
  assert.match(problems[0].message, /"command" is computed only in the editor and the CLI/);
  const [spec] = toSeriesSpecs(parseDefinitions(text).insights[0]);
  const point = { time: '2026-01-05T00:00:00.000Z', value: 1, repos: [{ repo: 'r', commit: 'a'.repeat(40), commitTime: '2026-01-04T00:00:00.000Z', value: 1 }] };
  const series = [{ id: seriesId(spec), label: 'Deps', query: 'echo 1', points: [point, point] }];
  assert.deepEqual(syncableSeries(series, [spec]), []);
  // The same result of a regex spec would be synced: the exclusion is the command's.
  const regex = { ...spec, command: undefined };
  assert.equal(syncableSeries([{ ...series[0], id: seriesId(regex) }], [regex]).length, 1);
});
