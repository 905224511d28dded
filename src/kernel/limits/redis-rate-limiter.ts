import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { SevaBootError } from '../errors/boot-error.js';
import type { Logger } from '../log/logger.js';
import type { RateLimiter, RateRule } from './rate-limiter.js';

/**
 * The same sliding-window log as the memory limiter, in Redis sorted sets, checked and counted
 * for all rules in one script: atomic across every process of the deployment.
 * KEYS: one per rule. ARGV: now, then limit and window per rule, then a unique member.
 */
const TAKE = `
local now = tonumber(ARGV[1])
local member = ARGV[#ARGV]
local wait = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 * i])
  local window = tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count >= limit then
    local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    local w = math.ceil((tonumber(oldest[2]) + window - now) / 1000)
    if w < 1 then w = 1 end
    if w > wait then wait = w end
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, tonumber(ARGV[2 * i + 1]))
end
return 0
`;

type TakeCommand = Redis & { sevaTake(numberOfKeys: number, ...args: Array<string | number>): Promise<number> };

export class RedisRateLimiter implements RateLimiter {
  readonly kind = 'redis';
  private lastWarning = 0;

  private constructor(
    private readonly redis: TakeCommand,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {}

  /** Connects (a boot error naming REDIS_URL when it cannot) and loads the script. */
  static async connect(url: string, namespace: string, log: Logger): Promise<RedisRateLimiter> {
    const { Redis } = await import('ioredis');
    // No offline queue: while Redis is away a check fails at once instead of holding the request.
    const redis = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 5000 });
    redis.on('error', () => {}); // reported by take() and the readiness check
    try {
      await redis.connect();
    } catch (err) {
      redis.disconnect();
      throw new SevaBootError(`REDIS_URL: cannot connect to Redis (${(err as Error).message})`);
    }
    redis.defineCommand('sevaTake', { lua: TAKE });
    return new RedisRateLimiter(redis as TakeCommand, `${namespace}:rl:`, log);
  }

  async take(rules: readonly RateRule[], now = Date.now()): Promise<number> {
    if (rules.length === 0) return 0;
    const keys = rules.map((r) => `${this.prefix}${r.name}:${r.key}`);
    const args = rules.flatMap((r) => [r.limit, r.windowMs]);
    try {
      return Number(await this.redis.sevaTake(keys.length, ...keys, now, ...args, `${now}-${randomBytes(6).toString('hex')}`));
    } catch (err) {
      // Fails open: sign-in keeps working while Redis is away; the readiness check shows it.
      if (Date.now() - this.lastWarning > 10_000) {
        this.lastWarning = Date.now();
        this.log.warn({ err }, 'rate limits not enforced: Redis is not answering');
      }
      return 0;
    }
  }

  async ping(): Promise<boolean> {
    return this.redis.ping().then(
      (answer) => answer === 'PONG',
      () => false,
    );
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
