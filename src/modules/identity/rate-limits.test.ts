import { describe, expect, it } from 'vitest';
import { isSevaError, MemoryRateLimiter, systemActor } from '../../kernel/index.js';
import { startTestRuntime } from '../../../test/support/test-runtime.js';
import { identityModuleWith } from './index.js';
import { createTenant } from './tenants.js';
import { limiterKey, RateLimits } from './rate-limits.js';

describe('rate limits', () => {
  it('answers 429 RATE_LIMITED with Retry-After over a limit, counting a refused request nowhere', async () => {
    const now = 0;
    const limits = new RateLimits(new MemoryRateLimiter(), { clock: () => now, rateLimits: { otpPerIdentifier: { limit: 1, windowMs: 60_000 }, otpPerIp: { limit: 5, windowMs: 60_000 } } });
    const headers: Record<string, string> = {};
    const reply = { header: (name: string, value: string) => (headers[name] = value) };
    await limits.take([['otpPerIp', '10.0.0.1'], ['otpPerIdentifier', 'a']], reply);
    const refused = await limits.take([['otpPerIp', '10.0.0.1'], ['otpPerIdentifier', 'a']], reply).catch((err: unknown) => err);
    expect(isSevaError(refused) && refused.code === 'RATE_LIMITED' && refused.status === 429).toBe(true);
    expect(headers['retry-after']).toBe('60');
    for (let i = 0; i < 4; i++) await limits.take([['otpPerIp', '10.0.0.1'], ['otpPerIdentifier', `b${i}`]]);
    await expect(limits.take([['otpPerIp', '10.0.0.1']])).rejects.toThrow(/Too many requests/);
  });

  it('keys never contain the identifier itself', () => {
    const key = limiterKey('mobile', '9876543210');
    expect(key).not.toContain('9876543210');
    expect(limiterKey('mobile', ' 9876543210 ')).toBe(key);
    expect(limiterKey('email', '9876543210')).not.toBe(key);
  });
});

describe('client address behind a proxy', () => {
  it('counts per X-Forwarded-For address when SEVA_TRUST_PROXY trusts the proxy, per socket otherwise', async () => {
    const otpPerIp = { limit: 1, windowMs: 60_000 };
    const send = (t: Awaited<ReturnType<typeof startTestRuntime>>, forwardedFor: string, mobile: string) =>
      t.runtime.http.inject({ method: 'POST', url: '/api/identity/v1/otp', headers: { 'x-forwarded-for': forwardedFor }, payload: { tenant: 'in', mobile } });
    for (const trustProxy of [true, false] as const) {
      const t = await startTestRuntime([identityModuleWith({ rateLimits: { otpPerIp } })], { trustProxy });
      try {
        await createTenant(t.runtime.contextFor('identity', systemActor('test')), { code: 'in', name: 'India' });
        expect((await send(t, '203.0.113.1', '9876500001')).statusCode).toBe(202);
        expect((await send(t, '203.0.113.1', '9876500002')).statusCode).toBe(429);
        // Another client behind the same proxy has its own allowance only when the proxy is trusted.
        expect((await send(t, '203.0.113.2', '9876500003')).statusCode).toBe(trustProxy ? 202 : 429);
      } finally {
        await t.close();
      }
    }
  });
});
