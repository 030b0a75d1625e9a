import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COUNT_MODES, DEFAULT_CAPTURE_LIMIT, DEFAULT_MAX_FILE_SIZE, DEFAULT_POINTS, DEFAULT_STEP, INSIGHT_KINDS, STEPS, STRUCTURAL_LANGUAGES } from '../../protocol/insights';
import {
  MAX_POINTS,
  lineColumn,
  loadDefinitionsFile,
  parseDefinitions,
  parseDefinitionValues,
  toComputeRequest,
  toSeriesSpecs,
} from '../../server/engine/definitions';

/** The text a problem points at. */
function at(text: string, p: { offset: number; length: number }): string {
  return text.slice(p.offset, p.offset + p.length);
}

test('a valid file with comments and trailing commas gives its insights and no problems', () => {
  const text = `{
  // shared with the team
  "$schema": "./insights.schema.json",
  "insights": [
    { "id": "todo", "title": "TODOs", "queries": [{ "query": "TODO", "label": "todo" }, "FIXME"], "step": "month", "points": 12 },
    /* languages need no queries */
    { "id": "langs", "title": "Languages", "kind": "languages" },
  ],
  "dashboards": [{ "id": "main", "title": "Main", "insights": ["todo", "langs"] }]
}`;
  const r = parseDefinitions(text);
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.insights, [
    { id: 'todo', title: 'TODOs', kind: 'series', queries: [{ query: 'TODO', label: 'todo' }, { query: 'FIXME' }], step: 'month', points: 12 },
    { id: 'langs', title: 'Languages', kind: 'languages' },
  ]);
  assert.deepEqual(r.dashboards, [{ id: 'main', title: 'Main', insights: ['todo', 'langs'] }]);
  assert.equal(at(text, r.locations.todo!).startsWith('{ "id": "todo"'), true);
  assert.equal(r.locations.langs!.index, 1);
});

test('a JSON syntax error is located where the parser stopped', () => {
  const text = '{\n  "insights": [\n    { "id": "a" "title": "x" }\n  ]\n}';
  const r = parseDefinitions(text);
  assert.equal(r.insights.length, 0);
  assert.equal(r.problems.length >= 1, true);
  const p = r.problems[0]!;
  assert.equal(p.code, 'DEF_SYNTAX');
  assert.match(p.message, /comma is expected/);
  assert.deepEqual(lineColumn(text, p.offset), { line: 3, column: 17 });
  assert.equal(at(text, p), '"title"');
});

test('an invalid regex names the insight, the query and the position, and points at that character', () => {
  const text = '{"insights": [{"id": "bad", "title": "Bad", "queries": ["ok", {"query": "\\\\d+foo(bar"}]}]}';
  const r = parseDefinitions(text);
  assert.equal(r.insights.length, 0, 'an insight with an error is not computed');
  assert.equal(r.problems.length, 1);
  const p = r.problems[0]!;
  assert.equal(p.code, 'DEF_BAD_REGEX');
  assert.equal(p.severity, 'error');
  assert.match(p.message, /^insight "bad": query 2: invalid regular expression "\\d\+foo\(bar" at position 6: Unterminated group$/);
  assert.deepEqual(p.path, ['insights', 0, 'queries', 1, 'query']);
  // Position 6 of the decoded query \d+foo(bar is the unclosed "("; in the file the backslash is
  // escaped, so the place is one character further than a naive offset.
  assert.equal(p.length, 1);
  assert.equal(p.offset, text.indexOf('foo(bar') + 3);
});

test('the same text is fine as a literal query', () => {
  const r = parseDefinitions('{"insights": [{"id": "lit", "title": "L", "literal": true, "queries": ["foo(bar"]}]}');
  assert.deepEqual(r.problems, []);
  assert.equal(toSeriesSpecs(r.insights[0]!)[0]!.literal, true);
});

test('a capture query needs a capture group (a non-capturing group does not count)', () => {
  const text = '{"insights": [{"id": "c", "title": "C", "kind": "capture", "queries": ["TODO\\\\((?:\\\\w+)\\\\)"]}]}';
  const r = parseDefinitions(text);
  assert.equal(r.problems.length, 1);
  assert.equal(r.problems[0]!.code, 'DEF_NO_CAPTURE_GROUP');
  assert.equal(at(text, r.problems[0]!), '"TODO\\\\((?:\\\\w+)\\\\)"');
  const ok = parseDefinitions('{"insights": [{"id": "c", "title": "C", "kind": "capture", "limit": 5, "queries": ["TODO\\\\((\\\\w+)\\\\)"]}]}');
  assert.deepEqual(ok.problems, []);
  assert.deepEqual(toSeriesSpecs(ok.insights[0]!)[0]!.capture, { limit: 5 });
});

test('duplicate ids: the second is an error at its id, the first still counts', () => {
  const text = '{"insights": [{"id": "x", "title": "A", "queries": ["a"]}, {"id": "x", "title": "B", "queries": ["b"]}]}';
  const r = parseDefinitions(text);
  assert.deepEqual(r.insights.map((i) => i.title), ['A']);
  assert.equal(r.problems.length, 1);
  assert.equal(r.problems[0]!.code, 'DEF_DUPLICATE_ID');
  assert.deepEqual(r.problems[0]!.path, ['insights', 1, 'id']);
  assert.equal(r.problems[0]!.offset, text.lastIndexOf('"x"'));
});

test('bad step, points, count, kind, size, limit, end and rev each get their own code at the value', () => {
  const text = JSON.stringify({
    insights: [{ id: 'v', title: 'V', queries: ['a'], step: 'fortnight', points: 0, count: 'words', maxFileSize: -1, limit: 1.5, end: 'yesterday', rev: '--output=x' },
      { id: 'k', title: 'K', kind: 'graph', queries: ['a'], points: 10001 }],
  }, null, 1);
  const r = parseDefinitions(text);
  const byCode = Object.fromEntries(r.problems.map((p) => [p.code + ':' + p.path.join('.'), at(text, p)]));
  assert.deepEqual(byCode, {
    'DEF_BAD_STEP:insights.0.step': '"fortnight"',
    'DEF_BAD_POINTS:insights.0.points': '0',
    'DEF_BAD_COUNT:insights.0.count': '"words"',
    'DEF_BAD_SIZE:insights.0.maxFileSize': '-1',
    'DEF_BAD_LIMIT:insights.0.limit': '1.5',
    'DEF_BAD_DATE:insights.0.end': '"yesterday"',
    'DEF_BAD_REV:insights.0.rev': '"--output=x"',
    'DEF_BAD_KIND:insights.1.kind': '"graph"',
    'DEF_BAD_POINTS:insights.1.points': '10001',
  });
  assert.equal(r.insights.length, 0);
});

test('schema violations: missing fields, wrong types, unknown properties (warnings keep the insight)', () => {
  const text = '{"insights": [{"title": 3, "queries": []}, {"id": "w", "title": "W", "queries": ["a"], "colour": "red"}], "extra": 1}';
  const r = parseDefinitions(text);
  const codes = r.problems.map((p) => `${p.severity}:${p.code}:${at(text, p)}`);
  assert.deepEqual(codes.sort(), [
    'error:DEF_SCHEMA:3',
    'error:DEF_SCHEMA:[]',
    'error:DEF_SCHEMA:{"title": 3, "queries": []}',
    'warning:DEF_UNKNOWN_PROPERTY:"colour"',
    'warning:DEF_UNKNOWN_PROPERTY:"extra"',
  ]);
  assert.deepEqual(r.insights.map((i) => i.id), ['w']);
  assert.deepEqual(parseDefinitions('[1]').problems.map((p) => p.code), ['DEF_SCHEMA']);
  assert.match(parseDefinitions('{}').problems[0]!.message, /"insights".*missing/);
  assert.match(parseDefinitions('').problems[0]!.message, /empty/);
});

test('invalid repository filter regexes are reported', () => {
  const r = parseDefinitions('{"insights": [{"id": "r", "title": "R", "queries": ["a"], "repos": ["ok", "[unclosed"]}]}');
  assert.equal(r.problems.length, 1);
  assert.equal(r.problems[0]!.code, 'DEF_BAD_REGEX');
  assert.deepEqual(r.problems[0]!.path, ['insights', 0, 'repos', 1]);
});

test('toSeriesSpecs and toComputeRequest fill in the documented defaults', () => {
  const [def] = parseDefinitions('{"insights": [{"id": "d", "title": "D", "queries": ["TODO"]}]}').insights;
  assert.deepEqual(toSeriesSpecs(def!), [
    { label: 'TODO', query: 'TODO', literal: false, ignoreCase: false, count: 'matches', include: [], exclude: [], maxFileSize: 1048576 },
  ]);
  assert.deepEqual(toComputeRequest(def!, ['/r']), { paths: ['/r'], series: toSeriesSpecs(def!), languages: false, step: 'week', points: 52 });
  const full = parseDefinitions(JSON.stringify({ insights: [{ id: 'f', title: 'F', queries: [{ query: 'x', label: 'X' }], ignoreCase: true, count: 'files', include: ['*.ts'], exclude: ['vendor/**'], maxFileSize: 0, step: 'day', points: 3, end: '2026-01-01', rev: 'dev', repos: ['acme'] }] })).insights[0]!;
  const req = toComputeRequest(full, ['/a', '/b']);
  assert.deepEqual(req.series, [{ label: 'X', query: 'x', literal: false, ignoreCase: true, count: 'files', include: ['*.ts'], exclude: ['vendor/**'], maxFileSize: 0 }]);
  assert.equal(req.end!.toISOString(), '2026-01-01T00:00:00.000Z');
  assert.deepEqual([req.step, req.points, req.rev, req.repoFilters], ['day', 3, 'dev', ['acme']]);
  const langs = parseDefinitions('{"insights": [{"id": "l", "title": "L", "kind": "languages"}]}').insights[0]!;
  assert.deepEqual(toComputeRequest(langs, []).series, []);
  assert.equal(toComputeRequest(langs, []).languages, true);
});

test('settings values are validated the same way', () => {
  const r = parseDefinitionValues([{ id: 's', title: 'S', queries: ['('] }]);
  assert.equal(r.problems[0]!.code, 'DEF_BAD_REGEX');
  assert.deepEqual(parseDefinitionValues(undefined).problems, []);
});

test('loadDefinitionsFile reads a file and says clearly when it is missing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ci-defs-'));
  const file = join(dir, 'insights.json');
  writeFileSync(file, '{"insights": [{"id": "a", "title": "A", "queries": ["x"]}]}');
  const r = await loadDefinitionsFile(file);
  assert.equal(r.insights[0]!.id, 'a');
  await assert.rejects(loadDefinitionsFile(join(dir, 'nope.json')), (e: Error & { code?: string }) => e.code === 'DEF_NOT_FOUND' && /no definitions file/.test(e.message));
});

test('the JSON schemas editors read (insights.schema.json, package.json settings) state the same kinds, steps, count modes and defaults as protocol/insights.ts', () => {
  const schema = JSON.parse(readFileSync(join(__dirname, '../../protocol/insights.schema.json'), 'utf8'));
  const p = schema.definitions.insight.properties;
  assert.deepEqual(p.kind.enum, [...INSIGHT_KINDS]);
  assert.deepEqual(p.step.enum, [...STEPS]);
  assert.deepEqual(p.count.enum, [...COUNT_MODES]);
  assert.deepEqual(p.language.enum, [...STRUCTURAL_LANGUAGES]);
  assert.equal(p.maxFileSize.default, DEFAULT_MAX_FILE_SIZE);
  assert.equal(p.limit.default, DEFAULT_CAPTURE_LIMIT);
  assert.equal(p.step.default, DEFAULT_STEP);
  assert.equal(p.points.default, DEFAULT_POINTS);
  assert.equal(p.points.maximum, MAX_POINTS);
  // The user-settings schema in package.json names the kinds too.
  const pkg = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8'));
  assert.deepEqual(pkg.contributes.configuration.properties['codeInsights.insights'].items.properties.kind.enum, [...INSIGHT_KINDS]);
  // The defaults the engine fills in are those constants.
  const [s] = toSeriesSpecs({ id: 'c', title: 'c', kind: 'capture', queries: [{ query: 'v(\\d)' }] });
  assert.equal(s.maxFileSize, DEFAULT_MAX_FILE_SIZE);
  assert.deepEqual(s.capture, { limit: DEFAULT_CAPTURE_LIMIT });
});
