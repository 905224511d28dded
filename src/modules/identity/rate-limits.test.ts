import { describe, expect, it } from 'vitest';
import { isSevaError, systemActor } from '../../kernel/index.js';
import { startTestRuntime } from '../../../test/support/test-runtime.js';
import { identityModuleWith } from './index.js';
import { createTenant } from './tenants.js';
import { limiterKey, RateLimits, SlidingWindowLimiter } from './rate-limits.js';

describe('sliding-window limiter', () => {
  it('allows `limit` hits in any window and says how long to wait for the next', () => {
    let now = 1_000_000;
    const limiter = new SlidingWindowLimiter({ limit: 3, windowMs: 60_000 }, () => now);
    for (let i = 0; i < 3; i++) {
      expect(limiter.retryAfter('k')).toBe(0);
      limiter.record('k');
      now += 10_000;
    }
    // Hits at 0 s, 10 s and 20 s; at 30 s the first one leaves the window at 60 s.
    expect(limiter.retryAfter('k')).toBe(30);
    expect(limiter.retryAfter('other')).toBe(0);
    now += 30_000;
    expect(limiter.retryAfter('k')).toBe(0);
  });

  it('keeps memory bounded: idle keys are swept and the least recent dropped past the cap', () => {
    let now = 0;
    const limiter = new SlidingWindowLimiter({ limit: 1, windowMs: 1000 }, () => now, 50);
    for (let i = 0; i < 200; i++) limiter.record(`key-${i}`);
    expect(limiter.size).toBeLessThanOrEqual(50);
    // The most recent keys are the ones kept.
    expect(limiter.retryAfter('key-199')).toBe(1);
    now += 5000;
    for (let i = 0; i < 1000; i++) limiter.record('busy');
    expect(limiter.size).toBe(1);
  });
});

describe('rate limits', () => {
  it('counts a request on every limiter only when none refuses it', () => {
    const now = 0;
    const limits = new RateLimits({ clock: () => now, rateLimits: { otpPerIdentifier: { limit: 1, windowMs: 60_000 }, otpPerIp: { limit: 5, windowMs: 60_000 } } });
    const headers: Record<string, string> = {};
    const reply = { header: (name: string, value: string) => (headers[name] = value) };
    limits.take([[limits.otpPerIp, '10.0.0.1'], [limits.otpPerIdentifier, 'a']], reply);
    let refused: unknown;
    try {
      limits.take([[limits.otpPerIp, '10.0.0.1'], [limits.otpPerIdentifier, 'a']], reply);
    } catch (err) {
      refused = err;
    }
    expect(isSevaError(refused) && refused.code === 'RATE_LIMITED' && refused.status === 429).toBe(true);
    expect(headers['retry-after']).toBe('60');
    // The refused request did not use up the address's allowance: four more pass.
    for (let i = 0; i < 4; i++) limits.take([[limits.otpPerIp, '10.0.0.1'], [limits.otpPerIdentifier, `b${i}`]]);
    expect(() => limits.take([[limits.otpPerIp, '10.0.0.1']])).toThrow(/Too many requests/);
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
