/**
 * Small pure encoders the credentials need, browser-safe (no Node APIs): base58btc (multibase `z`),
 * base64url (multibase `u`), Ed25519 Multikey public keys, and base45 (RFC 9285, the QR
 * alphanumeric alphabet).
 */

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const B58_MAP = new Map([...B58].map((c, i) => [c, i]));

export function base58btcEncode(bytes: Uint8Array): string {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  const digits: number[] = [];
  for (let i = zeros; i < bytes.length; i++) {
    let carry = bytes[i]!;
    for (let j = 0; j < digits.length; j++) {
      carry += digits[j]! << 8;
      digits[j] = carry % 58;
      carry = Math.floor(carry / 58);
    }
    while (carry > 0) {
      digits.push(carry % 58);
      carry = Math.floor(carry / 58);
    }
  }
  return '1'.repeat(zeros) + digits.reverse().map((d) => B58[d]).join('');
}

export function base58btcDecode(text: string): Uint8Array {
  let zeros = 0;
  while (zeros < text.length && text[zeros] === '1') zeros++;
  const bytes: number[] = [];
  for (let i = zeros; i < text.length; i++) {
    const value = B58_MAP.get(text[i]!);
    if (value === undefined) throw new Error(`not base58btc: '${text[i]}'`);
    let carry = value;
    for (let j = 0; j < bytes.length; j++) {
      carry += bytes[j]! * 58;
      bytes[j] = carry & 0xff;
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push(carry & 0xff);
      carry >>= 8;
    }
  }
  return Uint8Array.from([...new Array<number>(zeros).fill(0), ...bytes.reverse()]);
}

/** Multibase base58btc: `z` + base58btc. */
export function multibaseEncode(bytes: Uint8Array): string {
  return `z${base58btcEncode(bytes)}`;
}

export function multibaseDecode(text: string): Uint8Array {
  if (!text.startsWith('z')) throw new Error('multibase value must be base58btc (prefix z)');
  return base58btcDecode(text.slice(1));
}

/** Multicodec ed25519-pub (0xed, varint 0xed 0x01) before the 32 raw bytes, as Multikey wants. */
const ED25519_PUB = [0xed, 0x01];

export function ed25519Multikey(raw: Uint8Array): string {
  if (raw.length !== 32) throw new Error('an Ed25519 public key has 32 bytes');
  return multibaseEncode(Uint8Array.from([...ED25519_PUB, ...raw]));
}

export function ed25519FromMultikey(multikey: string): Uint8Array {
  const bytes = multibaseDecode(multikey);
  if (bytes.length !== 34 || bytes[0] !== ED25519_PUB[0] || bytes[1] !== ED25519_PUB[1]) throw new Error('not an Ed25519 Multikey');
  return bytes.slice(2);
}

export function base64urlEncode(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function base64urlDecode(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) throw new Error('not base64url');
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

const B45 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
const B45_MAP = new Map([...B45].map((c, i) => [c, i]));

/** RFC 9285: two bytes become three characters, a last single byte two. */
export function base45Encode(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    let n = bytes[i]! * 256 + bytes[i + 1]!;
    const c = n % 45;
    n = Math.floor(n / 45);
    out += B45[c]! + B45[n % 45]! + B45[Math.floor(n / 45)]!;
  }
  if (bytes.length % 2 === 1) {
    const n = bytes[bytes.length - 1]!;
    out += B45[n % 45]! + B45[Math.floor(n / 45)]!;
  }
  return out;
}

export function base45Decode(text: string): Uint8Array {
  const values = [...text].map((c) => {
    const v = B45_MAP.get(c);
    if (v === undefined) throw new Error(`not base45: '${c}'`);
    return v;
  });
  if (values.length % 3 === 1) throw new Error('not base45: bad length');
  const out: number[] = [];
  for (let i = 0; i < values.length; i += 3) {
    if (i + 2 < values.length) {
      const n = values[i]! + values[i + 1]! * 45 + values[i + 2]! * 2025;
      if (n > 0xffff) throw new Error('not base45: value out of range');
      out.push(n >> 8, n & 0xff);
    } else {
      const n = values[i]! + values[i + 1]! * 45;
      if (n > 0xff) throw new Error('not base45: value out of range');
      out.push(n);
    }
  }
  return Uint8Array.from(out);
}
