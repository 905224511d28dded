import { randomFillSync } from 'node:crypto';

/** Crockford base32, lowercase: no i, l, o, u, so ids survive being read aloud or retyped. */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const PREFIX = /^[a-z]{2,8}$/;
/** 128 bits fill 26 base32 digits with 2 bits to spare, so the first digit is always 0-7. */
const BODY = '[0-7][0-9a-hjkmnp-tv-z]{25}';

/** A new random id with a readable type prefix: `usr_3x8k…` (26 base32 digits, 128 random bits). */
export function newId(prefix: string): string {
  checkPrefix(prefix);
  if (poolAt + 16 > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const id = `${prefix}_${idDigits(pool, poolAt)}`;
  poolAt += 16;
  return id;
}

/** Random bytes drawn 4 KiB at a time: one system call per 256 ids instead of one each. */
const pool = Buffer.alloc(4096);
let poolAt = pool.length;

/** The 16 bytes at `at` (big-endian) as 26 base32 digits, most significant first. */
export function idDigits(bytes: Uint8Array, at = 0): string {
  let acc = 0;
  let bits = 0;
  let next = at + 15;
  const digits = new Array<string>(26);
  for (let i = 25; i >= 0; i--) {
    if (bits < 5 && next >= at) {
      acc |= bytes[next--]! << bits;
      bits += 8;
    }
    digits[i] = ALPHABET[acc & 31]!;
    acc >>>= 5;
    bits -= 5;
  }
  return digits.join('');
}

/** True when `value` is an id of the given type, as `newId(prefix)` makes them. */
export function isId(value: unknown, prefix: string): value is string {
  checkPrefix(prefix);
  return typeof value === 'string' && new RegExp(`^${prefix}_${BODY}$`).test(value);
}

function checkPrefix(prefix: string): void {
  if (!PREFIX.test(prefix)) throw new Error(`id prefix "${prefix}" must be 2 to 8 lowercase letters`);
}
