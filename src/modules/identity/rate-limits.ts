import { createHash } from 'node:crypto';
import { SevaError } from '../../kernel/index.js';

/** Milliseconds since the epoch; injected so tests move time instead of waiting. */
export type Clock = () => number;

export interface WindowLimit {
  limit: number;
  windowMs: number;
}

/**
 * A sliding-window log: at most `limit` hits per key within any `windowMs`. In memory, so each
 * process counts on its own; a Redis-backed twin for several processes is not built yet.
 * Memory stays bounded: a key's old hits are dropped when it is touched, idle keys are swept
 * now and then, and past `maxKeys` the oldest keys are dropped.
 */
export class SlidingWindowLimiter {
  private readonly hits = new Map<string, number[]>();
  private calls = 0;

  constructor(
    readonly settings: WindowLimit,
    private readonly clock: Clock = Date.now,
    private readonly maxKeys = 100_000,
  ) {}

  /** Seconds until `key` may be hit again, or 0 when a hit is allowed now. Records nothing. */
  retryAfter(key: string): number {
    const now = this.clock();
    const live = this.live(key, now);
    if (live.length < this.settings.limit) return 0;
    const oldest = live[live.length - this.settings.limit]!;
    return Math.max(1, Math.ceil((oldest + this.settings.windowMs - now) / 1000));
  }

  /** Counts one hit for `key`. */
  record(key: string): void {
    const now = this.clock();
    const live = this.live(key, now);
    live.push(now);
    this.hits.delete(key);
    this.hits.set(key, live);
    if (++this.calls % 1000 === 0 || this.hits.size > this.maxKeys) this.sweep(now);
  }

  get size(): number {
    return this.hits.size;
  }

  private live(key: string, now: number): number[] {
    const all = this.hits.get(key);
    if (!all) return [];
    const since = now - this.settings.windowMs;
    let first = 0;
    while (first < all.length && all[first]! <= since) first++;
    return first === 0 ? all : all.slice(first);
  }

  private sweep(now: number): void {
    const since = now - this.settings.windowMs;
    for (const [key, times] of this.hits) if (times[times.length - 1]! <= since) this.hits.delete(key);
    // Maps keep insertion order and record() re-inserts, so the first keys are the least recent.
    for (const key of this.hits.keys()) {
      if (this.hits.size <= this.maxKeys) break;
      this.hits.delete(key);
    }
  }
}

export interface RateLimitSettings {
  otpPerIdentifier: WindowLimit;
  otpPerIp: WindowLimit;
  tokenPerIdentifier: WindowLimit;
  tokenPerIp: WindowLimit;
}

export const DEFAULT_RATE_LIMITS: RateLimitSettings = {
  otpPerIdentifier: { limit: 3, windowMs: 10 * 60_000 },
  otpPerIp: { limit: 20, windowMs: 10 * 60_000 },
  tokenPerIdentifier: { limit: 10, windowMs: 60_000 },
  tokenPerIp: { limit: 60, windowMs: 60_000 },
};

/** What the identity module can be given from outside (tests inject a clock and limits). */
export interface IdentityOptions {
  clock?: Clock;
  rateLimits?: Partial<RateLimitSettings>;
}

/** The limiters of one runtime: made once when the module's routes are registered. */
export class RateLimits {
  readonly otpPerIdentifier: SlidingWindowLimiter;
  readonly otpPerIp: SlidingWindowLimiter;
  readonly tokenPerIdentifier: SlidingWindowLimiter;
  readonly tokenPerIp: SlidingWindowLimiter;

  constructor(options: IdentityOptions = {}) {
    const settings = { ...DEFAULT_RATE_LIMITS, ...options.rateLimits };
    const clock = options.clock ?? Date.now;
    this.otpPerIdentifier = new SlidingWindowLimiter(settings.otpPerIdentifier, clock);
    this.otpPerIp = new SlidingWindowLimiter(settings.otpPerIp, clock);
    this.tokenPerIdentifier = new SlidingWindowLimiter(settings.tokenPerIdentifier, clock);
    this.tokenPerIp = new SlidingWindowLimiter(settings.tokenPerIp, clock);
  }

  /**
   * Checks every (limiter, key) pair first and counts a hit on all of them only when none is
   * over its limit, so refused requests do not push the window further out.
   */
  take(checks: Array<[SlidingWindowLimiter, string | undefined]>, reply?: { header(name: string, value: string): unknown }): void {
    const applicable = checks.filter((c): c is [SlidingWindowLimiter, string] => c[1] !== undefined);
    const wait = Math.max(0, ...applicable.map(([limiter, key]) => limiter.retryAfter(key)));
    if (wait > 0) {
      // The problem handler keeps headers set before the throw.
      reply?.header('retry-after', String(wait));
      throw rateLimited(wait);
    }
    for (const [limiter, key] of applicable) limiter.record(key);
  }
}

export function rateLimited(retryAfterSeconds: number): SevaError {
  return new SevaError('RATE_LIMITED', 429, `Too many requests; try again in ${retryAfterSeconds} seconds`, undefined, { retryAfter: retryAfterSeconds });
}

/** Keys never hold the identifier itself: a digest of its kind and normalised value. */
export function limiterKey(kind: string, value: string): string {
  return createHash('sha256').update(`${kind}\u0000${value.normalize('NFKC').trim().toLowerCase()}`).digest('base64url');
}
