// Structural insights in the definitions file: kind, language and patterns, each mistake
// reported with its code at its exact place, and the engine specs they become.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STRUCTURAL_LANGUAGES } from '../../protocol/insights';
import { parseDefinitions, toSeriesSpecs } from '../../server/engine/definitions';
import { seriesId } from '../../server/engine/seriesId';

const at = (text: string, p: { offset: number; length: number }) => text.slice(p.offset, p.offset + p.length);

test('a structural insight: language (or an alias) and patterns, as strings or {"pattern"}, become structural specs', () => {
  const text = `{"insights": [
    {"id": "logs", "title": "console.log", "kind": "structural", "language": "ts",
     "queries": ["console.log($$$)", {"pattern": "console.error($$$)", "label": "errors", "goal": {"max": 3}}], "count": "files"}
  ]}`;
  const r = parseDefinitions(text);
  assert.deepEqual(r.problems, []);
  const [def] = r.insights;
  assert.equal(def!.language, 'typescript');
  const specs = toSeriesSpecs(def!);
  assert.deepEqual(specs.map((s) => [s.query, s.label, s.count, s.structural]), [
    ['console.log($$$)', 'console.log($$$)', 'files', { language: 'typescript' }],
    ['console.error($$$)', 'errors', 'files', { language: 'typescript' }],
  ]);
  assert.deepEqual(def!.queries![1]!.goal, { max: 3 });
  // The same text as a regex series, or in another language, is another series.
  const plain = { ...specs[0]!, structural: undefined };
  assert.notEqual(seriesId(specs[0]!), seriesId(plain));
  assert.notEqual(seriesId(specs[0]!), seriesId({ ...specs[0]!, structural: { language: 'javascript' } }));
});

test('an unknown or missing language: DEF_BAD_LANGUAGE at the value, listing the supported ones', () => {
  const text = '{"insights": [{"id": "k", "title": "K", "kind": "structural", "language": "klingon", "queries": ["foo($A)"]}]}';
  const r = parseDefinitions(text);
  assert.equal(r.insights.length, 0);
  assert.equal(r.problems.length, 1, JSON.stringify(r.problems));
  const p = r.problems[0]!;
  assert.equal(p.code, 'DEF_BAD_LANGUAGE');
  assert.equal(at(text, p), '"klingon"');
  assert.deepEqual(p.path, ['insights', 0, 'language']);
  for (const l of STRUCTURAL_LANGUAGES) assert.ok(p.message.includes(l), p.message);
  const missing = parseDefinitions('{"insights": [{"id": "m", "title": "M", "kind": "structural", "queries": ["foo($A)"]}]}');
  assert.equal(missing.problems[0]!.code, 'DEF_BAD_LANGUAGE');
  assert.match(missing.problems[0]!.message, /needs "language"/);
});

test('a pattern ast-grep cannot use: DEF_BAD_PATTERN at the query, the other queries untouched', () => {
  const text = '{"insights": [{"id": "p", "title": "P", "kind": "structural", "language": "typescript", "queries": ["foo($A)", "foo(", {"pattern": "a; b"}]}]}';
  const r = parseDefinitions(text);
  assert.equal(r.insights.length, 0);
  assert.deepEqual(r.problems.map((p) => [p.code, at(text, p), p.path.join('.')]), [
    ['DEF_BAD_PATTERN', '"foo("', 'insights.0.queries.1'],
    ['DEF_BAD_PATTERN', '"a; b"', 'insights.0.queries.2.pattern'],
  ]);
  assert.match(r.problems[0]!.message, /^insight "p": query 2: the pattern "foo\(" is not valid typescript/);
  assert.match(r.problems[1]!.message, /Multiple AST nodes/);
  // Python patterns go through the dynamic language.
  const py = parseDefinitions('{"insights": [{"id": "y", "title": "Y", "kind": "structural", "language": "python", "queries": ["print($$$)", "def ("]}]}');
  assert.deepEqual(py.problems.map((p) => p.code), ['DEF_BAD_PATTERN']);
});

test('fields a structural insight does not use are warnings; "language" elsewhere too', () => {
  const r = parseDefinitions('{"insights": [{"id": "w", "title": "W", "kind": "structural", "language": "go", "literal": true, "queries": ["$X := $Y"]}, {"id": "x", "title": "X", "language": "go", "queries": ["TODO"]}]}');
  assert.equal(r.insights.length, 2);
  assert.deepEqual(r.problems.map((p) => [p.code, p.severity]), [['DEF_UNUSED_PROPERTY', 'warning'], ['DEF_UNUSED_PROPERTY', 'warning']]);
  assert.equal(toSeriesSpecs(r.insights[0]!)[0]!.literal, false);
});

test('an ast-grep rule as YAML text or an object: one canonical text (and series id); mistakes are DEF_BAD_RULE at the rule', () => {
  const yaml = 'id: calls\nmessage: ignored\nrule:\n  kind: call_expression\n  has: { field: function, regex: "^foo$" }\n';
  const object = { rule: { has: { regex: '^foo$', field: 'function' }, kind: 'call_expression' } };
  const r = parseDefinitions(JSON.stringify({ insights: [{ id: 'a', title: 'A', kind: 'structural', language: 'typescript', queries: [{ rule: yaml }, { rule: object, label: 'obj' }] }] }));
  assert.deepEqual(r.problems, []);
  const specs = toSeriesSpecs(r.insights[0]!);
  assert.equal(specs[0]!.query, specs[1]!.query, 'key order and presentation fields do not matter');
  assert.equal(seriesId({ ...specs[0]!, label: 'x' }), seriesId({ ...specs[1]!, label: 'y' }));
  assert.deepEqual(specs.map((s) => [s.label, s.structural]), [['calls', { language: 'typescript', rule: true }], ['obj', { language: 'typescript', rule: true }]]);
  // The pattern "foo($A)" and a rule holding it are different series.
  const pattern = toSeriesSpecs(parseDefinitions('{"insights": [{"id": "p", "title": "P", "kind": "structural", "language": "typescript", "queries": ["foo($A)"]}]}').insights[0]!)[0]!;
  const rule = toSeriesSpecs(parseDefinitions('{"insights": [{"id": "p", "title": "P", "kind": "structural", "language": "typescript", "queries": [{"rule": {"rule": {"pattern": "foo($A)"}}}]}]}').insights[0]!)[0]!;
  assert.notEqual(seriesId(pattern), seriesId(rule));

  const text = JSON.stringify({ insights: [{ id: 'b', title: 'B', kind: 'structural', language: 'typescript', queries: [{ rule: 'rule: [unclosed' }, { rule: { rule: { kind: 'no_such_kind' } } }, { rule: { pattern: 'x' } }, { rule: 'language: python\nrule: {pattern: x}' }, { rule: 3 }] }] });
  const bad = parseDefinitions(text);
  assert.equal(bad.insights.length, 0);
  assert.deepEqual(bad.problems.map((p) => [p.code, p.path.join('.')]), [0, 1, 2, 3, 4].map((j) => ['DEF_BAD_RULE', `insights.0.queries.${j}.rule`]));
  assert.match(bad.problems[0]!.message, /not valid YAML at line 2, column 1 of the rule/);
  assert.match(bad.problems[1]!.message, /ast-grep cannot use the rule/);
  assert.match(bad.problems[2]!.message, /no "rule" field|unknown field "pattern"/);
  assert.match(bad.problems[3]!.message, /language "python" is not the insight's \(typescript\)/);
  assert.equal(at(text, bad.problems[4]!), '3');
});
