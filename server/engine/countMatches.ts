// Counting one query over one blob: matches, lines and files at once, or captured values.
// Semantics: the query applies to each line (a match never spans a line break); `matches`
// counts non-overlapping non-empty matches, `lines` counts lines where the query matches
// (as `git grep -c`), `files` is 1 when any line matches.
import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { escapeRegExp } from '../../protocol/insights';
import { InsightsError } from './errors';

// A catastrophic pattern such as (a+)+$ makes V8 fall back to its linear-time engine after
// excessive backtracking instead of hanging: exact counts in bounded time.
setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
// Lets us ask V8 whether a pattern can run on that linear-time engine at all (the 'l' flag).
setFlagsFromString('--enable-experimental-regexp-engine');

export interface BlobCounts {
  matches: number;
  lines: number;
  files: number;
}

export type CaptureCounts = Map<string, number>;

export interface QuerySpec {
  query: string;
  literal: boolean;
  ignoreCase: boolean;
  /** Count per captured value of the first capture group. */
  capture?: boolean;
}

export const ZERO: BlobCounts = Object.freeze({ matches: 0, lines: 0, files: 0 }) as BlobCounts;

const META = /[\\^$.*+?()[\]{}|]/;
const OTHER_TERMINATORS = /[\r\u2028\u2029]/;
/** Whole-text counting slower than this (ns a character) goes line by line (Matcher.perLine). */
const SLOW_NS_PER_CHAR = 20;

/** The longest prefix of `source` that compiles: where a person should look for the mistake. */
function errorPosition(source: string, flags: string): number {
  for (let k = source.length - 1; k >= 0; k--) {
    try {
      new RegExp(source.slice(0, k), flags);
      return k;
    } catch {
      /* shorter */
    }
  }
  return 0;
}

export function compileRegExp(spec: QuerySpec, extraFlags = ''): RegExp {
  const source = spec.literal ? escapeRegExp(spec.query) : spec.query;
  const flags = (spec.ignoreCase ? 'i' : '') + extraFlags;
  try {
    return new RegExp(source, flags);
  } catch (e) {
    const pos = errorPosition(source, flags);
    const why = String((e as Error).message).replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
    throw new InsightsError(
      'BAD_REGEX',
      `invalid regular expression "${spec.query}" at position ${pos}: ${why}\n  ${spec.query}\n  ${' '.repeat(pos)}^`,
      { cause: e },
    );
  }
}

function canRunLinear(re: RegExp): boolean {
  try {
    new RegExp(re.source, re.flags.replace('g', '') + 'l');
    return true;
  } catch {
    return false;
  }
}

/**
 * The longest run of plain characters every match of `source` must contain, or undefined.
 * Conservative: only top-level characters count (nothing inside groups or classes), a
 * top-level alternation gives nothing, and a character made optional by ?, * or {0,…} ends
 * the run without joining it.
 */
export function requiredLiteral(source: string): string | undefined {
  let best = '';
  let run = '';
  let depth = 0;
  const end = () => {
    if (run.length > best.length) best = run;
    run = '';
  };
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    let lit: string | undefined;
    if (c === '\\') {
      const n = source[i + 1];
      i++;
      if (n === undefined) return undefined;
      if (/[A-Za-z0-9]/.test(n)) {
        // \b, \d, \x41, \u0041, \k<n>, backreferences…: not a plain character here.
        end();
        continue;
      }
      lit = n;
    } else if (c === '[') {
      end();
      // skip the class (a ] right after [ or [^ is a literal member)
      i++;
      if (source[i] === '^') i++;
      if (source[i] === ']') i++;
      while (i < source.length && source[i] !== ']') {
        if (source[i] === '\\') i++;
        i++;
      }
      continue;
    } else if (c === '(') {
      depth++;
      end();
      continue;
    } else if (c === ')') {
      depth--;
      end();
      continue;
    } else if (c === '|') {
      if (depth === 0) return undefined;
      continue;
    } else if ('.^$'.includes(c)) {
      end();
      continue;
    } else if (c === '?' || c === '*' || c === '+' || (c === '{' && /^\{\d+(,\d*)?\}/.test(source.slice(i)))) {
      // A quantifier applies to the last character of the run (or to a group or class): a
      // character that may occur zero times leaves the run; one that repeats ends it.
      const min = c === '{' ? Number(/^\{(\d+)/.exec(source.slice(i))![1]) : c === '+' ? 1 : 0;
      if (min === 0) run = run.slice(0, -1);
      end();
      if (c === '{') i = source.indexOf('}', i);
      if (source[i + 1] === '?') i++; // lazy
      continue;
    } else {
      lit = c;
    }
    if (depth > 0 || lit === '\n' || lit === '\r') {
      end();
      continue;
    }
    run += lit;
  }
  end();
  return best.length >= 2 ? best : undefined;
}

/**
 * True when every character `source` can match is ASCII: plain ASCII characters, \d, \w, \b,
 * ASCII escapes, classes of ASCII members (not negated), groups, alternation, quantifiers and
 * ^ $. Conservative: ., \s (Unicode spaces), negated classes, \B, \x, \u, \p, lookarounds and
 * backreferences give false. Such a pattern (without the u flag, even ignoring case: JavaScript
 * never folds a non-ASCII character to an ASCII one there) finds the same non-empty matches,
 * the same captures and the same lines with a match in a text decoded as Latin-1 as in the same
 * bytes decoded as UTF-8: ASCII bytes decode to themselves either way, and a run of non-ASCII
 * bytes is a run of non-word, non-ASCII characters in both, which no such pattern can enter.
 */
export function matchesAsciiOnly(source: string): boolean {
  const asciiEscape = (n: string | undefined) => n !== undefined && (n === 'd' || n === 'w' || 'tnrfv'.includes(n) || /^[!-/:-@[-`{-~]$/.test(n));
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c.charCodeAt(0) >= 0x80 || c === '.') return false;
    if (c === '\\') {
      const n = source[++i];
      if (!(asciiEscape(n) || n === 'b')) return false;
    } else if (c === '[') {
      if (source[i + 1] === '^') return false;
      for (i++; i < source.length && source[i] !== ']'; i++) {
        if (source[i].charCodeAt(0) >= 0x80) return false;
        if (source[i] === '\\' && !asciiEscape(source[++i])) return false;
      }
      if (i >= source.length) return false;
    } else if (c === '(' && source[i + 1] === '?') {
      // (?: and (?<name> only; (?= (?! (?<= (?<! look around
      if (source[i + 2] !== ':' && !(source[i + 2] === '<' && /[A-Za-z_$]/.test(source[i + 3] ?? ''))) return false;
    }
  }
  return true;
}

/** Number of capture groups a pattern defines. */
export function captureGroupCount(re: RegExp): number {
  return new RegExp(`${re.source}|`).exec('')!.length - 1;
}

/** Larger blobs cannot become one JavaScript string: the engine skips them whatever the size limit. */
export const MAX_TEXT_BLOB = 256 << 20;

/**
 * One blob's bytes and its decodings, each made at most once and shared by every query
 * counted over the blob.
 */
export class BlobText {
  private utf8Text: string | undefined;
  private latin1Text: string | undefined;
  /** What queries derive from the blob and share, e.g. its syntax tree per language (structural queries). */
  readonly memo = new Map<string, unknown>();

  constructor(readonly bytes: Buffer) {}

  /** UTF-8 with invalid bytes replaced: the text every query is defined over. */
  get utf8(): string {
    return (this.utf8Text ??= this.bytes.toString('utf8'));
  }

  /** One character per byte: cheaper to make and to search, and the same counts for ASCII-only patterns. */
  get latin1(): string {
    return (this.latin1Text ??= this.bytes.toString('latin1'));
  }
}

/** A query over a blob: its counts, or the text a guarded worker must count (see Matcher.linear). */
export type BlobCountOutcome = { counts: BlobCounts | CaptureCounts } | { guarded: string };

/**
 * What the engine needs of a query to count it per blob and cache the counts: a regex Matcher,
 * or a StructuralMatcher (structuralMatcher.ts).
 */
export interface BlobMatcher {
  /** Identifies what a blob's result depends on: same key, same per-blob result. */
  readonly key: string;
  readonly capture: boolean;
  /** False: counted in a guarded worker under a time budget (regexes only). */
  readonly linear: boolean;
  readonly spec: QuerySpec;
  readonly exactNeedle: string | undefined;
  readonly grepNeedles: { needles: string[]; ignoreCase: boolean } | undefined;
  countBlob(blob: BlobText): BlobCountOutcome;
  /**
   * Counts off the main thread where the matcher can (structural queries parse on libuv's
   * threads): the counts, or a promise of them. The engine's blob pass prefers it to countBlob.
   */
  countAsync?(blob: BlobText): BlobCounts | Promise<BlobCounts>;
}

export class Matcher implements BlobMatcher {
  /** Identifies what a blob's result depends on: same key, same per-blob result. */
  readonly key: string;
  readonly capture: boolean;
  private readonly lineRe: RegExp;
  private readonly wholeRe: RegExp | undefined;
  private readonly wholeGlobal: RegExp | undefined;
  /** The pattern has ^ or $, whose meaning differs per line when a text holds \r, U+2028 or U+2029. */
  private readonly anchored: boolean;
  /**
   * Counting line by line from now on. V8 counts backtracks per exec and past 50,000 finishes
   * that exec on its linear-time engine, which is far slower; over a whole text the backtracks
   * of a pattern that is merely quadratic on long lines ([a-z]+_[a-z]+\( ) add up across the
   * file and every exec falls back, while line by line none does (git/git's year: 12.2 s whole,
   * 5.2 s by line). A pattern slower than SLOW_NS_PER_CHAR over its first MiB switches; both
   * ways give the same counts (the property test), only the time differs.
   */
  private perLine = false;
  private wholeMs = 0;
  private wholeChars = 0;
  /** UTF-8 byte strings of which at least one must occur for any match (literal queries). */
  private readonly needles: Buffer[] | undefined;
  private readonly byteNeedles: Buffer[] | undefined;
  /** A single plain ASCII needle (case-sensitive, no line break): git grep can count it exactly. */
  readonly exactNeedle: string | undefined;
  /**
   * Literal strings of which any match must contain one (to let `git grep -F` rule blobs
   * out), with whether to compare ASCII letters case-insensitively; undefined if none.
   */
  readonly grepNeedles: { needles: string[]; ignoreCase: boolean } | undefined;

  /**
   * False for patterns V8's linear-time engine cannot run (backreferences, lookarounds): those
   * can backtrack without bound, so the engine counts them under a time budget.
   */
  readonly linear: boolean;

  /** Every character the pattern can match is ASCII: it may count over a Latin-1 decoding (see matchesAsciiOnly). */
  readonly asciiOnly: boolean;

  constructor(readonly spec: QuerySpec) {
    this.capture = !!spec.capture;
    this.lineRe = compileRegExp(spec, 'g');
    this.linear = canRunLinear(this.lineRe);
    this.asciiOnly = !this.lineRe.flags.includes('u') && matchesAsciiOnly(this.lineRe.source);
    if (this.capture && captureGroupCount(this.lineRe) < 1) {
      throw new InsightsError('NO_CAPTURE_GROUP', `capture query "${spec.query}" has no capture group; wrap the part to group by in parentheses, e.g. "version: (\\S+)"`);
    }
    // Whole-text pre-test with the m flag: any per-line match is also a whole-text match, so
    // a blob with none is skipped without splitting lines. Lookarounds can see across line
    // breaks, which breaks that argument, so such patterns skip the pre-test.
    const source = this.lineRe.source;
    this.wholeRe = /\(\?<?[=!]/.test(source) ? undefined : new RegExp(source, this.lineRe.flags.replace('g', '') + 'm');
    this.wholeGlobal = this.wholeRe && new RegExp(source, this.lineRe.flags + 'm');
    this.anchored = /[\^$]/.test(source);
    // A regex that is not plain text may still require a literal run (\bTODO\b needs TODO).
    const required = spec.literal ? undefined : requiredLiteral(spec.query);
    if (!spec.ignoreCase) {
      const alts = spec.literal ? [spec.query] : spec.query.split('|');
      if (alts.every((a) => a.length > 0 && (spec.literal || !META.test(a)))) this.needles = alts.map((a) => Buffer.from(a, 'utf8'));
      else if (required) this.needles = [Buffer.from(required, 'utf8')];
    }
    {
      const alts = spec.literal ? [spec.query] : spec.query.split('|');
      const plain = alts.every((a) => a.length > 0 && !/[\n\0]/.test(a) && (spec.literal || !META.test(a)));
      // Case-insensitive JavaScript matching (without the u flag) never maps a non-ASCII
      // character to an ASCII one, so git's ASCII case folding finds every candidate.
      // eslint-disable-next-line no-control-regex
      const ascii = alts.every((a) => /^[\x01-\x7f]*$/.test(a));
      // eslint-disable-next-line no-control-regex
      const requiredOk = required !== undefined && (!spec.ignoreCase || /^[\x01-\x7f]*$/.test(required));
      this.grepNeedles =
        plain && (!spec.ignoreCase || ascii)
          ? { needles: alts, ignoreCase: spec.ignoreCase }
          : requiredOk
            ? { needles: [required!], ignoreCase: spec.ignoreCase }
            : undefined;
    }
    // ASCII needles can be counted on the raw bytes: an ASCII byte always decodes to itself,
    // and a needle without a line break cannot span lines.
    const pureLiteral = spec.literal || spec.query.split('|').every((a) => a.length > 0 && !META.test(a));
    if (pureLiteral && this.needles && !this.capture && this.needles.every((n) => n.every((b) => b < 0x80 && b !== 10 && b !== 13))) {
      this.byteNeedles = this.needles;
      if (this.needles.length === 1) this.exactNeedle = this.needles[0].toString('latin1');
    }
    this.key = createHash('sha256')
      .update(JSON.stringify(['q1', spec.query, spec.literal, spec.ignoreCase, this.capture]))
      .digest('hex')
      .slice(0, 32);
  }

  /**
   * Counts one non-binary blob by the cheapest path that gives the exact counts: none when
   * the needles are absent, the raw bytes for ASCII literals, the Latin-1 decoding for
   * patterns that match only ASCII, the UTF-8 decoding otherwise. A pattern V8 cannot run in
   * linear time is not counted here: its text goes to a GuardedCounter. The engine and the
   * drill-down both count through this, so a file's drill-down count is its chart count.
   */
  countBlob(blob: BlobText): BlobCountOutcome {
    if (!this.mayMatch(blob.bytes)) return { counts: this.capture ? new Map() : ZERO };
    const fromBytes = this.countBytes(blob.bytes);
    if (fromBytes) return { counts: fromBytes };
    if (!this.linear) return { guarded: blob.utf8 };
    return { counts: this.count(this.asciiOnly ? blob.latin1 : blob.utf8) };
  }

  /** False when the blob certainly holds no match (decides without decoding). */
  mayMatch(buf: Buffer): boolean {
    if (!this.needles) return true;
    for (const n of this.needles) if (buf.indexOf(n) >= 0) return true;
    return false;
  }

  /** Counts straight from the bytes when the query allows it (no decoding); else undefined. */
  countBytes(buf: Buffer): BlobCounts | undefined {
    const needles = this.byteNeedles;
    if (!needles) return undefined;
    // Leftmost match; at the same position the first alternative wins (as the regex would).
    const next = needles.map((n) => buf.indexOf(n));
    let matches = 0;
    let lines = 0;
    let lineEnd = -1;
    for (;;) {
      let best = -1;
      let at = Infinity;
      for (let i = 0; i < next.length; i++) if (next[i] >= 0 && next[i] < at) { at = next[i]; best = i; }
      if (best < 0) break;
      matches++;
      if (at > lineEnd) {
        lines++;
        lineEnd = buf.indexOf(10, at);
        if (lineEnd < 0) lineEnd = buf.length;
      }
      const after = at + needles[best].length;
      for (let i = 0; i < next.length; i++) if (next[i] >= 0 && next[i] < after) next[i] = buf.indexOf(needles[i], after);
    }
    return { matches, lines, files: lines > 0 ? 1 : 0 };
  }

  /**
   * Counts over decoded text: UTF-8 with invalid bytes replaced, or Latin-1 (one character per
   * byte, cheaper to make and to search) when `asciiOnly`, which gives the same counts.
   */
  count(text: string): BlobCounts | CaptureCounts {
    if (!this.perLine) {
      const started = performance.now();
      const r = this.countWholeText(text);
      this.wholeMs += performance.now() - started;
      this.wholeChars += text.length;
      // Measured after the first MiB of text: 1 ns a character is a fast pattern, the linear
      // fallback runs at ~80 (see `perLine`).
      if (this.wholeChars >= 1 << 20 && (this.wholeMs * 1e6) / this.wholeChars > SLOW_NS_PER_CHAR) this.perLine = true;
      if (r) return r;
    }
    return this.capture ? this.countCaptures(text) : this.countLines(text);
  }

  /** The whole-text passes, when they may be used; undefined when the per-line scan must decide. */
  private countWholeText(text: string): BlobCounts | CaptureCounts | undefined {
    if (this.wholeRe && !this.wholeRe.test(text)) return this.capture ? new Map() : ZERO;
    if (this.wholeGlobal && (!this.anchored || !OTHER_TERMINATORS.test(text))) return this.countWhole(text);
    return undefined;
  }

  /**
   * One global pass over the whole text with the m flag. Without lookarounds, and where \r,
   * U+2028 and U+2029 cannot make ^/$ differ, a match that holds no line break is exactly
   * the match the per-line scan finds. Returns undefined if some match spans a line break.
   */
  private countWhole(text: string): BlobCounts | CaptureCounts | undefined {
    const re = this.wholeGlobal!;
    const n = text.length;
    if (n === 0) return this.capture ? new Map() : ZERO;
    // The empty segment after a final newline is not a line.
    const limit = n > 0 && text.charCodeAt(n - 1) === 10 ? n - 1 : n;
    re.lastIndex = 0;
    let matches = 0;
    let lines = 0;
    let lineEnd = -1;
    const caps: CaptureCounts | undefined = this.capture ? new Map() : undefined;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      const at = m.index;
      const s = m[0];
      if (at > limit) break;
      if (s.length === 0) {
        re.lastIndex = at + 1;
      } else {
        if (s.indexOf('\n') >= 0) return undefined;
        matches++;
        if (caps) {
          const v = m[1];
          if (v !== undefined) caps.set(v, (caps.get(v) ?? 0) + 1);
        }
      }
      if (at > lineEnd) {
        lines++;
        lineEnd = text.indexOf('\n', at);
        if (lineEnd < 0) lineEnd = n;
      }
      if (re.lastIndex > n) break;
    }
    if (caps) return caps;
    return { matches, lines, files: lines > 0 ? 1 : 0 };
  }

  private forEachLine(text: string, fn: (line: string) => void): void {
    const n = text.length;
    let start = 0;
    while (start < n) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = n;
      fn(text.slice(start, end));
      start = end + 1;
    }
  }

  private countLines(text: string): BlobCounts {
    const re = this.lineRe;
    let matches = 0;
    let lines = 0;
    this.forEachLine(text, (line) => {
      re.lastIndex = 0;
      let any = false;
      let m: RegExpExecArray | null;
      while ((m = re.exec(line)) !== null) {
        any = true;
        if (m[0].length === 0) {
          if (re.lastIndex >= line.length) break;
          re.lastIndex++;
        } else matches++;
      }
      if (any) lines++;
    });
    return { matches, lines, files: lines > 0 ? 1 : 0 };
  }

  private countCaptures(text: string): CaptureCounts {
    const re = this.lineRe;
    const out: CaptureCounts = new Map();
    this.forEachLine(text, (line) => {
      re.lastIndex = 0;
      let m: RegExpExecArray | null;
      while ((m = re.exec(line)) !== null) {
        if (m[0].length === 0) {
          if (re.lastIndex >= line.length) break;
          re.lastIndex++;
          continue;
        }
        const v = m[1];
        if (v !== undefined) out.set(v, (out.get(v) ?? 0) + 1);
      }
    });
    return out;
  }
}
