// Structural queries (ast-grep patterns) against ast-grep's own command line: every point of a
// structural series, in every language, equals `ast-grep run -p PATTERN -l LANG --json` over
// the tree of the point's commit. Also: comments and strings never match, the per-blob cache
// answers a second run, and binary, oversized and broken files are handled like the regex path.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { TestRepo, tempDir } from '../helpers/gitRepo';
import { astGrepCount, astGrepPerFile, astGrepScanCount, checkoutTree } from '../helpers/astGrep';
import { runInsights } from '../../server/runs/runInsights';
import { parseDefinitions, toSeriesSpecs } from '../../server/engine/definitions';
import { drillDown } from '../../server/engine/drillDown';
import { seriesId } from '../../server/engine/seriesId';
import type { SeriesSpec } from '../../server/engine/api';
import type { StructuralLanguage } from '../../protocol/insights';
import { BlobText } from '../../server/engine/countMatches';
import { StructuralMatcher, patternWords } from '../../server/engine/structuralMatcher';

const END = new Date('2026-03-02T12:00:00Z');

function structural(pattern: string, language: StructuralLanguage, extra: Partial<SeriesSpec> = {}): SeriesSpec {
  return { label: pattern, query: pattern, literal: false, ignoreCase: false, count: 'matches', include: [], exclude: [], maxFileSize: 1 << 20, structural: { language }, ...extra };
}
function regex(query: string): SeriesSpec {
  return { label: query, query, literal: false, ignoreCase: false, count: 'matches', include: [], exclude: [], maxFileSize: 1 << 20 };
}

/** One pattern per language, each with files where it matches, and text that spells it where it must not. */
const CASES: [StructuralLanguage, string][] = [
  ['typescript', 'foo($A)'],
  ['tsx', '<Button $$$ />'],
  ['javascript', 'require($A)'],
  ['python', 'print($$$)'],
  ['go', '$X := $Y'],
  ['java', 'System.out.println($A)'],
  ['rust', '$A.unwrap()'],
  ['css', '$P: $V;'],
  ['html', '<img $$$>'],
];

let repo: TestRepo;
before(() => {
  repo = TestRepo.init();
  repo.commit('2026-01-05T10:00:00Z', {
    'src/a.ts': 'foo(1);\n// foo(2) in a comment\nconst s = "foo(3) in a string";\nfoo(foo(4));\n',
    'src/b.mts': 'export const x = foo(bar);\n',
    'notes.md': 'foo(1) foo(2)\n',
    'app/view.tsx': 'export const V = () => <div><Button label="a" /><Button /></div>;\n// <Button />\n',
    'lib/index.js': "const a = require('a');\n/* require('b') */\nconst t = `require(c)`;\n",
    'tool.py': 'print(1)\n# print(2)\ns = "print(3)"\nprint(print(4), 5)\n',
    'main.go': 'package main\n\nfunc main() {\n\ta := 1 // b := 2\n\ts := "c := 3"\n\t_ = s\n\t_ = a\n}\n',
    'A.java': 'class A { void f() { System.out.println(1); /* System.out.println(2) */ String s = "System.out.println(3)"; } }\n',
    'src/lib.rs': 'fn main() { let a = b.unwrap(); // c.unwrap()\n  let s = "d.unwrap()"; e.unwrap().unwrap(); }\n',
    'style.css': 'a { color: red; } /* color: red; */ b { color: blue; margin: 0; }\n',
    'index.html': '<div><img src="x"><!-- <img src="y"> --><p>img</p></div>\n',
  });
  repo.commit('2026-01-12T10:00:00Z', {
    'src/a.ts': 'foo(1);\nfoo(2); foo(3);\n',
    'src/c.cts': 'foo(function () { return foo(5); });\n',
    'app/other.tsx': 'const O = <Button kind="x" />;\n',
    'lib/more.mjs': "import x from 'x';\nconst y = require('y');\n",
    'pkg/util.go': 'package pkg\n\nfunc F() int {\n\tv := 2\n\tw := v\n\treturn w\n}\n',
  });
  // A file with syntax errors (tree-sitter recovers), a deletion, a rename with an edit.
  repo.commit('2026-01-19T10:00:00Z', {
    'src/broken.ts': 'foo(1);\nfunction {{{ foo(2)\nconst = ;\nfoo(3)\n',
    'src/b.mts': null,
    'src/moved.ts': 'export const x = foo(bar);\nfoo(baz);\n',
    'tool.py': 'print(1)\n',
    'B.java': 'class B { void g() { System.out.println("x"); System.out.println(2); } }\n',
  });
  repo.commit('2026-02-03T10:00:00Z', {
    'src/lib.rs': 'fn main() { x.unwrap(); }\n',
    'more.css': '.x { padding: 1px; }\n',
    'page.htm': '<p><img alt="a"><img></p>\n',
  });
  repo.commit('2026-02-20T10:00:00Z', { 'src/a.ts': '// foo(1) only in a comment now\n' });
});

test('every point of a structural series equals ast-grep run --json on a checkout of its commit, in every language', async () => {
  const specs = [...CASES.map(([l, p]) => structural(p, l)), structural('foo($A)', 'typescript', { count: 'lines' }), structural('foo($A)', 'typescript', { count: 'files' })];
  const r = await runInsights({ paths: [repo.dir], series: specs, step: 'week', points: 9, end: END }, { cacheFile: null });
  assert.deepEqual(r.repos.map((x) => x.error), [undefined]);
  const byCommit = new Map<string, number[]>();
  const oracle = (commit: string): number[] => {
    let v = byCommit.get(commit);
    if (!v) {
      const tree = checkoutTree(repo.dir, commit);
      try {
        v = CASES.map(([l, p]) => astGrepCount(tree.dir, p, l));
      } finally {
        tree.remove();
      }
      byCommit.set(commit, v);
    }
    return v;
  };
  for (const [i, [language, pattern]] of CASES.entries()) {
    const s = r.series[i];
    assert.equal(s.error, undefined);
    for (const p of s.points) {
      const commit = repo.revListBefore(new Date(p.time));
      assert.equal(p.repos[0]?.commit, commit, `commit at ${p.time}`);
      assert.equal(p.value, commit ? oracle(commit)[i] : 0, `${language} ${pattern} at ${p.time} (${commit})`);
    }
    // The series has matches somewhere: the comparison compared something.
    assert.ok(s.points.some((p) => p.value > 0), `${language}: ${JSON.stringify(s.points.map((p) => p.value))}`);
  }
  // foo($A) moves over time (and comes back down when only a comment is left).
  assert.ok(new Set(r.series[0].points.map((p) => p.value)).size >= 3);
  // lines: lines where a match starts; files: files with one.
  const last = (k: number) => r.series[k].points.at(-1)!.value;
  assert.equal(last(0), 7, 'c.cts 2, broken.ts 3 (tree-sitter recovers), moved.ts 2');
  assert.ok(last(CASES.length) <= last(0) && last(CASES.length) > 0);
  assert.equal(last(CASES.length + 1), 3, 'files with a match: c.cts, broken.ts, moved.ts');
});

test('a regex counts a call spelled in a comment or a string; the structural pattern does not', async () => {
  const r = await runInsights({ paths: [repo.dir], series: [structural('foo($A)', 'typescript'), regex('foo\\(\\w+\\)'), structural('print($$$)', 'python'), regex('print\\(')], step: 'week', points: 1, end: new Date('2026-01-06T00:00:00Z') }, { cacheFile: null });
  const v = r.series.map((s) => s.points[0].value);
  // src/a.ts: foo(1), foo(foo(4)) and foo(4) are calls; the comment's and the string's are not.
  // The regex also counts notes.md and src/b.mts's foo(bar), the comment and the string.
  const tree = checkoutTree(repo.dir, repo.revListBefore(new Date('2026-01-06T00:00:00Z'))!);
  try {
    assert.equal(v[0], astGrepCount(tree.dir, 'foo($A)', 'typescript'));
    assert.equal(v[2], astGrepCount(tree.dir, 'print($$$)', 'python'));
  } finally {
    tree.remove();
  }
  assert.equal(v[0], 4, 'a.ts: foo(1), foo(foo(4)), foo(4); b.mts: foo(bar)');
  assert.equal(v[1], 7, 'the regex: a.ts 4 (with the comment and the string), b.mts 1, notes.md 2');
  assert.equal(v[2], 3, 'print(1), print(print(4), 5), print(4)');
  assert.equal(v[3], 5, 'the regex also counts the comment and the string');
});

test('the git grep prefilter (words of the pattern) gives the same numbers as parsing every file', async () => {
  // $F(baz) needs "baz" (only src/moved.ts has it); the Java pattern needs "println".
  const req = { paths: [repo.dir], series: [structural('$F(baz)', 'typescript'), structural('System.out.println($A)', 'java')], step: 'week' as const, points: 9, end: END };
  const run = async (minBlobs: string) => {
    process.env.CODE_INSIGHTS_GREP_MIN_BLOBS = minBlobs;
    try {
      return await runInsights(req, { cacheFile: null });
    } finally {
      delete process.env.CODE_INSIGHTS_GREP_MIN_BLOBS;
    }
  };
  const filtered = await run('1');
  assert.ok(filtered.stats.blobsRuledOut > 0, `git grep ruled blobs out: ${JSON.stringify(filtered.stats)}`);
  const plain = await run('1000000');
  assert.equal(plain.stats.blobsRuledOut, 0);
  assert.deepEqual(filtered.series.map((s) => s.points.map((p) => p.value)), plain.series.map((s) => s.points.map((p) => p.value)));
  assert.ok(filtered.series[0].points.at(-1)!.value === 1 && filtered.series[1].points.at(-1)!.value === 3);
  assert.deepEqual(patternWords('System.out.println($A)'), ['System', 'out', 'println']);
  assert.deepEqual(patternWords('$$$ARGS.x($_A, $$$)'), []);
});

test('a second run reads no blob: counts are cached per (blob, pattern); a new commit reads only its blobs', async () => {
  const dir = tempDir('ci-structural-cache-');
  const cacheFile = join(dir, 'cache.sqlite');
  const specs = CASES.map(([l, p]) => structural(p, l));
  const first = await runInsights({ paths: [repo.dir], series: specs, step: 'week', points: 9, end: END }, { cacheFile });
  assert.ok(first.stats.blobsRead > 0, JSON.stringify(first.stats));
  assert.ok(existsSync(cacheFile));
  // The same request again: nothing is read (the run memo or the per-commit values answer).
  const again = await runInsights({ paths: [repo.dir], series: specs, step: 'week', points: 9, end: END }, { cacheFile });
  assert.equal(again.stats.blobsRead, 0, JSON.stringify(again.stats));
  assert.deepEqual(again.series.map((s) => s.points.map((p) => p.value)), first.series.map((s) => s.points.map((p) => p.value)));
  // Other series of the same patterns (files with a match, other buckets): no per-commit value
  // and no run memo answers, so every blob's counts come from the per-blob cache.
  const asFiles = specs.map((s) => ({ ...s, count: 'files' as const }));
  const second = await runInsights({ paths: [repo.dir], series: asFiles, step: 'week', points: 8, end: END }, { cacheFile });
  assert.equal(second.stats.fromRunMemo, undefined);
  assert.equal(second.stats.blobsRead, 0, JSON.stringify(second.stats));
  assert.ok(second.stats.blobsFromCache > 0, JSON.stringify(second.stats));
  const fresh = await runInsights({ paths: [repo.dir], series: asFiles, step: 'week', points: 8, end: END }, { cacheFile: null });
  assert.deepEqual(second.series.map((s) => s.points.map((p) => p.value)), fresh.series.map((s) => s.points.map((p) => p.value)));
  // A new commit: only its new blob is read.
  repo.commit('2026-02-24T10:00:00Z', { 'src/new.ts': 'foo(7);\n' });
  const third = await runInsights({ paths: [repo.dir], series: specs, step: 'week', points: 9, end: END }, { cacheFile });
  assert.equal(third.stats.blobsRead, 1, JSON.stringify(third.stats));
  assert.equal(third.series[0].points.at(-1)!.value, first.series[0].points.at(-1)!.value + 1);
  // A regex query of the same text is another key: it does not read structural counts.
  const other = await runInsights({ paths: [repo.dir], series: [regex('foo($A)')], step: 'week', points: 8, end: END }, { cacheFile });
  assert.ok(other.stats.blobsRead + other.stats.blobsRuledOut + other.stats.blobsCountedByGit > 0);
});

test('binary and oversized files are skipped like the regex path; a file tree-sitter cannot make sense of never stops the run', async () => {
  const r2 = TestRepo.init();
  r2.commit('2026-01-05T10:00:00Z', {
    'ok.ts': 'foo(1);\n',
    'bin.ts': Buffer.concat([Buffer.from('foo(1);\n'), Buffer.from([0, 1, 2]), Buffer.from('\nfoo(2);\n')]),
    'big.ts': 'foo(1);\n'.repeat(1000),
    'garbage.ts': Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 7919) % 256 || 1)),
    'invalid.ts': Buffer.concat([Buffer.from('foo(1); '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(' foo(2);\n')]),
  });
  const r = await runInsights({ paths: [r2.dir], series: [structural('foo($A)', 'typescript', { maxFileSize: 4096 }), regex('foo\\(\\d\\)')].map((s) => ({ ...s, maxFileSize: 4096 })), step: 'week', points: 1, end: END }, { cacheFile: null });
  assert.deepEqual(r.repos.map((x) => x.error), [undefined]);
  // Both skip bin.ts (a NUL byte) and big.ts (8000 bytes, over 4096); invalid UTF-8 is replaced, as for regexes.
  assert.equal(r.series[0].points[0].value, 3, 'ok.ts 1 + invalid.ts 2');
  assert.equal(r.series[1].points[0].value, 3, 'the regex path skips the same files');
});

test('one parse per blob and language, shared by every structural query of that language', async () => {
  const blob = new BlobText(Buffer.from('foo(1); bar(2); foo(bar(3));\n'));
  const a = new StructuralMatcher('foo($A)', 'typescript');
  const b = new StructuralMatcher('bar($A)', 'typescript');
  const c = new StructuralMatcher('foo($A)', 'javascript');
  assert.deepEqual(a.countBlob(blob), { counts: { matches: 2, lines: 1, files: 1 } });
  assert.deepEqual(b.countBlob(blob), { counts: { matches: 2, lines: 1, files: 1 } });
  assert.equal(blob.memo.size, 1, 'the TypeScript tree was parsed once');
  c.countBlob(blob);
  assert.equal(blob.memo.size, 2, 'JavaScript has its own tree');
  // A blob without the pattern's words is never parsed.
  const none = new BlobText(Buffer.from('nothing here\n'));
  assert.deepEqual(a.countBlob(none), { counts: { matches: 0, lines: 0, files: 0 } });
  assert.deepEqual(a.countAsync(none), { matches: 0, lines: 0, files: 0 }, 'no parse, no promise');
  assert.equal(none.memo.size, 0);
  // The engine's path: parsed on libuv's threads, once, for both queries.
  const shared = new BlobText(Buffer.from('foo(1);\nbar(2); foo(bar(3));\n'));
  const [x, y] = await Promise.all([a.countAsync(shared), b.countAsync(shared)]);
  assert.deepEqual([x, y], [{ matches: 2, lines: 2, files: 1 }, { matches: 2, lines: 1, files: 1 }]);
  assert.equal(shared.memo.size, 1);
});

test('an ast-grep rule (YAML, as in a rule file) counts as `ast-grep scan --inline-rules` does at every point', async () => {
  const rules = [
    'id: foo-in-function\nlanguage: TypeScript\nrule:\n  pattern: foo($A)\n  inside:\n    kind: function_expression\n    stopBy: end\n',
    'id: foo-of-literal\nlanguage: typescript\nrule:\n  pattern: foo($A)\nconstraints:\n  A:\n    kind: number\n',
    'id: any-call\nlanguage: typescript\nrule:\n  any:\n    - pattern: foo($$$)\n    - pattern: bar($$$)\n  not:\n    inside:\n      kind: call_expression\n      stopBy: end\n',
  ];
  const text = JSON.stringify({ insights: [{ id: 'r', title: 'R', kind: 'structural', language: 'ts', queries: rules.map((rule) => ({ rule })) }] });
  const parsed = parseDefinitions(text);
  assert.deepEqual(parsed.problems, []);
  const specs = toSeriesSpecs(parsed.insights[0]!);
  assert.deepEqual(specs.map((s) => s.label), ['foo-in-function', 'foo-of-literal', 'any-call'], 'labelled by the rule id');
  const r = await runInsights({ paths: [repo.dir], series: specs, step: 'week', points: 9, end: END }, { cacheFile: null });
  for (const [i, rule] of rules.entries()) {
    for (const p of r.series[i]!.points) {
      const commit = repo.revListBefore(new Date(p.time));
      let want = 0;
      if (commit) {
        const tree = checkoutTree(repo.dir, commit);
        try {
          want = astGrepScanCount(tree.dir, rule);
        } finally {
          tree.remove();
        }
      }
      assert.equal(p.value, want, `rule ${i + 1} at ${p.time}`);
    }
    assert.ok(r.series[i]!.points.some((p) => p.value > 0), `rule ${i + 1} matched somewhere`);
  }
});

test('drill-down of a structural point: the files of its language with their ast-grep counts, adding up to the point', async () => {
  const spec = structural('foo($A)', 'typescript');
  const r = await runInsights({ paths: [repo.dir], series: [spec], step: 'week', points: 9, end: END }, { cacheFile: null });
  const points = r.series[0]!.points;
  // A point whose commit differs from the previous point's, with matches.
  const at = points.findIndex((p, i) => i > 0 && p.value > 0 && p.repos[0]!.commit !== points[i - 1]!.repos[0]?.commit);
  assert.ok(at > 0);
  const p = points[at]!;
  const d = await drillDown({ repoPath: repo.dir, repo: p.repos[0]!.repo, seriesId: seriesId(spec), spec, commit: p.repos[0]!.commit, previousCommit: points[at - 1]!.repos[0]?.commit });
  assert.equal(d.total, p.value);
  assert.ok(d.files.every((f) => /\.(ts|cts|mts)$/.test(f.path)), JSON.stringify(d.files));
  const tree = checkoutTree(repo.dir, p.repos[0]!.commit);
  try {
    assert.deepEqual(new Map(d.files.map((f) => [f.path, f.count])), astGrepPerFile(tree.dir, 'foo($A)', 'typescript'));
  } finally {
    tree.remove();
  }
  assert.ok(d.changes.length > 0, 'what changed since the previous point');
  assert.ok(!d.files.some((f) => f.path === 'notes.md'), 'a Markdown file spelling foo(1) is not a TypeScript file');
});
