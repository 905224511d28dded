import { describe, expect, it } from 'vitest';
import { smsEncoding } from './sms-encoding.js';

describe('SMS encoding and segments', () => {
  it('counts GSM-7 septets, extension characters twice, and splits at 160/153', () => {
    expect(smsEncoding('Hello')).toEqual({ encoding: 'GSM-7', units: 5, segments: 1, perSegment: 160 });
    expect(smsEncoding('a'.repeat(160)).segments).toBe(1);
    expect(smsEncoding('a'.repeat(161))).toMatchObject({ segments: 2, perSegment: 153 });
    expect(smsEncoding('a'.repeat(306)).segments).toBe(2);
    expect(smsEncoding('a'.repeat(307)).segments).toBe(3);
    // € and [ ] are in the extension table: two septets each.
    expect(smsEncoding('€[]').units).toBe(6);
    expect(smsEncoding(`${'a'.repeat(158)}€`)).toMatchObject({ units: 160, segments: 1 });
    expect(smsEncoding(`${'a'.repeat(159)}€`)).toMatchObject({ units: 161, segments: 2 });
    expect(smsEncoding('Ünïcödé? no: ï is not GSM')).toMatchObject({ encoding: 'UCS-2' });
  });

  it('falls back to UCS-2 for Devanagari and emoji, split at 70/67 UTF-16 units', () => {
    expect(smsEncoding('नमस्ते')).toEqual({ encoding: 'UCS-2', units: 6, segments: 1, perSegment: 70 });
    expect(smsEncoding('क'.repeat(70)).segments).toBe(1);
    expect(smsEncoding('क'.repeat(71))).toMatchObject({ segments: 2, perSegment: 67 });
    expect(smsEncoding('😀').units).toBe(2);
    expect(smsEncoding(`${'a'.repeat(100)}😀`)).toMatchObject({ encoding: 'UCS-2', units: 102, segments: 2 });
  });
});
