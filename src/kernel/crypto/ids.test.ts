import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { idDigits, isId, newId } from './ids.js';

describe('newId', () => {
  it('makes prefixed ids of 26 lowercase Crockford base32 digits', () => {
    const id = newId('usr');
    expect(id).toMatch(/^usr_[0-7][0-9abcdefghjkmnpqrstvwxyz]{25}$/);
    expect(isId(id, 'usr')).toBe(true);
  });

  it('does not repeat and uses the whole alphabet', () => {
    const ids = Array.from({ length: 10_000 }, () => newId('app'));
    expect(new Set(ids).size).toBe(ids.length);
    const digits = new Set(ids.flatMap((id) => [...id.slice(5)]));
    expect([...digits].sort().join('')).toBe('0123456789abcdefghjkmnpqrstvwxyz');
    // All 128 bits are random: the leading digit carries the top 3 bits and takes all 8 values.
    expect(new Set(ids.map((id) => id[4])).size).toBe(8);
  });

  it('writes 16 bytes as the 128-bit number they hold, in base32', () => {
    const reference = (bytes: Buffer) => {
      let value = BigInt(`0x${bytes.toString('hex')}`);
      let out = '';
      for (let i = 0; i < 26; i++, value >>= 5n) out = '0123456789abcdefghjkmnpqrstvwxyz'[Number(value & 31n)] + out;
      return out;
    };
    for (const bytes of [Buffer.alloc(16), Buffer.alloc(16, 0xff), Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'), ...Array.from({ length: 500 }, () => randomBytes(16))]) {
      expect(idDigits(bytes)).toBe(reference(bytes));
    }
    expect(idDigits(Buffer.alloc(16, 0xff))).toBe('7zzzzzzzzzzzzzzzzzzzzzzzzz');
    const padded = Buffer.concat([Buffer.alloc(5, 1), Buffer.alloc(16, 0xff)]);
    expect(idDigits(padded, 5)).toBe('7zzzzzzzzzzzzzzzzzzzzzzzzz');
  });

  it('refuses prefixes that are not 2 to 8 lowercase letters', () => {
    for (const bad of ['', 'u', 'USR', 'us_r', 'abcdefghi', 'u1']) expect(() => newId(bad)).toThrow(/prefix/);
  });
});

describe('isId', () => {
  it('rejects other prefixes, lengths, letters outside the alphabet and non-strings', () => {
    const id = newId('usr');
    expect(isId(id, 'app')).toBe(false);
    expect(isId(`${id}0`, 'usr')).toBe(false);
    expect(isId(id.slice(0, -1), 'usr')).toBe(false);
    expect(isId(`${id.slice(0, -1)}u`, 'usr')).toBe(false);
    expect(isId(`usr_8${id.slice(5)}`, 'usr')).toBe(false);
    expect(isId(id.toUpperCase(), 'usr')).toBe(false);
    expect(isId(42, 'usr')).toBe(false);
  });
});
