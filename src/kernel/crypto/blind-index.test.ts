import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { blindIndex } from './blind-index.js';

describe('blindIndex', () => {
  const master = randomBytes(32);

  it('is deterministic and base64url of a 32-byte digest', () => {
    const a = blindIndex(master, 'in.ka', 'phone', '+919800000001');
    expect(blindIndex(master, 'in.ka', 'phone', '+919800000001')).toBe(a);
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a).not.toContain('9800000001');
  });

  it('treats case, outer spaces and compatibility forms as the same value', () => {
    const plain = blindIndex(master, 'in', 'email', 'asha@example.in');
    expect(blindIndex(master, 'in', 'email', '  ASHA@Example.IN\t')).toBe(plain);
    // Fullwidth letters (U+FF41…) are NFKC-equivalent to ASCII.
    expect(blindIndex(master, 'in', 'email', 'ａｓｈａ@example.in')).toBe(plain);
    expect(blindIndex(master, 'in', 'email', 'asha2@example.in')).not.toBe(plain);
  });

  it('differs across tenants, purposes and master keys', () => {
    const base = blindIndex(master, 'in.ka', 'aadhaar', '1234');
    expect(blindIndex(master, 'in.tn', 'aadhaar', '1234')).not.toBe(base);
    expect(blindIndex(master, 'in.ka', 'pan', '1234')).not.toBe(base);
    expect(blindIndex(randomBytes(32), 'in.ka', 'aadhaar', '1234')).not.toBe(base);
  });
});
