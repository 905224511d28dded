import type { FieldProblem } from '../../kernel/index.js';

/**
 * ID templates: literal text and tokens in brackets.
 *   [seq:N]      the sequence number, zero-padded to N digits (1–18), exactly once; it grows past
 *                N digits rather than wrap, so a number is never given twice
 *   [fy:yyyy-yy] the financial year (starting in the format's month, April by default): yyyy-yy,
 *                yy-yy, yyyy-yyyy, yyyy/yy, yyyyyy… (start year, then end year), or yyyy alone (start year)
 *   [cy:yyyy]    the calendar date: yyyy, yy, MM, dd, joined by - or / or nothing (yyyy-MM)
 *   [city]       the last part of the tenant code, upper case (in.ka.bengaluru → BENGALURU)
 *   [tenant]     the whole tenant code, upper case (IN.KA.BENGALURU)
 * The sequence restarts in each period named by the date tokens: a new financial year, a new
 * month for [cy:yyyy-MM]. The period key is canonical (fy2025, cy2025-04), not the text, so
 * changing `yyyy-yy` to `yy-yy` keeps counting instead of starting again.
 */
export type Part =
  | { kind: 'text'; text: string }
  | { kind: 'seq'; width: number }
  | { kind: 'fy'; pieces: string[] }
  | { kind: 'cy'; pieces: string[] }
  | { kind: 'city' }
  | { kind: 'tenant' };

const LITERAL = /^[A-Za-z0-9 _\-/.#:]$/;
const FY = /^(yyyy|yy)(?:([-/]?)(yyyy|yy))?$/;
const CY_PIECES = /yyyy|yy|MM|dd|[-/]/g;

/** Parses a template; problems say the 1-based character position (`body.template`). */
export function parseTemplate(template: string, path = 'body.template'): { parts: Part[]; problems: FieldProblem[] } {
  const parts: Part[] = [];
  const problems: FieldProblem[] = [];
  const problem = (position: number, message: string) => problems.push({ path, message: `position ${position}: ${message}` });
  let text = '';
  let i = 0;
  while (i < template.length) {
    const c = template[i]!;
    if (c === '[') {
      const end = template.indexOf(']', i);
      if (end < 0) {
        problem(i + 1, '"[" is not closed by "]"');
        break;
      }
      if (text) parts.push({ kind: 'text', text });
      text = '';
      const token = template.slice(i + 1, end);
      const part = parseToken(token);
      if (typeof part === 'string') problem(i + 1, `[${token}]: ${part}`);
      else parts.push(part);
      i = end + 1;
      continue;
    }
    if (c === ']') problem(i + 1, '"]" without "["');
    else if (!LITERAL.test(c)) problem(i + 1, `"${c}" is not allowed; use letters, digits, space and _ - / . # :`);
    else text += c;
    i++;
  }
  if (text) parts.push({ kind: 'text', text });
  const seqs = parts.filter((p) => p.kind === 'seq').length;
  if (problems.length === 0 && seqs !== 1) problems.push({ path, message: seqs === 0 ? 'the template needs one [seq:N] token' : 'the template may have only one [seq:N] token' });
  if (problems.length === 0 && parts.filter((p) => p.kind === 'fy').length > 1) problems.push({ path, message: 'the template may have only one [fy:…] token' });
  return { parts, problems };
}

function parseToken(token: string): Part | string {
  const [name, arg, extra] = token.split(':');
  if (extra !== undefined) return 'one ":" at most';
  switch (name) {
    case 'seq': {
      const width = Number(arg);
      if (!arg || !/^\d{1,2}$/.test(arg) || width < 1 || width > 18) return 'the width must be a number from 1 to 18, such as [seq:6]';
      return { kind: 'seq', width };
    }
    case 'fy': {
      const match = arg ? FY.exec(arg) : null;
      if (!match) return 'use a financial-year pattern such as yyyy-yy, yy-yy or yyyy-yyyy';
      return { kind: 'fy', pieces: [match[1]!, ...(match[3] ? [match[2]!, match[3]] : [])] };
    }
    case 'cy': {
      const pieces = arg?.match(CY_PIECES) ?? [];
      if (!arg || pieces.join('') !== arg || !pieces.some((p) => p.startsWith('y'))) return 'use a date pattern with a year, such as yyyy, yyyy-MM or yyMMdd';
      const fields = pieces.filter((p) => !/[-/]/.test(p));
      if (new Set(fields.map((f) => f[0])).size !== fields.length) return 'each of year, month and day once';
      return { kind: 'cy', pieces };
    }
    case 'city':
    case 'tenant':
      return arg === undefined ? { kind: name } : `[${name}] takes no argument`;
    default:
      return 'unknown token; use seq, fy, cy, city or tenant';
  }
}

export interface DateParts {
  year: number;
  month: number;
  day: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The calendar date at `at` in `timeZone` (financial years turn at local midnight). */
export function dateIn(at: Date, timeZone: string): DateParts {
  // Building a formatter costs far more than using one: keep one per zone.
  let formatter = formatters.get(timeZone);
  if (!formatter) formatters.set(timeZone, (formatter = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })));
  const parts = formatter.formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  return { year: get('year'), month: get('month'), day: get('day') };
}

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const yearText = (year: number, piece: string) => (piece === 'yyyy' ? pad(year, 4) : pad(year % 100, 2));

export interface Rendering {
  /** The sequence's period: canonical keys of the date tokens, '' when there are none. */
  period: string;
  /** The ID for sequence number `n`. */
  render(n: number): string;
}

/** Fixes the date and tenant parts of a template for one allocation. */
export function prepare(parts: readonly Part[], options: { tenant: string; date: DateParts; fyStartMonth: number }): Rendering {
  const { date } = options;
  const fyStart = date.month >= options.fyStartMonth ? date.year : date.year - 1;
  const keys: string[] = [];
  const fixed = parts.map((part): string | number => {
    switch (part.kind) {
      case 'text':
        return part.text;
      case 'seq':
        return part.width;
      case 'city':
        return options.tenant.split('.').pop()!.toUpperCase();
      case 'tenant':
        return options.tenant.toUpperCase();
      case 'fy': {
        keys.push(`fy${fyStart}`);
        // A financial year starting in January is the calendar year: its "end year" is the same year.
        const endYear = options.fyStartMonth === 1 ? fyStart : fyStart + 1;
        return part.pieces.map((p, i) => (p === '-' || p === '/' || p === '' ? p : yearText(i === 0 ? fyStart : endYear, p))).join('');
      }
      case 'cy': {
        const has = (c: string) => part.pieces.some((p) => p[0] === c);
        keys.push(`cy${pad(date.year, 4)}${has('M') ? `-${pad(date.month, 2)}` : ''}${has('d') ? `-${pad(date.day, 2)}` : ''}`);
        return part.pieces
          .map((p) => (p === 'yyyy' || p === 'yy' ? yearText(date.year, p) : p === 'MM' ? pad(date.month, 2) : p === 'dd' ? pad(date.day, 2) : p))
          .join('');
      }
    }
  });
  return {
    period: [...new Set(keys)].sort().join('|'),
    render: (n) => fixed.map((f) => (typeof f === 'number' ? pad(n, f) : f)).join(''),
  };
}
