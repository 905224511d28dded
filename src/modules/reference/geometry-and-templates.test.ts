import { describe, expect, it } from 'vitest';
import { bbox, containsPoint, rectangle, type Geometry } from './geometry.js';
import { dateIn, parseTemplate, prepare } from './id-templates.js';
import { direction, localeChain } from './locales.js';
import { tenantChain } from './tenant-chain.js';

describe('point in polygon', () => {
  const square = rectangle(0, 0, 10, 10);
  const withHole: Geometry = { type: 'Polygon', coordinates: [(square as any).coordinates[0], (rectangle(4, 4, 6, 6) as any).coordinates[0]] };

  it('tells inside from outside, honours holes and multipolygons', () => {
    expect(containsPoint(square, 5, 5)).toBe(true);
    expect(containsPoint(square, 11, 5)).toBe(false);
    expect(containsPoint(withHole, 5, 5)).toBe(false);
    expect(containsPoint(withHole, 2, 2)).toBe(true);
    const multi: Geometry = { type: 'MultiPolygon', coordinates: [(rectangle(0, 0, 1, 1) as any).coordinates, (rectangle(5, 5, 6, 6) as any).coordinates] };
    expect(containsPoint(multi, 5.5, 5.5)).toBe(true);
    expect(containsPoint(multi, 3, 3)).toBe(false);
    expect(containsPoint({ type: 'Point', coordinates: [1, 1] }, 1, 1)).toBe(false);
  });

  it('handles a concave outline', () => {
    const l: Geometry = { type: 'Polygon', coordinates: [[[0, 0], [10, 0], [10, 2], [2, 2], [2, 10], [0, 10], [0, 0]]] };
    expect(containsPoint(l, 1, 9)).toBe(true);
    expect(containsPoint(l, 5, 5)).toBe(false);
    expect(bbox(l)).toEqual({ minLon: 0, minLat: 0, maxLon: 10, maxLat: 10 });
  });
});

describe('fallback chains', () => {
  it('walks tenants and locales upwards', () => {
    expect(tenantChain('in.ka.bengaluru')).toEqual(['in.ka.bengaluru', 'in.ka', 'in']);
    expect(localeChain('hi-IN')).toEqual(['hi-IN', 'hi', 'en']);
    expect(localeChain('en-GB')).toEqual(['en-GB', 'en']);
    expect(direction('ar')).toBe('rtl');
    expect(direction('ur-IN')).toBe('rtl');
    expect(direction('hi-IN')).toBe('ltr');
  });
});

describe('ID templates', () => {
  const render = (template: string, at: string, fyStartMonth = 4, n = 7) => {
    const { parts, problems } = parseTemplate(template);
    expect(problems).toEqual([]);
    const r = prepare(parts, { tenant: 'in.ka.mysuru', date: dateIn(new Date(at), 'UTC'), fyStartMonth });
    return [r.period, r.render(n)];
  };

  it('renders the financial and calendar year parts and keys the period canonically', () => {
    expect(render('TL-[city]-[fy:yyyy-yy]-[seq:6]', '2026-03-31T23:59:59Z')).toEqual(['fy2025', 'TL-MYSURU-2025-26-000007']);
    expect(render('TL-[city]-[fy:yy-yy]-[seq:6]', '2026-04-01T00:00:00Z')).toEqual(['fy2026', 'TL-MYSURU-26-27-000007']);
    expect(render('[fy:yyyy-yyyy]/[seq:2]', '2027-01-15T00:00:00Z')).toEqual(['fy2026', '2026-2027/07']);
    expect(render('[tenant]:[cy:yyyy-MM]:[seq:3]', '2026-02-03T00:00:00Z')).toEqual(['cy2026-02', 'IN.KA.MYSURU:2026-02:007']);
    expect(render('[seq:8]', '2026-01-01T00:00:00Z')).toEqual(['', '00000007']);
    expect(render('[seq:2]', '2026-01-01T00:00:00Z', 4, 123)).toEqual(['', '123']);
  });

  it('names the position of each problem', () => {
    expect(parseTemplate('AB[cy:yyyy]-[seq:x]').problems).toEqual([{ path: 'body.template', message: 'position 13: [seq:x]: the width must be a number from 1 to 18, such as [seq:6]' }]);
    expect(parseTemplate('[fy:yyyy][fy:yy][seq:3]').problems[0]!.message).toContain('only one [fy');
    expect(parseTemplate('[city:x][seq:3]').problems[0]!.message).toBe('position 1: [city:x]: [city] takes no argument');
  });
});
