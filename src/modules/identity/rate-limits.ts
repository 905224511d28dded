import { createHash } from 'node:crypto';
import { SevaError, type RateLimiter } from '../../kernel/index.js';

/** Milliseconds since the epoch; injected so tests move time instead of waiting. */
export type Clock = () => number;

export interface WindowLimit {
  limit: number;
  windowMs: number;
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

export type LimitName = keyof RateLimitSettings;

/**
 * The identity limits over the kernel's rate limiter: per process, or shared by every process
 * through Redis when `REDIS_URL` is set. Made once when the module's routes are registered.
 */
export class RateLimits {
  private readonly settings: RateLimitSettings;
  private readonly clock: Clock;

  constructor(
    private readonly limiter: RateLimiter,
    options: IdentityOptions = {},
  ) {
    this.settings = { ...DEFAULT_RATE_LIMITS, ...options.rateLimits };
    this.clock = options.clock ?? Date.now;
  }

  /**
   * Counts a hit on every (limit, key) pair only when none is over its limit, so refused requests
   * do not push the window further out; otherwise 429 with Retry-After.
   */
  async take(checks: Array<[LimitName, string | undefined]>, reply?: { header(name: string, value: string): unknown }): Promise<void> {
    const rules = checks
      .filter((c): c is [LimitName, string] => c[1] !== undefined)
      .map(([name, key]) => ({ name: `identity.${name}`, key, ...this.settings[name] }));
    const wait = await this.limiter.take(rules, this.clock());
    if (wait > 0) {
      // The problem handler keeps headers set before the throw.
      reply?.header('retry-after', String(wait));
      throw rateLimited(wait);
    }
  }
}

export function rateLimited(retryAfterSeconds: number): SevaError {
  return new SevaError('RATE_LIMITED', 429, `Too many requests; try again in ${retryAfterSeconds} seconds`, undefined, { retryAfter: retryAfterSeconds });
}

/** Keys never hold the identifier itself: a digest of its kind and normalised value. */
export function limiterKey(kind: string, value: string): string {
  return createHash('sha256').update(`${kind}\u0000${value.normalize('NFKC').trim().toLowerCase()}`).digest('base64url');
}
