// Black-box: `code-insights series -q PATTERN --structural LANG` from the built command line,
// every point against ast-grep's own CLI on a checkout of the point's commit; a bad language or
// pattern stops with a clear message and the right exit code before anything is written; the
// same through a definitions file with `run`.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRepo, tempDir } from '../helpers/gitRepo';
import { astGrepCount, checkoutTree } from '../helpers/astGrep';
import { ensureBuilt, hasStackTrace, revListBefore, runCli, runJson } from './cliHarness';

const END = '2026-02-09T00:00:00Z';
const WINDOW = ['--step', 'week', '--points', '6', '--end', END];

let repo: TestRepo;
before(() => {
  ensureBuilt();
  repo = TestRepo.init();
  repo.commit('2026-01-05T10:00:00Z', { 'src/a.ts': 'oldLogger.warn("x");\n// oldLogger.warn("in a comment")\n', 'README.md': 'call oldLogger.warn(msg)\n' });
  repo.commit('2026-01-12T10:00:00Z', { 'src/b.ts': 'oldLogger.warn(a); oldLogger.warn(b);\nconst s = "oldLogger.warn(c)";\n', 'app.py': 'log.warn(1)\n' });
  repo.commit('2026-01-26T10:00:00Z', { 'src/a.ts': 'newLogger.warn("x");\n' });
});

test('series --structural: every point equals ast-grep run on a checkout of its commit', async () => {
  const cache = join(tempDir('ci-structural-cli-'), 'cache.sqlite');
  const out = await runJson(['series', repo.dir, '-q', 'oldLogger.warn($A)', '--label', 'old', '-q', '$L.warn($$$)', '--structural', 'typescript', ...WINDOW, '--cache', cache, '--stats']);
  assert.equal(out.series.length, 2);
  assert.equal(out.series[0]!.label, 'old');
  for (const [i, pattern] of ['oldLogger.warn($A)', '$L.warn($$$)'].entries()) {
    for (const p of out.series[i]!.points) {
      const commit = revListBefore(repo.dir, p.time);
      assert.equal(p.repos[0]?.commit, commit);
      let want = 0;
      if (commit) {
        const tree = checkoutTree(repo.dir, commit);
        try {
          want = astGrepCount(tree.dir, pattern, 'typescript');
        } finally {
          tree.remove();
        }
      }
      assert.equal(p.value, want, `${pattern} at ${p.time}`);
    }
  }
  assert.deepEqual(out.series[0]!.points.map((p) => p.value), [0, 1, 3, 3, 2, 2], 'the comment, the string and README.md never count');
  // The same again from the cache: no blob read.
  const again = await runCli(['series', repo.dir, '-q', 'oldLogger.warn($A)', '--label', 'old', '-q', '$L.warn($$$)', '--structural', 'ts', ...WINDOW, '--cache', cache, '--stats']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, / 0 blobs read/);
});

test('an unknown language: exit 2, the supported languages listed, no cache written', async () => {
  const cache = join(tempDir('ci-structural-cli-'), 'cache.sqlite');
  const r = await runCli(['series', repo.dir, '-q', 'foo($A)', '--structural', 'klingon', ...WINDOW, '--cache', cache]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown structural language "klingon"; supported: typescript, tsx, javascript, css, html, python, go, java, rust/);
  assert.ok(!hasStackTrace(r.stderr), r.stderr);
  assert.equal(r.stdout, '');
  assert.ok(!existsSync(cache), 'nothing written');
});

test('a pattern ast-grep cannot use: exit 1, the message names the pattern, no cache written', async () => {
  const cache = join(tempDir('ci-structural-cli-'), 'cache.sqlite');
  for (const bad of ['oldLogger.warn(', 'a; b']) {
    const r = await runCli(['series', repo.dir, '-q', 'ok($A)', '-q', bad, '--structural', 'ts', ...WINDOW, '--cache', cache]);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(r.stderr.includes(JSON.stringify(bad)), r.stderr);
    assert.ok(!hasStackTrace(r.stderr), r.stderr);
    assert.equal(r.stdout, '');
  }
  assert.ok(!existsSync(cache), 'nothing written');
  const flags = await runCli(['series', repo.dir, '-q', 'x', '--structural', 'ts', '--literal', ...WINDOW, '--no-cache']);
  assert.equal(flags.code, 2);
  assert.match(flags.stderr, /--literal does not apply to --structural/);
});

test('run: a structural insight from the definitions file; its mistakes reported as FILE:LINE:COL', async () => {
  const dir = tempDir('ci-structural-run-');
  mkdirSync(join(dir, '.vscode'));
  const config = join(dir, '.vscode', 'insights.json');
  writeFileSync(config, JSON.stringify({ insights: [{ id: 'old', title: 'oldLogger', kind: 'structural', language: 'typescript', queries: [{ pattern: 'oldLogger.warn($A)' }], step: 'week', points: 6, end: END }] }, null, 2));
  const ok = await runCli(['run', repo.dir, '--config', config, '--format', 'json', '--no-cache']);
  assert.equal(ok.code, 0, ok.stderr);
  const parsed = JSON.parse(ok.stdout) as { insights: { kind: string; series: { points: { value: number }[] }[] }[] };
  assert.equal(parsed.insights[0]!.kind, 'structural');
  assert.deepEqual(parsed.insights[0]!.series[0]!.points.map((p) => p.value), [0, 1, 3, 3, 2, 2]);

  const cache = join(dir, 'cache.sqlite');
  writeFileSync(config, '{\n  "insights": [\n    { "id": "bad", "title": "B", "kind": "structural", "language": "cobol", "queries": ["x"] },\n    { "id": "bad2", "title": "C", "kind": "structural", "language": "ts",\n      "queries": ["foo("] }\n  ]\n}\n');
  const bad = await runCli(['run', repo.dir, '--config', config, '--cache', cache]);
  assert.equal(bad.code, 1, bad.stderr);
  assert.ok(bad.stderr.includes(`${config}:3:68: error: insight "bad": unknown structural language "cobol"`), bad.stderr);
  assert.ok(bad.stderr.includes(`${config}:5:19: error: insight "bad2": query 1: the pattern "foo(" is not valid typescript`), bad.stderr);
  assert.ok(!existsSync(cache), 'nothing written');
});

test('check: a ratchet on a structural series; the culprits are the lines where an added call starts, not comments', async () => {
  const r3 = TestRepo.init();
  const defs = { insights: [{ id: 'old', title: 'Old logger', kind: 'structural', language: 'typescript', queries: [{ query: 'oldLogger.warn($A)', label: 'calls', goal: { ratchet: true } }] }] };
  r3.commit('2026-01-05T10:00:00Z', { '.vscode/insights.json': JSON.stringify(defs), 'src/a.ts': 'oldLogger.warn(1);\n' });
  r3.git(['checkout', '-q', '-b', 'feature']);
  r3.commit('2026-01-12T10:00:00Z', { 'src/a.ts': 'oldLogger.warn(1);\n// oldLogger.warn(2) in a comment\nconst s = "oldLogger.warn(3)";\nif (x) {\n  oldLogger.warn(\n    4);\n}\n' });
  const r = await runCli(['check', '--base', 'main', '--format', 'json', '--no-cache'], { cwd: r3.dir });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const out = JSON.parse(r.stdout) as { series: { label: string; base: number; head: number; verdict: string; culprits?: { path: string; line?: number; delta: number }[] }[] };
  const s = out.series[0]!;
  assert.deepEqual([s.label, s.base, s.head, s.verdict], ['calls', 1, 2, 'broken']);
  assert.deepEqual(s.culprits?.map((c) => [c.path, c.line, c.delta]), [['src/a.ts', 5, 1]]);
});
