import { describe, expect, it } from 'vitest';
import { addBusinessDuration, addElapsedDuration, isBusinessDay, parseSlaDuration } from './business-days.js';

describe('SLA durations and business days', () => {
  it('parses ISO 8601 day and time durations and refuses years and months', () => {
    expect(parseSlaDuration('P2D')).toEqual({ days: 2, ms: 0 });
    expect(parseSlaDuration('P1W')).toEqual({ days: 7, ms: 0 });
    expect(parseSlaDuration('P1DT12H30M')).toEqual({ days: 1, ms: 12.5 * 3_600_000 });
    expect(parseSlaDuration('PT45S')).toEqual({ days: 0, ms: 45_000 });
    for (const bad of ['P', 'PT', 'P1M', 'P1Y', '2D', 'P-1D', 'P1DT']) expect(parseSlaDuration(bad), bad).toBeUndefined();
  });

  it('skips a weekend and a holiday', () => {
    // Thursday 2026-01-22 10:00 UTC; Friday 23rd is a holiday; P2D lands on Tuesday 27th.
    const calendar = { holidays: new Set(['2026-01-23']) };
    expect(isBusinessDay(new Date('2026-01-24T10:00:00Z'), calendar)).toBe(false);
    expect(addBusinessDuration(new Date('2026-01-22T10:00:00Z'), { days: 2, ms: 0 }, calendar).toISOString()).toBe('2026-01-27T10:00:00.000Z');
    expect(addElapsedDuration(new Date('2026-01-22T10:00:00Z'), { days: 2, ms: 0 }).toISOString()).toBe('2026-01-24T10:00:00.000Z');
  });

  it('moves a time-only result off a day off, and reads days in the calendar time zone', () => {
    // Friday 20:00 UTC + 6 h is Saturday 02:00: moved to Monday 02:00.
    expect(addBusinessDuration(new Date('2026-01-23T20:00:00Z'), { days: 0, ms: 6 * 3_600_000 }, {}).toISOString()).toBe('2026-01-26T02:00:00.000Z');
    // 2026-01-23 20:00 UTC is already Saturday 01:30 in Kolkata.
    expect(isBusinessDay(new Date('2026-01-23T20:00:00Z'), { timeZone: 'Asia/Kolkata' })).toBe(false);
    expect(isBusinessDay(new Date('2026-01-23T20:00:00Z'), { timeZone: 'UTC' })).toBe(true);
  });

  it('reads the local day right on both sides of midnight in zones of half and quarter hours, however often it is asked', () => {
    // Kathmandu is UTC+5:45: Saturday begins at 18:15 UTC on Friday. Kolkata (UTC+5:30) at 18:30.
    const cases: Array<[string, string, boolean]> = [
      ['Asia/Kathmandu', '2026-11-27T18:14:59.999Z', true],
      ['Asia/Kathmandu', '2026-11-27T18:15:00.000Z', false],
      ['Asia/Kolkata', '2026-11-27T18:29:59.999Z', true],
      ['Asia/Kolkata', '2026-11-27T18:30:00.000Z', false],
      ['America/St_Johns', '2026-11-28T03:29:59.999Z', true],
      ['America/St_Johns', '2026-11-28T03:30:00.000Z', false],
    ];
    for (let round = 0; round < 3; round++) {
      for (const [timeZone, at, open] of cases) expect([timeZone, at, isBusinessDay(new Date(at), { timeZone })]).toEqual([timeZone, at, open]);
    }
  });
});
