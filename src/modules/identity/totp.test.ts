import { describe, expect, it } from 'vitest';
import { base32Decode, base32Encode, hotp, matchTotp, otpauthUri, totp, totpStep } from './totp.js';

// RFC 6238 Appendix B, SHA-1 rows: seed "12345678901234567890", 8 digits.
const SEED = Buffer.from('12345678901234567890', 'ascii');
const VECTORS: Array<[number, string]> = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

describe('TOTP', () => {
  it('matches the RFC 6238 reference values', () => {
    for (const [seconds, expected] of VECTORS) expect(totp(SEED, seconds * 1000, 8)).toBe(expected);
  });

  it('matches the RFC 4226 HOTP values', () => {
    expect([0, 1, 2, 9].map((c) => hotp(SEED, c))).toEqual(['755224', '287082', '359152', '520489']);
  });

  it('round-trips base32 (RFC 4648 vectors)', () => {
    expect(base32Encode(Buffer.from('foobar'))).toBe('MZXW6YTBOI');
    expect(base32Decode('mzxw 6ytb oi======').toString()).toBe('foobar');
    expect(base32Encode(SEED)).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    expect(() => base32Decode('M1')).toThrow();
  });

  it('accepts one step of skew either way, and never a used step again', () => {
    const now = 1_700_000_000_000;
    const step = totpStep(now);
    expect(matchTotp(SEED, totp(SEED, now), now, null)).toBe(step);
    expect(matchTotp(SEED, totp(SEED, now - 30_000), now, null)).toBe(step - 1);
    expect(matchTotp(SEED, totp(SEED, now + 30_000), now, null)).toBe(step + 1);
    expect(matchTotp(SEED, totp(SEED, now - 60_000), now, null)).toBeUndefined();
    expect(matchTotp(SEED, totp(SEED, now), now, step)).toBeUndefined();
    expect(matchTotp(SEED, totp(SEED, now - 30_000), now, step)).toBeUndefined();
    expect(matchTotp(SEED, 'abcdef', now, null)).toBeUndefined();
  });

  it('builds the otpauth URI', () => {
    expect(otpauthUri('clerk1', 'ABC')).toBe('otpauth://totp/Seva:clerk1?secret=ABC&issuer=Seva');
  });
});
