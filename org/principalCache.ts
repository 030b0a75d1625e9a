// Valid tokens' principals, remembered for a few seconds: a fleet of pushers sends the same
// token many times a second, and each lookup is a transaction of its own (five statements).
// Only valid tokens are remembered (a token just created works at once); a revoked one stops
// working within `ttlMs`. Keyed by the token's hash, so no token sits in memory as text longer
// than its request.
import { hashToken, type Principal } from './store';

export class PrincipalCache {
  private readonly entries = new Map<string, { principal: Principal; until: number }>();

  constructor(
    private readonly lookup: (token: string) => Promise<Principal | null>,
    private readonly ttlMs: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  async get(token: string): Promise<Principal | null> {
    if (this.ttlMs <= 0) return this.lookup(token);
    const key = hashToken(token).toString('base64');
    const hit = this.entries.get(key);
    if (hit && hit.until > this.now()) return hit.principal;
    const principal = await this.lookup(token);
    if (principal) {
      if (this.entries.size >= 10_000) this.entries.clear(); // bounded under a flood of tokens
      this.entries.set(key, { principal, until: this.now() + this.ttlMs });
    } else this.entries.delete(key);
    return principal;
  }
}
