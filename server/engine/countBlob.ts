// Counting one blob read into Node: binary or not, its lines when asked, and every matcher's
// counts, by bytes where the matcher can, else over its text; patterns that may backtrack
// without bound are counted later, in their guarded worker.
import { ZERO, type BlobCounts, type CaptureCounts, type Matcher } from './countMatches';
import { countLines, isBinary } from './countLines';
import type { GuardedCounter } from './guardedCount';
import type { BlobState } from './units';

export interface Counted {
  st: BlobState;
  /** Matchers counted in their guarded worker: `st.counts[i]` is set when `guarded` settles. */
  later: number[];
  guarded: Promise<BlobCounts | CaptureCounts | undefined>[];
}

export function countBlob(buf: Buffer, size: number, matchers: Matcher[], guards: (GuardedCounter | undefined)[], needLines: boolean): Counted {
  const binary = isBinary(buf);
  const st: BlobState = { size, binary };
  if (needLines && !binary) st.lines = countLines(buf);
  const later: number[] = [];
  const guarded: Counted['guarded'] = [];
  if (!binary && matchers.length) {
    let text: string | undefined;
    let latin1: string | undefined;
    st.counts = matchers.map((m, i) => {
      const none = m.capture ? new Map() : ZERO;
      if (!m.mayMatch(buf)) return none;
      const fromBytes = m.countBytes(buf);
      if (fromBytes) return fromBytes;
      // A pattern that can match only ASCII counts the same over Latin-1 (countMatches.ts).
      if (m.linear && m.asciiOnly) return m.count((latin1 ??= buf.toString('latin1')));
      text ??= buf.toString('utf8');
      if (m.linear) return m.count(text);
      // Unbounded backtracking is possible: count in the guarded worker, under a time budget.
      later.push(i);
      guarded.push(
        guards[i]!.count(text).then((r) => {
          st.counts![i] = r ?? none;
          return r;
        }),
      );
      return none;
    });
  }
  return { st, later, guarded };
}
