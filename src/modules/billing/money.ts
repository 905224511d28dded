import { z } from '../../kernel/index.js';

/**
 * Money is an integer count of the currency's minor unit (paise, cents) with an ISO 4217 code;
 * never a float. The ceiling keeps every intermediate product of a percentage (amount × basis
 * points) below 2^53, so JSON Logic (doubles, in the browser too) computes exactly.
 */
export const MAX_AMOUNT = 100_000_000_000;

export const currency = z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as INR');
export const amount = z.number().int('must be an integer number of minor units (paise, cents)').min(0).max(MAX_AMOUNT);
export const positiveAmount = amount.min(1, 'must be at least 1 minor unit');
/** Percentages as basis points: 250 = 2.5 %. */
export const basisPoints = z.number().int().min(0).max(10_000);

/**
 * A share of an amount in basis points, rounded half up to the minor unit (the one rounding rule
 * of the module; amounts are never negative where it applies).
 */
export function shareOf(value: number, bp: number): number {
  return Math.floor((value * bp + 5_000) / 10_000);
}

/** Digits after the decimal point for a currency (INR 2, JPY 0, KWD 3), from ICU. */
export function minorDigits(code: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/** `123456` INR → `INR 1,234.56`, by integer arithmetic only. */
export function formatMoney(minor: number, code: string): string {
  const digits = minorDigits(code);
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(minor);
  const unit = 10 ** digits;
  const whole = Math.floor(abs / unit).toLocaleString('en');
  const fraction = digits > 0 ? `.${String(abs % unit).padStart(digits, '0')}` : '';
  return `${sign}${code} ${whole}${fraction}`;
}
