// Counting one blob read into Node: binary or not, its lines when asked, and every matcher's
// counts, by bytes where the matcher can, else over its text; patterns that may backtrack
// without bound are counted later, in their guarded worker.
import { BlobText, ZERO, type BlobCounts, type CaptureCounts, type BlobMatcher } from './countMatches';
import { countLines, isBinary } from './countLines';
import type { GuardedCounter } from './guardedCount';
import type { BlobState } from './units';

export interface Counted {
  st: BlobState;
  /** Matchers counted in their guarded worker: `st.counts[i]` is set when `guarded` settles. */
  later: number[];
  guarded: Promise<BlobCounts | CaptureCounts | undefined>[];
}

export function countBlob(buf: Buffer, size: number, matchers: BlobMatcher[], guards: (GuardedCounter | undefined)[], needLines: boolean): Counted {
  const binary = isBinary(buf);
  const st: BlobState = { size, binary };
  if (needLines && !binary) st.lines = countLines(buf);
  const later: number[] = [];
  const guarded: Counted['guarded'] = [];
  if (!binary && matchers.length) {
    // One decoding per blob, shared by every query; each query counts by Matcher.countBlob,
    // the same path the drill-down takes (bytes, Latin-1 for ASCII-only patterns, UTF-8).
    const blob = new BlobText(buf);
    st.counts = matchers.map((m, i) => {
      if (m.countAsync) {
        const c = m.countAsync(blob);
        if (!(c instanceof Promise)) return c;
        // Counted on another thread (a structural query's parse): set when it settles.
        later.push(i);
        guarded.push(
          c.then((r) => {
            st.counts![i] = r;
            return r;
          }),
        );
        return ZERO;
      }
      const outcome = m.countBlob(blob);
      if ('counts' in outcome) return outcome.counts;
      // Unbounded backtracking is possible: count in the guarded worker, under a time budget.
      const none = m.capture ? new Map() : ZERO;
      later.push(i);
      guarded.push(
        guards[i]!.count(outcome.guarded).then((r) => {
          st.counts![i] = r ?? none;
          return r;
        }),
      );
      return none;
    });
  }
  return { st, later, guarded };
}
