import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../log/logger.js';
import { MemoryRateLimiter, type RateLimiter, type RateRule } from './rate-limiter.js';
import { RedisRateLimiter } from './redis-rate-limiter.js';

const log = createLogger({ level: 'silent' });
const opened: RateLimiter[] = [];
afterAll(async () => {
  for (const limiter of opened) await limiter.close();
});

/** The memory limiter always; the Redis one too when REDIS_URL is set (the CI's second run). */
const kinds: Array<[string, () => Promise<RateLimiter>]> = [['memory', async () => new MemoryRateLimiter()]];
if (process.env.REDIS_URL) {
  // A namespace per run, so runs sharing one Redis never see each other's counts.
  const namespace = `t${randomBytes(5).toString('hex')}`;
  kinds.push(['redis', async () => RedisRateLimiter.connect(process.env.REDIS_URL!, namespace, log)]);
}

const rule = (key: string, limit = 3, windowMs = 60_000, name = 'test.rule'): RateRule => ({ name, key, limit, windowMs });

describe.each(kinds)('%s rate limiter', (_kind, make) => {
  it('allows `limit` hits in any window and says how long to wait for the next', async () => {
    const limiter = await make();
    opened.push(limiter);
    let now = 1_000_000;
    for (let i = 0; i < 3; i++) {
      expect(await limiter.take([rule('k')], now)).toBe(0);
      now += 10_000;
    }
    // Hits at 0 s, 10 s and 20 s; at 30 s the first one leaves the window at 60 s.
    expect(await limiter.take([rule('k')], now)).toBe(30);
    expect(await limiter.take([rule('other')], now)).toBe(0);
    expect(await limiter.take([rule('k')], now + 30_000)).toBe(0);
  });

  it('counts on every rule only when none refuses, so a refused request uses up nothing', async () => {
    const limiter = await make();
    opened.push(limiter);
    const now = 5_000_000;
    const ip = (n: number) => rule('10.0.0.1', n, 60_000, 'test.ip');
    expect(await limiter.take([ip(5), rule('a', 1)], now)).toBe(0);
    expect(await limiter.take([ip(5), rule('a', 1)], now)).toBe(60);
    // The refused request did not count against the address: four more pass, the fifth does not.
    for (let i = 0; i < 4; i++) expect(await limiter.take([ip(5), rule(`b${i}`, 1)], now)).toBe(0);
    expect(await limiter.take([ip(5)], now)).toBeGreaterThan(0);
  });

  it('keeps rules of different names apart for the same key', async () => {
    const limiter = await make();
    opened.push(limiter);
    expect(await limiter.take([rule('same', 1, 60_000, 'one')], 10)).toBe(0);
    expect(await limiter.take([rule('same', 1, 60_000, 'two')], 10)).toBe(0);
    expect(await limiter.take([rule('same', 1, 60_000, 'one')], 10)).toBe(60);
    expect(await limiter.ping()).toBe(true);
  });
});

describe('memory rate limiter', () => {
  it('keeps memory bounded: idle keys are swept and the least recent dropped past the cap', () => {
    const limiter = new MemoryRateLimiter(50);
    for (let i = 0; i < 200; i++) limiter.takeNow([rule(`key-${i}`, 1, 1000)], 0);
    expect(limiter.size).toBeLessThanOrEqual(50);
    // The most recent keys are the ones kept.
    expect(limiter.takeNow([rule('key-199', 1, 1000)], 0)).toBe(1);
    for (let i = 0; i < 1000; i++) limiter.takeNow([rule('busy', 10_000, 1000)], 5000);
    expect(limiter.size).toBe(1);
  });
});

describe.runIf(process.env.REDIS_URL)('redis rate limiter across processes', () => {
  it('shares one count between two connections, as between two processes of a deployment', async () => {
    const namespace = `t${randomBytes(5).toString('hex')}`;
    const a = await RedisRateLimiter.connect(process.env.REDIS_URL!, namespace, log);
    const b = await RedisRateLimiter.connect(process.env.REDIS_URL!, namespace, log);
    opened.push(a, b);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).take([rule('shared', 7)], 1000)));
    expect(results.filter((wait) => wait === 0)).toHaveLength(7);
  });

  it('stops the boot with one line naming REDIS_URL when Redis cannot be reached', async () => {
    await expect(RedisRateLimiter.connect('redis://127.0.0.1:1', 'x', log)).rejects.toThrow(/^REDIS_URL: cannot connect to Redis/);
  });
});
