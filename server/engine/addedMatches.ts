// Which lines of a file added matches of a series between two commits: the lines `git diff`
// shows as added, each counted as the engine counts (Matcher.countBlob, the guarded worker for
// patterns V8 cannot run in linear time), so a developer sees exactly what to change. For a
// structural series, an added line is one where a match of the pattern in the head's file starts.
import type { SeriesSpec } from './api';
import { BlobText, Matcher, type BlobCounts, type CaptureCounts } from './countMatches';
import { InsightsError } from './errors';
import { runGit, runGitRaw } from './git';
import { GuardedCounter } from './guardedCount';
import { StructuralMatcher } from './structuralMatcher';

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
  /** Set for a structural series: matches are found in the whole file, not per line. */
  readonly structural: StructuralMatcher | undefined;

  constructor(
    private readonly spec: SeriesSpec,
    private readonly capture?: string,
  ) {
    // A structural pattern is no regex: the line matcher then only serves the interface.
    this.matcher = new Matcher({ query: spec.structural ? 'x' : spec.query, literal: spec.literal, ignoreCase: spec.ignoreCase, capture: !!spec.capture });
    this.structural = spec.structural ? new StructuralMatcher(spec.query, spec.structural.language, !!spec.structural.rule) : undefined;
  }

  /** Structural series: per 1-based line of the file, what a match starting there adds to the series. */
  structuralLines(file: Buffer): Map<number, number> {
    const out = new Map<number, number>();
    for (const [line, n] of this.structural!.matchStartLines(new BlobText(file))) out.set(line + 1, this.spec.count === 'matches' ? n : 1);
    return out;
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
  let structural: Map<number, number> | undefined;
  if (counter.structural) {
    const file = await runGitRaw(gitDir, ['cat-file', 'blob', `${head}:${path}`], { signal });
    structural = counter.structuralLines(file.code === 0 ? file.stdout : Buffer.alloc(0));
  }
  let next = 0;
  for (const raw of diff.split('\n')) {
    const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(raw);
    if (hunk) {
      next = Number(hunk[1]);
      continue;
    }
    if (next === 0 || !raw.startsWith('+')) continue; // before the first hunk: the header
    const text = raw.slice(1);
    const count = structural ? structural.get(next) ?? 0 : await counter.count(Buffer.from(text, 'utf8'));
    if (count > 0) out.push({ line: next, count, text: text.trim().slice(0, maxText) });
    next++;
  }
  return out;
}
