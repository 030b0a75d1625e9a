// Black-box: `code-insights languages` counts physical lines per language at the commit of a
// time (newlines, plus one when the last line has none); binary and vendored files are skipped.
// The expected line counts come from the blobs git stores.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { TestRepo, tempDir } from '../helpers/gitRepo';
import * as linguist from 'linguist-languages';
import { ensureBuilt, runCli, revListBefore, lsTree, gitRaw } from './cliHarness';
import { detectLanguage, isVendored } from '../../server/engine/detectLanguage';

interface LanguageCount { language: string; lines: number; files: number }
interface LanguagesOutput { languages: { time: string; languages: LanguageCount[]; repos: { repo: string; commit: string; languages: LanguageCount[] }[] }[] }

let repo: TestRepo;

before(() => {
  ensureBuilt();
  repo = TestRepo.init();
  repo.commit('2026-01-05T10:00:00Z', {
    'src/a.ts': 'const a = 1;\nconst b = 2;\nexport { a, b };\n', // 3 lines
    'tool/b.py': 'x = 1\ny = 2', // 2 lines, no trailing newline
    'tool/c.py': 'print(1)\n\n', // 2 lines (an empty last line)
    'logo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 10, 10, 10]),
    'node_modules/dep/index.js': 'module.exports = 1;\n'.repeat(50), // vendored
    'vendor/lib.py': 'z = 3\n'.repeat(40), // vendored
  });
  repo.commit('2026-02-10T10:00:00Z', { 'src/d.ts': 'export const d = 4;\n', 'tool/b.py': 'x = 1\ny = 2\nz = 3\n' });
});

/** Physical lines of a blob, as the spec defines them. */
function physicalLines(oid: string): number {
  const buf = gitRaw(repo.dir, ['cat-file', 'blob', oid]);
  if (buf.length === 0) return 0;
  let n = 0;
  for (const b of buf) if (b === 10) n++;
  return buf[buf.length - 1] === 10 ? n : n + 1;
}

/** Lines and files of the given extensions at a commit, from git's own blobs (vendored folders left out). */
function expectedAt(commit: string, ext: string): { lines: number; files: number } {
  const files = lsTree(repo.dir, commit).filter((f) => f.path.endsWith(ext) && !/^(node_modules|vendor)\//.test(f.path));
  return { lines: files.reduce((s, f) => s + physicalLines(f.oid), 0), files: files.length };
}

async function languages(args: string[]): Promise<LanguagesOutput> {
  const r = await runCli(['languages', repo.dir, ...args, '--format', 'json', '--no-cache']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as LanguagesOutput;
}

const byName = (l: LanguageCount[], name: string) => l.find((x) => x.language === name);

test('languages --at: lines and files per language at that time\'s commit; binary and vendored files skipped', async () => {
  const at = '2026-01-20T00:00:00Z';
  const out = await languages(['--at', at]);
  assert.equal(out.languages.length, 1);
  const p = out.languages[0];
  const commit = revListBefore(repo.dir, at)!;
  assert.equal(p.repos[0]?.commit, commit);
  assert.deepEqual(byName(p.languages, 'TypeScript'), { language: 'TypeScript', ...expectedAt(commit, '.ts') });
  assert.deepEqual(byName(p.languages, 'Python'), { language: 'Python', ...expectedAt(commit, '.py') });
  assert.deepEqual(expectedAt(commit, '.py'), { lines: 4, files: 2 }); // the test's own arithmetic: 2 + 2
  assert.equal(byName(p.languages, 'JavaScript'), undefined, 'node_modules is vendored');
  assert.deepEqual(p.languages.map((l) => l.language).sort(), ['Python', 'TypeScript'], 'nothing else: logo.png is binary, vendor/ vendored');
});

test('languages over time: each point at rev-list\'s commit', async () => {
  const end = '2026-02-15T00:00:00Z';
  const out = await languages(['--step', 'month', '--points', '3', '--end', end]);
  assert.deepEqual(out.languages.map((p) => p.time), ['2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z', '2026-02-15T00:00:00.000Z']);
  assert.deepEqual(out.languages[0].languages, [], 'before the first commit: no languages');
  for (const p of out.languages.slice(1)) {
    const commit = revListBefore(repo.dir, p.time)!;
    assert.equal(p.repos[0]?.commit, commit);
    assert.deepEqual(byName(p.languages, 'TypeScript'), { language: 'TypeScript', ...expectedAt(commit, '.ts') });
    assert.deepEqual(byName(p.languages, 'Python'), { language: 'Python', ...expectedAt(commit, '.py') });
  }
  assert.equal(byName(out.languages[2].languages, 'Python')!.lines, 5, 'b.py grew to 3 lines');
});

test('languages by file name (Makefile, Dockerfile), documentation counted, minified and third-party files vendored', async () => {
  const r = TestRepo.init();
  r.commit('2026-01-05T10:00:00Z', {
    'Makefile': 'all:\n\techo hi\n',
    'Dockerfile': 'FROM node:20\nRUN true',
    'README.md': '# Title\n\ntext\n',
    'docs/guide.md': 'a\nb\n',
    'web/app.min.js': 'var a=1;\n',
    'third_party/lib.c': 'int x;\n',
    'src/main.c': 'int main(void) {\n  return 0;\n}\n',
    'src/empty.py': '',
  });
  const res = await runCli(['languages', r.dir, '--at', '2026-01-06T00:00:00Z', '--format', 'json', '--no-cache']);
  assert.equal(res.code, 0, res.stderr);
  const langs = (JSON.parse(res.stdout) as LanguagesOutput).languages[0].languages;
  const get = (n: string) => { const l = byName(langs, n); return l && { lines: l.lines, files: l.files }; };
  assert.deepEqual(get('Makefile'), { lines: 2, files: 1 });
  assert.deepEqual(get('Dockerfile'), { lines: 2, files: 1 }, 'the last line without a newline counts');
  assert.deepEqual(get('Markdown'), { lines: 5, files: 2 }, 'the spec skips binary and vendored files only; docs count');
  assert.deepEqual(get('C'), { lines: 3, files: 1 }, 'third_party/ is vendored');
  assert.equal(get('JavaScript'), undefined, '*.min.js is vendored');
  assert.deepEqual(get('Python') ?? { lines: 0, files: 1 }, { lines: 0, files: 1 }, 'an empty file has 0 lines');
});

test('languages --format csv and table carry the json numbers', async () => {
  const at = '2026-02-20T00:00:00Z';
  const json = await languages(['--at', at]);
  const csv = await runCli(['languages', repo.dir, '--at', at, '--format', 'csv', '--no-cache']);
  assert.equal(csv.code, 0, csv.stderr);
  const [header, ...rows] = csv.stdout.trim().split('\n').map((l) => l.split(','));
  const col = (n: string) => header.indexOf(n);
  assert.ok(col('language') >= 0 && col('lines') >= 0, header.join(','));
  for (const l of json.languages[0].languages) {
    const row = rows.find((r) => r[col('language')] === l.language);
    assert.equal(Number(row?.[col('lines')]), l.lines, `${l.language} in csv`);
  }
  const table = await runCli(['languages', repo.dir, '--at', at, '--format', 'table', '--no-cache']);
  assert.equal(table.code, 0, table.stderr);
  for (const l of json.languages[0].languages) {
    const line = table.stdout.split('\n').find((x) => x.startsWith(l.language));
    assert.ok(line && new RegExp(`\\b${l.lines}\\b`).test(line), `${l.language} ${l.lines} in table:\n${table.stdout}`);
  }
});

test('languages over a folder of two repos: lines summed per language, per-repo lines kept', async () => {
  const top = tempDir('ci-lang2-');
  const a = TestRepo.init(join(top, 'a'));
  a.commit('2026-01-05T10:00:00Z', { 'x.ts': 'a\nb\n', 'y.py': 'p\n' });
  a.git(['remote', 'add', 'origin', 'https://example.com/acme/a.git']);
  const b = TestRepo.init(join(top, 'b'));
  b.commit('2026-01-06T10:00:00Z', { 'z.ts': 'c\nd\ne' });
  b.git(['remote', 'add', 'origin', 'https://example.com/acme/b.git']);
  const res = await runCli(['languages', top, '--at', '2026-01-10T00:00:00Z', '--format', 'json', '--no-cache']);
  assert.equal(res.code, 0, res.stderr);
  const p = (JSON.parse(res.stdout) as LanguagesOutput).languages[0];
  assert.deepEqual(byName(p.languages, 'TypeScript'), { language: 'TypeScript', lines: 5, files: 2 });
  assert.deepEqual(byName(p.languages, 'Python'), { language: 'Python', lines: 1, files: 1 });
  const per = Object.fromEntries(p.repos.map((r) => [r.repo, r]));
  assert.equal(per['example.com/acme/a']?.commit, a.head());
  assert.deepEqual(byName(per['example.com/acme/a'].languages, 'TypeScript'), { language: 'TypeScript', lines: 2, files: 1 });
  assert.deepEqual(byName(per['example.com/acme/b'].languages, 'TypeScript'), { language: 'TypeScript', lines: 3, files: 1 });
});

test('the bundled command line names every extension and file name Linguist knows as the engine\'s source does', async () => {
  // The bundles carry linguist-languages cut to the fields the engine reads (scripts/build.mjs);
  // a field missing there would change answers here, not in the engine's own tests.
  const names = new Set<string>();
  for (const l of Object.values(linguist as unknown as Record<string, { extensions?: string[]; filenames?: string[] }>)) {
    if (typeof l !== 'object' || l === null) continue;
    for (const e of l.extensions ?? []) names.add(`file${e}`);
    for (const f of l.filenames ?? []) names.add(f);
  }
  const files: Record<string, string> = {};
  const expected = new Map<string, number>();
  [...names].sort().forEach((name, i) => {
    const path = `f/${i}/${name}`;
    files[path] = 'x\n';
    const lang = isVendored(path) ? undefined : detectLanguage(path);
    if (lang !== undefined) expected.set(lang, (expected.get(lang) ?? 0) + 1);
  });
  assert.ok(names.size > 1500 && expected.size > 400, `${names.size} names, ${expected.size} languages`);
  const r = TestRepo.init();
  r.commit('2026-01-05T10:00:00Z', files);
  const res = await runCli(['languages', r.dir, '--at', '2026-01-06T00:00:00Z', '--format', 'json', '--no-cache']);
  assert.equal(res.code, 0, res.stderr);
  const got = (JSON.parse(res.stdout) as LanguagesOutput).languages[0].languages;
  assert.deepEqual(
    Object.fromEntries(got.map((l) => [l.language, l.files]).sort()),
    Object.fromEntries([...expected].sort()),
  );
});
