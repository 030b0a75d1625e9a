// The matcher's fast whole-text pass must agree with the plain per-line definition on every
// input; this property test compares both over random texts and patterns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { escapeRegExp } from '../../protocol/insights';
import { BlobText, Matcher, compileRegExp, matchesAsciiOnly, requiredLiteral, type BlobCounts } from '../../server/engine/countMatches';

/** The definition, written as plainly as possible: split on \n, scan each line. */
function reference(query: string, text: string, flags = ''): BlobCounts {
  const re = new RegExp(query, flags + 'g');
  const lines = text.split('\n');
  if (text.endsWith('\n')) lines.pop();
  if (text === '') lines.length = 0;
  let matches = 0;
  let hit = 0;
  for (const line of lines) {
    let any = false;
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(line))) {
      any = true;
      if (m[0] === '') {
        if (re.lastIndex >= line.length) break;
        re.lastIndex++;
      } else matches++;
    }
    if (any) hit++;
  }
  return { matches, lines: hit, files: hit ? 1 : 0 };
}

const PATTERNS = ['a', 'ab', 'a+', 'a*', '^a', 'a$', '^$', '\\s+', '[^b]+', 'a\\s*b', '\\bab\\b', 'x|a.', '(a|b)\\1', '.', 'b\\s', '(?<=a)b', 'a(?=\\n)', '[\\s\\S]{2}', '$', '^'];

test('whole-text counting equals the per-line definition (property)', () => {
  fc.assert(
    fc.property(fc.constantFrom(...PATTERNS), fc.string({ unit: fc.constantFrom('a', 'b', ' ', '\n', '\r', 'é', '\u2028') , maxLength: 40 }), (q, text) => {
      const got = new Matcher({ query: q, literal: false, ignoreCase: false }).count(text);
      assert.deepEqual(got, reference(q, text), `pattern ${JSON.stringify(q)} on ${JSON.stringify(text)}`);
    }),
    { numRuns: 3000 },
  );
});

test('line-by-line counting, which a matcher switches to when whole-text counting is slow, equals the definition (property)', () => {
  fc.assert(
    fc.property(fc.constantFrom(...PATTERNS), fc.boolean(), fc.string({ unit: fc.constantFrom('a', 'b', ' ', '\n', '\r', 'é', '\u2028'), maxLength: 40 }), (q, capture, text) => {
      if (capture && !/\((?!\?)/.test(q)) return; // no capture group
      const whole = new Matcher({ query: q, literal: false, ignoreCase: false, capture });
      const byLine = new Matcher({ query: q, literal: false, ignoreCase: false, capture });
      // The switch is made on measured speed, which a test cannot arrange: set it directly.
      (byLine as unknown as { perLine: boolean }).perLine = true;
      assert.deepEqual(byLine.count(text), whole.count(text), `pattern ${JSON.stringify(q)} (capture: ${capture}) on ${JSON.stringify(text)}`);
      if (!capture) assert.deepEqual(byLine.count(text), reference(q, text));
    }),
    { numRuns: 3000 },
  );
});

test('which patterns can match only ASCII characters (and so may count over a Latin-1 decoding)', () => {
  for (const q of ['TODO', '[A-Z]{4,}_[A-Z]{3,}', '\\bfoo\\(', '"lodash": "\\^?(\\d+)', '(?:a|b)+?', '(?<v>\\d+)\\.x', '[\\w-]+', '^\\t*$', 'a{2,3}|[0-9a-f]', '\\[\\]\\{\\}']) {
    assert.equal(matchesAsciiOnly(q), true, q);
  }
  for (const q of ['.', 'a.b', '\\s+', '[\\s]', '[^"]*', 'é', '[à-ü]', '\\W', '\\D', '\\S', '\\Bx', '\\x41', '\\u0041', '(?=x)', '(?!x)', '(?<=x)y', '(?<!x)y', '(a)\\1', '\\k<v>', '\\p{L}', '[\\b]', '\\0', '\\cA', 'ab\\', '[ab']) {
    assert.equal(matchesAsciiOnly(q), false, q);
  }
  assert.equal(new Matcher({ query: 'x.y', literal: true, ignoreCase: false }).asciiOnly, true, 'a literal is escaped: its dot is a dot');
  assert.equal(new Matcher({ query: 'café', literal: true, ignoreCase: false }).asciiOnly, false);
});

test('an ASCII-only pattern counts the same over the Latin-1 and the UTF-8 decoding of any bytes (property)', () => {
  // Multi-byte characters, U+2028 (E2 80 A8), U+00A0 (C2 A0), invalid bytes, CR and LF.
  const pieces = [[0x61], [0x62], [0x5f], [0x20], [0x0a], [0x0d], [0x41], [0x31], [0xc3, 0xa9], [0xe2, 0x80, 0xa8], [0xc2, 0xa0], [0xff], [0xe2, 0x82, 0xac], [0xc3]];
  const patterns = ['a', 'ab', 'a+', 'a*', '^a', 'a$', '^$', '$', '\\bab\\b', '\\b', '[a-z]+', '\\w+', '\\d', '(a|b)+', 'a\\r?$', '[A-Z_]{2,}', '(\\w)b', '^(a*)$', 'A'];
  for (const q of patterns) assert.equal(matchesAsciiOnly(q), true, q);
  fc.assert(
    fc.property(
      fc.constantFrom(...patterns),
      fc.boolean(),
      fc.boolean(),
      fc.array(fc.constantFrom(...pieces), { maxLength: 30 }).map((ps) => Buffer.from(ps.flat())),
      (q, ignoreCase, capture, buf) => {
        if (capture && !q.includes('(')) return;
        const m = new Matcher({ query: q, literal: false, ignoreCase, capture });
        assert.ok(m.asciiOnly);
        assert.deepEqual(m.count(buf.toString('latin1')), m.count(buf.toString('utf8')), `${q} (i: ${ignoreCase}, capture: ${capture}) on ${buf.toString('hex')}`);
      },
    ),
    { numRuns: 5000 },
  );
});

test('countBlob picks its path (bytes, Latin-1, UTF-8, guarded) and counts as the UTF-8 text does', () => {
  const blob = new BlobText(Buffer.from('café TODO(zoë) TODO(ab)\n€ TODO TODO\n'));
  const utf8 = blob.utf8;
  for (const spec of [
    { query: 'TODO', literal: true, ignoreCase: false },
    { query: 'TODO\\(\\w+\\)', literal: false, ignoreCase: false },
    { query: 'TODO\\((\\w+)\\)', literal: false, ignoreCase: false, capture: true },
    { query: 'é|€', literal: false, ignoreCase: false },
    { query: 'absent', literal: false, ignoreCase: false },
  ]) {
    const m = new Matcher(spec);
    assert.deepEqual(m.countBlob(blob), { counts: m.count(utf8) }, spec.query);
  }
  // A lookahead cannot run on V8's linear engine (nor, in this V8, a case-insensitive pattern):
  // the UTF-8 text goes to the guarded worker.
  assert.deepEqual(new Matcher({ query: 'TODO(?!\\()', literal: false, ignoreCase: false }).countBlob(blob), { guarded: utf8 });
});

test('counting literal alternatives on raw bytes equals counting the decoded text (property)', () => {
  const queries = ['a', 'ab', 'ba|ab', 'ab|a', 'b|ab|a', 'aa', 'a b'];
  fc.assert(
    fc.property(fc.constantFrom(...queries), fc.boolean(), fc.uint8Array({ maxLength: 60 }).map((u) => Buffer.from(u.map((x) => [0x61, 0x62, 0x20, 0x0a, 0x0d, 0xc3, 0xa9, 0xff][x % 8]))), (q, literal, buf) => {
      const m = new Matcher({ query: q, literal, ignoreCase: false });
      const viaBytes = m.countBytes(buf);
      assert.ok(viaBytes, 'ASCII literal queries count on bytes');
      assert.deepEqual(viaBytes, new Matcher({ query: `(?:${literal ? q.replace(/\|/g, '\\|') : q})`, literal: false, ignoreCase: false }).count(buf.toString('utf8')));
    }),
    { numRuns: 3000 },
  );
});

test('a required literal is in every text the pattern matches (property)', () => {
  const patterns = ['\\bab\\b', 'ab+a', 'a?bab', 'ba*b', '(ab)+ba', '[ab]aba', 'ab{0,2}ba', 'ab{2}a', 'a.ba', 'ab\\sba', 'ab(?=a)', 'aab|b', 'ab\\(', 'b{1,}ab', 'ab*?ba'];
  fc.assert(
    fc.property(fc.constantFrom(...patterns), fc.string({ unit: fc.constantFrom('a', 'b', ' ', '(', '\n'), maxLength: 24 }), (q, text) => {
      const lit = requiredLiteral(q);
      if (lit === undefined) return;
      const matches = text.split('\n').some((line) => new RegExp(q).test(line));
      if (matches) assert.ok(text.includes(lit), `${q} matched ${JSON.stringify(text)} without ${JSON.stringify(lit)}`);
    }),
    { numRuns: 4000 },
  );
  assert.equal(requiredLiteral('\\bTODO\\b'), 'TODO');
  assert.equal(requiredLiteral('a|b'), undefined);
});

test('literal queries escape regex characters and the byte pre-test never hides a match', () => {
  const m = new Matcher({ query: 'a.b(', literal: true, ignoreCase: false });
  assert.deepEqual(m.count('a.b( axb( a.b(\n'), { matches: 2, lines: 1, files: 1 });
  assert.equal(m.mayMatch(Buffer.from('xx a.b( yy')), true);
  assert.equal(m.mayMatch(Buffer.from('xx axb( yy')), false);
  const ci = new Matcher({ query: 'todo', literal: true, ignoreCase: true });
  assert.equal(ci.mayMatch(Buffer.from('TODO')), true);
  assert.deepEqual(ci.count('TODO ToDo\n'), { matches: 2, lines: 1, files: 1 });
});

test('capture counts per captured value', () => {
  const m = new Matcher({ query: 'v(\\d+)', literal: false, ignoreCase: false, capture: true });
  assert.deepEqual([...(m.count('v1 v2 v1\nv3\n') as Map<string, number>)].sort(), [['1', 2], ['2', 1], ['3', 1]]);
});

test('an invalid regex names the query and the position', () => {
  assert.throws(() => compileRegExp({ query: 'foo(bar', literal: false, ignoreCase: false }), (e: Error) => {
    assert.match(e.message, /invalid regular expression "foo\(bar" at position 3: Unterminated group/);
    return true;
  });
  assert.throws(() => new Matcher({ query: 'abc', literal: false, ignoreCase: false, capture: true }), /has no capture group/);
});

test('escapeRegExp: a literal with every special character matches exactly itself, with or without the u flag', () => {
  const specials = '\\^$.*+?()[]{}|/-';
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...specials.split(''), 'a', 'é', ' '), { maxLength: 20 }).map((cs) => cs.join('')), (text) => {
      for (const flags of ['', 'u']) {
        const re = new RegExp(`^${escapeRegExp(text)}$`, flags);
        assert.ok(re.test(text), `${text} /${flags}`);
        assert.equal(re.test(`${text}x`), false);
      }
    }),
    { numRuns: 2000 },
  );
  // A literal query counts its text, special characters and all.
  const m = new Matcher({ query: 'a-b/(c)?', literal: true, ignoreCase: false });
  assert.deepEqual(m.count('a-b/(c)? and a-b/(c)?\nab/c\n'), { matches: 2, lines: 1, files: 1 });
});
