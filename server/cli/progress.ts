// One self-rewriting progress line on stderr when it is a terminal; nothing when piped.
import type { Progress } from '../../protocol/insights';

export interface ProgressLineOptions {
  /** Default: stderr is a terminal. */
  enabled?: boolean;
  /** Milliseconds between redraws. Default 100; CODE_INSIGHTS_PROGRESS_MS overrides it (tests draw every update). */
  intervalMs?: number;
  now?: () => number;
  write?: (s: string) => void;
  /** The terminal's width: a longer line would wrap and the next redraw could not erase it. */
  columns?: () => number | undefined;
}

export class ProgressLine {
  private last = -Infinity;
  private shown = false;
  private readonly started: number;
  private readonly enabled: boolean;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly write: (s: string) => void;
  private readonly columns: () => number | undefined;

  constructor(o: ProgressLineOptions = {}) {
    this.enabled = o.enabled ?? !!process.stderr.isTTY;
    const fromEnv = Number(process.env.CODE_INSIGHTS_PROGRESS_MS);
    this.intervalMs = o.intervalMs ?? (process.env.CODE_INSIGHTS_PROGRESS_MS && fromEnv >= 0 ? fromEnv : 100);
    this.now = o.now ?? Date.now;
    this.write = o.write ?? ((s) => void process.stderr.write(s));
    this.columns = o.columns ?? (() => process.stderr.columns);
    this.started = this.now();
  }

  update(p: Progress): void {
    if (!this.enabled) return;
    if (p.phase === 'done') return this.clear();
    const now = this.now();
    if (now - this.last < this.intervalMs) return;
    this.last = now;
    let text = p.phase === 'discover' ? 'finding repositories' : `repos ${p.reposDone}/${p.reposTotal} · commits ${p.commitsDone}/${p.commitsTotal} · blobs ${p.blobsDone}/${p.blobsTotal}`;
    const elapsed = (now - this.started) / 1000;
    if (p.phase !== 'discover' && p.blobsTotal > 0 && p.blobsDone > 0 && elapsed > 1) {
      const rest = Math.max(0, (p.blobsTotal - p.blobsDone) / (p.blobsDone / elapsed));
      text += ` · ETA ${rest < 60 ? `${Math.ceil(rest)}s` : `${Math.ceil(rest / 60)}m`}`;
    }
    const width = this.columns();
    if (width && width > 1 && text.length >= width) text = `${text.slice(0, width - 2)}…`;
    this.write(`\r\x1b[2K${text}`);
    this.shown = true;
  }

  clear(): void {
    if (this.shown) this.write('\r\x1b[2K');
    this.shown = false;
  }
}
