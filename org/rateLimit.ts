// A per-key token bucket (in memory, per process): `burst` requests at once, refilled at `perSecond`.
// Enough to stop one runaway client; a fleet of service processes would need a shared store.
export interface RateLimitOptions {
  perSecond: number;
  burst: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly opts: RateLimitOptions,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** 0 when the request may go ahead, else the seconds to wait before the next one will. */
  take(key: string): number {
    const t = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size > 100_000) this.buckets.clear(); // bounded memory under a flood of keys
      b = { tokens: this.opts.burst, at: t };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(this.opts.burst, b.tokens + ((t - b.at) / 1000) * this.opts.perSecond);
    b.at = t;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.opts.perSecond));
  }
}
