// Black-box: `code-insights check` on repositories built here. A ratchet broken on a branch
// exits 1 and names the file and line that added the match; fixed, it exits 0; its base and
// head values are the CLI's own `series` values at those commits; the JUnit XML parses with a
// strict XML parser; the GitHub annotations point at the lines git blame says added the match.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { TestRepo, tempDir } from '../helpers/gitRepo';
import { ensureBuilt, runCli, runJson, hasStackTrace } from './cliHarness';
import type { GoalCheckResult } from '../../protocol/goals';

// A strict, real XML parser (a dependency of @vscode/vsce, already in the tree).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sax = require('sax') as { parser: (strict: boolean) => { onerror: (e: Error) => void; onopentag: (t: { name: string; attributes: Record<string, string> }) => void; onclosetag: (n: string) => void; ontext: (t: string) => void; write: (s: string) => { close: () => void } } };

const DEFS = {
  insights: [
    { id: 'old-logger', title: 'Old logger', queries: [{ query: 'oldLogger\\(', label: 'oldLogger', goal: { ratchet: true } }] },
    { id: 'todos', title: 'TODOs', literal: true, queries: ['TODO'], exclude: ['.vscode/**'], goal: { max: 10 } },
    // A goal that is not part of what is computed: the series id must not depend on it.
    { id: 'deps', title: 'lib versions', kind: 'capture', queries: ['lib@(\\d+)'], captureGoals: { '1': { max: 0 } } },
    // Scoped to other repositories: its goal does not apply here.
    { id: 'elsewhere', title: 'Elsewhere', queries: ['oldLogger'], repos: ['^github\\.com/acme/other$'], goal: { max: 0 } },
  ],
};

let repo: TestRepo;
let base: string;
let cache: string;

function defsFile(defs: unknown = DEFS): Record<string, string> {
  return { '.vscode/insights.json': JSON.stringify(defs, null, 2) };
}

before(() => {
  ensureBuilt();
  cache = join(tempDir('ci-check-cache-'), 'cache.sqlite');
  repo = TestRepo.init();
  repo.commit('2026-01-05T10:00:00Z', { ...defsFile(), 'src/a.js': 'oldLogger("a");\n// TODO one\n', 'src/b.js': 'const x = 1;\n', 'deps.txt': 'lib@2\n' });
  base = repo.commit('2026-01-12T10:00:00Z', { 'src/c.js': 'newLogger("c");\n' });
  repo.git(['checkout', '-q', '-b', 'feature']);
  repo.commit('2026-01-19T10:00:00Z', { 'src/b.js': 'const x = 1;\n\nfunction f() {\n  oldLogger("b"); oldLogger("again");\n}\n', 'src/a.js': 'oldLogger("a");\n// TODO one\n// TODO two\n' });
});

async function check(args: string[], cwd = repo.dir) {
  return runCli(['check', ...args, '--cache', cache], { cwd });
}

test('a ratchet broken on a branch exits 1 and names the file and the line that added the matches', async () => {
  const r = await check([]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /Old logger \/ oldLogger\s+1\s+3\s+ratchet\s+BROKEN/);
  assert.match(r.stdout, /TODOs \/ TODO\s+1\s+2\s+<= 10\s+ok/);
  assert.match(r.stdout, /src\/b\.js:4\s+\+2\s+oldLogger\("b"\); oldLogger\("again"\);/);
  assert.match(r.stdout, /rose from 1 to 3/);
  assert.match(r.stdout, /skipped: elsewhere: its "repos" filter leaves this repository out/);
  assert.doesNotMatch(r.stdout, /Elsewhere \//);
  assert.ok(!hasStackTrace(r.stderr), r.stderr);
});

test('check values equal the CLI series at the base and the head commits', async () => {
  const r = await check(['--format', 'json']);
  const out = JSON.parse(r.stdout) as GoalCheckResult;
  assert.equal(out.base.commit, base, 'the base is the merge-base with main');
  assert.equal(out.head.commit, repo.head());
  for (const [rev, field] of [[base, 'base'], [repo.head(), 'head']] as const) {
    const s = await runJson(['series', repo.dir, '-q', 'oldLogger\\(', '--points', '1', '--rev', rev, '--no-cache']);
    const t = await runJson(['series', repo.dir, '-q', 'TODO', '--literal', '--exclude', '.vscode/**', '--points', '1', '--rev', rev, '--no-cache']);
    const logger = out.series.find((x) => x.insightId === 'old-logger')!;
    const todo = out.series.find((x) => x.insightId === 'todos')!;
    assert.equal(logger[field], s.series[0].points.at(-1)!.value, `oldLogger at ${field}`);
    assert.equal(todo[field], t.series[0].points.at(-1)!.value, `TODO at ${field}`);
    assert.equal(logger.seriesId, s.series[0].id, 'a goal does not change the series id');
    assert.equal(todo.seriesId, t.series[0].id, 'a goal does not change the series id');
  }
  const lib1 = out.series.find((x) => x.insightId === 'deps' && x.capture === '1');
  assert.deepEqual([lib1?.head, lib1?.verdict], [0, 'ok'], 'a captured value absent at head meets its max 0');
});

test('GitHub annotations point at the lines that added matches; JUnit XML parses and names the failure', async () => {
  const gh = await check(['--format', 'github']);
  assert.equal(gh.code, 1);
  const annotations = gh.stdout.split('\n').filter((l) => l.startsWith('::'));
  assert.equal(annotations.length, 1, gh.stdout);
  const m = /^::error file=([^,]+),line=(\d+),title=([^:]+)::(.*)$/.exec(annotations[0]);
  assert.ok(m, annotations[0]);
  const line = repo.git(['show', `HEAD:${m[1]}`]).split('\n')[Number(m[2]) - 1];
  assert.match(line, /oldLogger\(/, `the annotated line ${m[1]}:${m[2]} holds the match`);
  assert.equal(repo.git(['blame', '-s', '-L', `${m[2]},${m[2]}`, '--porcelain', 'HEAD', '--', m[1]]).slice(0, 40), repo.head(), 'the annotated line was added on the branch');

  const ju = await check(['--format', 'junit']);
  assert.equal(ju.code, 1);
  const seen: { name: string; attributes: Record<string, string> }[] = [];
  const stack: string[] = [];
  let failureText = '';
  const parser = sax.parser(true);
  parser.onerror = (e) => assert.fail(`JUnit output is not well-formed XML: ${e.message}\n${ju.stdout}`);
  parser.onopentag = (t) => (seen.push(t), stack.push(t.name));
  parser.onclosetag = () => void stack.pop();
  parser.ontext = (t) => void (stack.at(-1) === 'failure' && (failureText += t));
  parser.write(ju.stdout).close();
  assert.equal(seen[0]?.name, 'testsuites');
  const cases = seen.filter((t) => t.name === 'testcase');
  assert.deepEqual(cases.map((c) => c.attributes.name), ['oldLogger', 'TODO', 'lib@(\\d+): 1'], 'one test case per series with a goal (lib@2 has none)');
  assert.equal(seen.filter((t) => t.name === 'failure').length, 1);
  assert.equal(seen.find((t) => t.name === 'testsuite')!.attributes.failures, '1');
  assert.match(failureText, /src\/b\.js:4 \+2/);
});

test('fixed on the branch, the check exits 0; a broken max and a captured value with a goal are named', async () => {
  const fixed = TestRepo.init();
  fixed.commit('2026-01-05T10:00:00Z', { ...defsFile(), 'src/a.js': 'oldLogger("a");\n' });
  fixed.git(['checkout', '-q', '-b', 'topic']);
  fixed.commit('2026-01-06T10:00:00Z', { 'src/a.js': 'oldLogger("a");\noldLogger("b");\n' });
  assert.equal((await check([], fixed.dir)).code, 1);
  fixed.commit('2026-01-07T10:00:00Z', { 'src/a.js': 'newLogger("a");\nnewLogger("b");\n' });
  const ok = await check([], fixed.dir);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /Old logger \/ oldLogger\s+1\s+0\s+ratchet\s+ok/);

  fixed.commit('2026-01-08T10:00:00Z', { 'deps.txt': 'lib@1\nlib@3\n', 'todo.txt': 'TODO\n'.repeat(11) });
  const r = await check(['--format', 'json'], fixed.dir);
  assert.equal(r.code, 1);
  const out = JSON.parse(r.stdout) as GoalCheckResult;
  const broken = out.series.filter((s) => s.verdict === 'broken').map((s) => [s.label, s.reasons.join(), s.culprits?.[0]?.path, s.culprits?.length]);
  assert.deepEqual(broken, [
    ['TODO', '11 is above the maximum 10', 'todo.txt', 11],
    ['lib@(\\d+): 1', '1 is above the maximum 0', 'deps.txt', 1],
  ]);
});

test('--base names the base; bad input exits 2 with a message, never 1', async () => {
  const same = await check(['--base', 'HEAD', '--format', 'json']);
  assert.equal(same.code, 0, 'HEAD against itself: a ratchet holds');
  assert.equal((await check(['--base', 'no-such-branch'])).code, 2);
  assert.match((await check(['--base', 'no-such-branch'])).stderr, /--base: "no-such-branch" names no commit/);
  assert.equal((await check(['--format', 'xml'])).code, 2);
  const notRepo = await check([], tempDir('ci-not-repo-'));
  assert.equal(notRepo.code, 2);
  assert.match(notRepo.stderr, /not inside a git working tree/);

  const bad = TestRepo.init();
  bad.commit('2026-01-05T10:00:00Z', defsFile({ insights: [{ id: 'x', title: 'X', queries: [{ query: 'a', goal: { max: 'ten' } }] }] }));
  const r = await check([], bad.dir);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /insights\.json:\d+:\d+: error: insight "x": query 1: goal "max" must be a number/);
  assert.ok(!hasStackTrace(r.stderr), r.stderr);
});
