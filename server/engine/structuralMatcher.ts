// Structural queries: an ast-grep pattern in one language, counted over the syntax tree of each
// blob instead of its lines, so a call is told apart from a comment or a string that spells it.
// @ast-grep/napi (tree-sitter, native) parses; Python, Go, Java and Rust come from the
// @ast-grep/lang-* packages (prebuilt parsers registered as dynamic languages). The native
// modules are loaded on first use: a run without a structural query never loads them.
//
// Counts per blob, like every other query: `matches` is the number of nodes the pattern matches
// (nested matches count each, as `ast-grep run --json` lists them), `lines` the lines where a
// match starts, `files` 1 when any matches. A blob is parsed at most once per language however
// many structural queries of that language a run counts (the tree is kept on its BlobText).
import { createHash } from 'node:crypto';
import { STRUCTURAL_LANGUAGES, type StructuralLanguage } from '../../protocol/insights';
import { type BlobCountOutcome, type BlobCounts, type BlobMatcher, type BlobText, type QuerySpec, ZERO } from './countMatches';
import { InsightsError } from './errors';

type Napi = typeof import('@ast-grep/napi');
type SgRoot = ReturnType<Napi['parse']>;

interface LanguageInfo {
  /** The name @ast-grep/napi knows it by (built in, or as registered). */
  napiName: string;
  /** File name endings ast-grep's own CLI gives the language (`ast-grep run -l LANG`). */
  extensions: string[];
  /** Package of a dynamic language. */
  pkg?: string;
  /**
   * What ast-grep puts for `$` before parsing a pattern, where `$` cannot start an identifier;
   * undefined: the pattern is not checked for syntax errors (CSS: ast-grep accepts patterns such
   * as `color: red` that do not parse alone).
   */
  expando?: string;
}

const LANGUAGES: Record<StructuralLanguage, LanguageInfo> = {
  typescript: { napiName: 'TypeScript', extensions: ['ts', 'cts', 'mts'], expando: '$' },
  tsx: { napiName: 'Tsx', extensions: ['tsx'], expando: '$' },
  javascript: { napiName: 'JavaScript', extensions: ['js', 'cjs', 'mjs', 'jsx'], expando: '$' },
  css: { napiName: 'Css', extensions: ['css', 'scss'] },
  html: { napiName: 'Html', extensions: ['html', 'htm', 'xhtml'], expando: 'z' },
  python: { napiName: 'python', extensions: ['py', 'py3', 'pyi', 'bzl'], pkg: '@ast-grep/lang-python', expando: 'µ' },
  go: { napiName: 'go', extensions: ['go'], pkg: '@ast-grep/lang-go', expando: 'µ' },
  java: { napiName: 'java', extensions: ['java'], pkg: '@ast-grep/lang-java', expando: '$' },
  rust: { napiName: 'rust', extensions: ['rs'], pkg: '@ast-grep/lang-rust', expando: 'µ' },
};

/** Other names people type for a language (ast-grep's own aliases). */
const ALIASES: Record<string, StructuralLanguage> = { ts: 'typescript', js: 'javascript', jsx: 'javascript', py: 'python', golang: 'go', rs: 'rust' };

/** The canonical name of a language as written by a person (any case, ast-grep's aliases), or undefined. */
export function structuralLanguage(name: string): StructuralLanguage | undefined {
  const n = name.trim().toLowerCase();
  return (STRUCTURAL_LANGUAGES as readonly string[]).includes(n) ? (n as StructuralLanguage) : ALIASES[n];
}

export function unknownLanguageMessage(name: string): string {
  return `unknown structural language "${name}"; supported: ${STRUCTURAL_LANGUAGES.join(', ')} (also ${Object.keys(ALIASES).join(', ')})`;
}

/** Whether a path is a file of the language: its name ends with one of the language's extensions, as ast-grep decides. */
export function languagePathOk(language: StructuralLanguage): (path: string) => boolean {
  const exts = LANGUAGES[language].extensions.map((e) => `.${e}`);
  return (path) => exts.some((e) => path.endsWith(e));
}

export function languageExtensions(language: StructuralLanguage): string[] {
  return [...LANGUAGES[language].extensions];
}

let napiModule: Napi | undefined;
/** Dynamic languages that loaded, and why the others did not. */
const dynamicProblems = new Map<string, string>();

/**
 * @ast-grep/napi, loaded on first use with every dynamic language registered at once
 * (registerDynamicLanguage takes effect once per process: later calls add nothing).
 */
function napiFor(language: StructuralLanguage): Napi {
  if (!napiModule) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const napi = require('@ast-grep/napi') as Napi;
    const dynamic: Record<string, unknown> = {};
    for (const [name, info] of Object.entries(LANGUAGES)) {
      if (!info.pkg) continue;
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const mod = require(info.pkg) as { libraryPath: string };
        void mod.libraryPath; // throws when no parser is built for this platform
        dynamic[info.napiName] = mod;
      } catch (e) {
        dynamicProblems.set(name, (e as Error).message);
      }
    }
    napi.registerDynamicLanguage(dynamic as Parameters<Napi['registerDynamicLanguage']>[0]);
    napiModule = napi;
  }
  const problem = dynamicProblems.get(language);
  if (problem) throw new InsightsError('STRUCTURAL_LANGUAGE_MISSING', `structural language ${language} needs the package ${LANGUAGES[language].pkg}, which cannot be loaded here: ${problem}`);
  return napiModule;
}

/**
 * Why ast-grep cannot use `pattern` in `language`, or undefined when it can: no node or several
 * nodes (ast-grep refuses those), or a syntax error in the pattern (ast-grep only warns and then
 * matches nothing or the wrong thing).
 */
export function patternProblem(language: StructuralLanguage, pattern: string): string | undefined {
  const napi = napiFor(language);
  const info = LANGUAGES[language];
  try {
    napi.parse(info.napiName as never, '').root().findAll(pattern);
  } catch (e) {
    return `ast-grep cannot use the pattern ${JSON.stringify(pattern)} as ${language}: ${(e as Error).message}`;
  }
  if (info.expando === undefined) return undefined;
  const source = info.expando === '$' ? pattern : pattern.replace(/\$/g, info.expando);
  const error = napi.parse(info.napiName as never, source).root().find({ rule: { kind: 'ERROR' } });
  if (error) {
    const near = error.text().trim().slice(0, 40);
    return `the pattern ${JSON.stringify(pattern)} is not valid ${language}${near ? ` (syntax error at ${JSON.stringify(near)})` : ''}; a pattern must be a complete ${language} expression, statement or declaration`;
  }
  return undefined;
}

/**
 * Words of the pattern outside metavariables: every match holds each of them as written (a
 * pattern's leaf nodes match leaves of the same text), so a blob without one of them cannot
 * match and is neither parsed nor, with the git grep prefilter, even read.
 */
export function patternWords(pattern: string): string[] {
  const stripped = pattern.replace(/\$+[A-Z_][A-Z0-9_]*|\$\$\$/g, ' ');
  return [...new Set(stripped.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? [])].filter((w) => w.length >= 2);
}

/** The parts of an ast-grep rule file that decide what matches; the others (id, message, severity, fix…) are left out. */
const RULE_KEYS = ['rule', 'constraints', 'utils'] as const;
/** Keys of an ast-grep rule file that do not change what matches. */
const RULE_INFO_KEYS = new Set(['id', 'language', 'message', 'note', 'severity', 'fix', 'files', 'ignores', 'url', 'metadata', 'labels', 'transform', 'rewriters']);

/**
 * An ast-grep rule (as in a rule file: `rule`, optional `constraints` and `utils`) as the
 * canonical text a series is keyed by, or why it cannot be one. `language`, when the rule names
 * one, must be the insight's.
 */
export function canonicalRule(config: unknown, language: StructuralLanguage): { text: string; label?: string } | { problem: string } {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) return { problem: 'an ast-grep rule must be an object with a "rule" field' };
  const c = config as Record<string, unknown>;
  if (c.rule === undefined) return { problem: 'the ast-grep rule has no "rule" field (e.g. rule: {pattern: "foo($A)"})' };
  for (const k of Object.keys(c)) {
    if (!(RULE_KEYS as readonly string[]).includes(k) && !RULE_INFO_KEYS.has(k)) return { problem: `unknown field "${k}" in the ast-grep rule (expected ${RULE_KEYS.join(', ')})` };
  }
  if (c.language !== undefined && (typeof c.language !== 'string' || structuralLanguage(c.language) !== language)) {
    return { problem: `the rule's language ${JSON.stringify(c.language)} is not the insight's (${language})` };
  }
  const kept: Record<string, unknown> = {};
  for (const k of RULE_KEYS) if (c[k] !== undefined) kept[k] = c[k];
  const text = stableJson(kept);
  const problem = ruleProblem(language, JSON.parse(text) as object);
  if (problem) return { problem };
  const label = typeof c.id === 'string' && c.id ? c.id : undefined;
  return { text, ...(label ? { label } : {}) };
}

/** JSON with object keys sorted: the same rule gives the same text (and series id) however it was written. */
function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

function ruleProblem(language: StructuralLanguage, config: object): string | undefined {
  const napi = napiFor(language);
  try {
    napi.parse(LANGUAGES[language].napiName as never, '').root().findAll(config as never);
    return undefined;
  } catch (e) {
    return `ast-grep cannot use the rule: ${(e as Error).message.split('\n')[0]}`;
  }
}

/** A structural query as the engine counts it: same surface as the regex Matcher. */
export class StructuralMatcher implements BlobMatcher {
  readonly key: string;
  readonly capture = false;
  readonly linear = true;
  readonly exactNeedle = undefined;
  readonly grepNeedles: { needles: string[]; ignoreCase: boolean } | undefined;
  readonly spec: QuerySpec;
  private readonly words: Buffer[];
  private readonly napiName: string;
  private napi: Napi | undefined;
  /** What findAll takes: the pattern, or the rule's config. */
  private readonly query: string | object;

  /** `pattern` is an ast-grep pattern, or with `rule` the canonical text of a rule (canonicalRule). */
  constructor(
    readonly pattern: string,
    readonly language: StructuralLanguage,
    rule = false,
  ) {
    this.spec = { query: pattern, literal: false, ignoreCase: false };
    const problem = rule ? ruleProblem(language, JSON.parse(pattern) as object) : patternProblem(language, pattern);
    if (problem) throw new InsightsError(rule ? 'BAD_RULE' : 'BAD_PATTERN', problem);
    this.query = rule ? (JSON.parse(pattern) as object) : pattern;
    this.napiName = LANGUAGES[language].napiName;
    // A rule may match without any word of its patterns (any, not…): no word is required of a blob.
    const words = rule ? [] : patternWords(pattern);
    this.words = words.map((w) => Buffer.from(w, 'utf8'));
    const longest = words.reduce((a, w) => (w.length > a.length ? w : a), '');
    this.grepNeedles = longest ? { needles: [longest], ignoreCase: false } : undefined;
    this.key = createHash('sha256').update(JSON.stringify([rule ? 's1-rule' : 's1', language, pattern])).digest('hex').slice(0, 32);
  }

  /** False when the blob certainly holds no match: a word of the pattern is missing. */
  mayMatch(buf: Buffer): boolean {
    for (const w of this.words) if (buf.indexOf(w) < 0) return false;
    return true;
  }

  countBlob(blob: BlobText): BlobCountOutcome {
    if (!this.mayMatch(blob.bytes)) return { counts: ZERO };
    return { counts: this.countRoot(this.root(blob)) };
  }

  /**
   * The same counts, the parse running on one of libuv's threads (parseAsync), so blobs parse
   * on every core while the main thread reads and counts others. One parse per blob and
   * language, shared by every structural query of the language, as in countBlob.
   */
  countAsync(blob: BlobText): BlobCounts | Promise<BlobCounts> {
    if (!this.mayMatch(blob.bytes)) return ZERO;
    const memoKey = `sg-async:${this.language}`;
    let parsed = blob.memo.get(memoKey) as Promise<SgRoot | undefined> | undefined;
    if (!parsed) {
      try {
        this.napi ??= napiFor(this.language);
        parsed = this.napi.parseAsync(this.napiName as never, blob.utf8).catch(() => undefined);
      } catch {
        parsed = Promise.resolve(undefined);
      }
      blob.memo.set(memoKey, parsed);
    }
    return parsed.then((root) => this.countRoot(root));
  }

  /** The blob's tree in this language, parsed once per blob and language; undefined if it cannot be parsed. */
  private root(blob: BlobText): SgRoot | undefined {
    const memoKey = `sg:${this.language}`;
    if (blob.memo.has(memoKey)) return blob.memo.get(memoKey) as SgRoot | undefined;
    let root: SgRoot | undefined;
    try {
      this.napi ??= napiFor(this.language);
      root = this.napi.parse(this.napiName as never, blob.utf8);
    } catch {
      // tree-sitter recovers from syntax errors; a blob it still cannot take counts zero rather than stop the run.
      root = undefined;
    }
    blob.memo.set(memoKey, root);
    return root;
  }

  /** Per line (0-based) of the blob, the matches that start on it. */
  matchStartLines(blob: BlobText): Map<number, number> {
    const out = new Map<number, number>();
    if (!this.mayMatch(blob.bytes)) return out;
    let nodes;
    try {
      nodes = this.root(blob)?.root().findAll(this.query as never) ?? [];
    } catch {
      return out;
    }
    for (const n of nodes) {
      const line = n.range().start.line;
      out.set(line, (out.get(line) ?? 0) + 1);
    }
    return out;
  }

  private countRoot(root: SgRoot | undefined): BlobCounts {
    if (!root) return ZERO;
    let nodes;
    try {
      nodes = root.root().findAll(this.query as never);
    } catch {
      return ZERO;
    }
    if (nodes.length === 0) return ZERO;
    const lines = new Set<number>();
    for (const n of nodes) lines.add(n.range().start.line);
    return { matches: nodes.length, lines: lines.size, files: 1 };
  }
}
