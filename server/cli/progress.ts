// One self-rewriting progress line on stderr when it is a terminal; nothing when piped.
import type { Progress } from '../../protocol/insights';

export class ProgressLine {
  private last = 0;
  private shown = false;
  private readonly started = Date.now();
  constructor(private readonly enabled = !!process.stderr.isTTY) {}

  update(p: Progress): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 100 && p.phase !== 'done') return;
    this.last = now;
    if (p.phase === 'done') return this.clear();
    let eta = '';
    const elapsed = (now - this.started) / 1000;
    if (p.blobsTotal > 0 && p.blobsDone > 0 && elapsed > 1) {
      const rate = p.blobsDone / elapsed;
      const rest = Math.max(0, (p.blobsTotal - p.blobsDone) / rate);
      eta = ` · ETA ${rest < 60 ? `${Math.ceil(rest)}s` : `${Math.ceil(rest / 60)}m`}`;
    }
    const text = `${p.phase === 'discover' ? 'finding repositories' : `repos ${p.reposDone}/${p.reposTotal} · commits ${p.commitsDone}/${p.commitsTotal} · blobs ${p.blobsDone}/${p.blobsTotal}`}${eta}`;
    process.stderr.write(`\r\x1b[2K${text}`);
    this.shown = true;
  }

  clear(): void {
    if (this.shown) process.stderr.write('\r\x1b[2K');
    this.shown = false;
  }
}
