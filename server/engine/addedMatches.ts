// Which lines of a file added matches of a series between two commits: the lines `git diff`
// shows as added, each counted as the engine counts (Matcher.countBlob, the guarded worker for
// patterns V8 cannot run in linear time), so a developer sees exactly what to change.
import type { SeriesSpec } from './api';
import { BlobText, Matcher, type BlobCounts, type CaptureCounts } from './countMatches';
import { InsightsError } from './errors';
import { runGit } from './git';
import { GuardedCounter } from './guardedCount';

export interface AddedLine {
  line: number;
  /** What the line adds to the series: matches, or 1 for `lines`/`files` counting. */
  count: number;
  text: string;
}

/** Counts lines of one series; one per check, closed after. */
export class LineCounter {
  private readonly matcher: Matcher;
  private guard: GuardedCounter | undefined;

  constructor(
    private readonly spec: SeriesSpec,
    private readonly capture?: string,
  ) {
    this.matcher = new Matcher({ query: spec.query, literal: spec.literal, ignoreCase: spec.ignoreCase, capture: !!spec.capture });
  }

  private value(c: BlobCounts | CaptureCounts): number {
    if (c instanceof Map) return this.capture === undefined ? 0 : c.get(this.capture) ?? 0;
    return this.spec.count === 'matches' ? c.matches : c.lines;
  }

  async count(line: Buffer): Promise<number> {
    const outcome = this.matcher.countBlob(new BlobText(line));
    if ('counts' in outcome) return this.value(outcome.counts);
    const guard = (this.guard ??= new GuardedCounter(this.matcher.spec));
    const r = await guard.count(outcome.guarded);
    if (!r) throw new InsightsError('REGEX_BUDGET', guard.failed ?? `the query "${this.spec.query}" could not be counted`);
    return this.value(r);
  }

  close(): void {
    this.guard?.close();
  }
}

/** The lines of `path` in `head` that `git diff base head` shows as added and that count for the series. */
export async function addedMatches(gitDir: string, base: string, head: string, path: string, counter: LineCounter, maxText: number, signal?: AbortSignal): Promise<AddedLine[]> {
  const diff = await runGit(gitDir, ['diff', '--no-color', '--no-ext-diff', '--no-textconv', '--no-renames', '-U0', base, head, '--', `:(literal)${path}`], {
    signal,
    what: 'git diff',
  });
  const out: AddedLine[] = [];
  let next = 0;
  for (const raw of diff.split('\n')) {
    const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(raw);
    if (hunk) {
      next = Number(hunk[1]);
      continue;
    }
    if (next === 0 || !raw.startsWith('+')) continue; // before the first hunk: the header
    const text = raw.slice(1);
    const count = await counter.count(Buffer.from(text, 'utf8'));
    if (count > 0) out.push({ line: next, count, text: text.trim().slice(0, maxText) });
    next++;
  }
  return out;
}
