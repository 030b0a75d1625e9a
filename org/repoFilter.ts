// `?repo=` and `?exclude=` filters: regular expressions in RE2 syntax, matched in Node by re2js
// (a pure-JS port of RE2) against the org's repository names, never by the database. RE2 matches
// in time linear in the name's length whatever the expression, so no filter can stall the
// service; PostgreSQL's `~` backtracks and PGlite does not honour statement_timeout, where one
// `^(.*)…\9…\1$` held the whole service for minutes. What RE2 cannot run in linear time
// (backreferences, lookarounds) is refused with a 400 that says why.
import { RE2JS } from 're2js';

/** A compiled filter: does a repository identity match (anywhere in it, like `RegExp.test`)? */
export interface RepoMatcher {
  test(identity: string): boolean;
}

export type CompiledFilter = { ok: true; matcher: RepoMatcher } | { ok: false; message: string };

function why(pattern: string, raw: string): string {
  if (/\\[1-9]/.test(pattern) && /invalid escape sequence: `\\[1-9]/.test(raw)) {
    return 'backreferences (\\1 … \\9) are not supported: filters are matched in linear time (RE2 syntax), which cannot express them';
  }
  if (/\(\?<?[=!]/.test(pattern) && /`\(\?[<=!]/.test(raw)) {
    return 'lookarounds ((?=…), (?!…), (?<=…), (?<!…)) are not supported: filters are matched in linear time (RE2 syntax), which cannot express them';
  }
  return `not a valid regular expression (RE2 syntax): ${raw.replace(/^error parsing regexp: /, '')}`;
}

export function compileRepoFilter(pattern: string): CompiledFilter {
  try {
    const re = RE2JS.compile(pattern);
    return { ok: true, matcher: { test: (s) => re.test(s) } };
  } catch (e) {
    return { ok: false, message: why(pattern, String((e as Error).message ?? e)) };
  }
}
