// A blob's facts and per-matcher counts as the store keeps them: read back whole or not at all.
import { type BlobCounts, type CaptureCounts, type BlobMatcher } from './countMatches';
import type { InsightsStore } from './store';
import type { BlobState } from './units';

export function countsToString(c: BlobCounts | CaptureCounts): string {
  return c instanceof Map ? JSON.stringify([...c]) : `${c.matches},${c.lines},${c.files}`;
}

function countsFromString(s: string, capture: boolean): BlobCounts | CaptureCounts {
  if (capture) return new Map(JSON.parse(s) as [string, number][]);
  const [matches, lines, files] = s.split(',').map(Number);
  return { matches, lines, files };
}

/** What the store knows of a blob, if it knows all this run needs: its lines and every matcher's counts. */
export function blobFromStore(store: InsightsStore, oid: string, matchers: BlobMatcher[], needLines: boolean): BlobState | undefined {
  const f = store.getBlob(oid);
  if (!f || (needLines && !f.binary && f.lines === undefined)) return undefined;
  const st: BlobState = { size: f.size, binary: f.binary, lines: f.lines };
  if (!f.binary && matchers.length) {
    const counts: (BlobCounts | CaptureCounts)[] = [];
    for (const m of matchers) {
      const s = store.getCount(m.key, oid);
      if (s === undefined) return undefined;
      counts.push(countsFromString(s, m.capture));
    }
    st.counts = counts;
  }
  return st;
}

/** Keeps a blob's facts and its counts (all but the matchers in `later`, whose counts come later). */
export function putBlobCounts(store: InsightsStore, oid: string, st: BlobState, matchers: BlobMatcher[], later: number[] = []): void {
  store.putBlob(oid, { size: st.size, binary: st.binary, lines: st.lines });
  if (!st.counts) return;
  matchers.forEach((m, i) => {
    if (!later.includes(i)) store.putCount(m.key, oid, countsToString(st.counts![i]));
  });
}
