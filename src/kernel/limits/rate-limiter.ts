/** One limit to respect: at most `limit` hits of `key` within any `windowMs`. */
export interface RateRule {
  /** The limit's name (`identity.otp.ip`); keys of different rules never collide. */
  name: string;
  key: string;
  limit: number;
  windowMs: number;
}

/**
 * Sliding-window rate limits shared by whoever holds the same limiter: one process (memory) or
 * every process of a deployment (Redis, when `REDIS_URL` is set).
 */
export interface RateLimiter {
  readonly kind: 'memory' | 'redis';
  /**
   * Counts one hit on every rule when none is over its limit and answers 0; otherwise counts
   * nothing (a refused request does not push the window out) and answers the seconds to wait.
   * `now` is injectable so tests move time instead of waiting.
   */
  take(rules: readonly RateRule[], now?: number): Promise<number>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * A sliding-window log per key in this process. Memory stays bounded: a key's old hits are dropped
 * when it is touched, idle keys are swept now and then, and past `maxKeys` the least recent go.
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly kind = 'memory';
  private readonly hits = new Map<string, number[]>();
  private calls = 0;
  private longestWindow = 0;

  constructor(private readonly maxKeys = 100_000) {}

  async take(rules: readonly RateRule[], now = Date.now()): Promise<number> {
    return this.takeNow(rules, now);
  }

  /** The synchronous core of `take`. */
  takeNow(rules: readonly RateRule[], now = Date.now()): number {
    let wait = 0;
    for (const rule of rules) {
      const live = this.live(rule, now);
      if (live.length < rule.limit) continue;
      const oldest = live[live.length - rule.limit]!;
      wait = Math.max(wait, 1, Math.ceil((oldest + rule.windowMs - now) / 1000));
    }
    if (wait > 0) return wait;
    for (const rule of rules) {
      const id = `${rule.name}\u0000${rule.key}`;
      const live = this.live(rule, now);
      live.push(now);
      // Re-inserted, so the map's first keys are the least recently hit.
      this.hits.delete(id);
      this.hits.set(id, live);
      this.longestWindow = Math.max(this.longestWindow, rule.windowMs);
    }
    if (++this.calls % 1000 === 0 || this.hits.size > this.maxKeys) this.sweep(now);
    return 0;
  }

  get size(): number {
    return this.hits.size;
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {
    this.hits.clear();
  }

  private live(rule: RateRule, now: number): number[] {
    const all = this.hits.get(`${rule.name}\u0000${rule.key}`);
    if (!all) return [];
    const since = now - rule.windowMs;
    let first = 0;
    while (first < all.length && all[first]! <= since) first++;
    return first === 0 ? all : all.slice(first);
  }

  private sweep(now: number): void {
    const since = now - this.longestWindow;
    for (const [id, times] of this.hits) if (times[times.length - 1]! <= since) this.hits.delete(id);
    for (const id of this.hits.keys()) {
      if (this.hits.size <= this.maxKeys) break;
      this.hits.delete(id);
    }
  }
}
