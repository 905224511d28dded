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
});
