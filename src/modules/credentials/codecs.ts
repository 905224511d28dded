/**
 * Small pure encoders the credentials need, browser-safe (no Node APIs): base58btc (multibase `z`),
 * base64url (multibase `u`), Ed25519 Multikey public keys, and base45 (RFC 9285, the QR
 * alphanumeric alphabet).
 */

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** Base58 digits are worked out five at a time: 58^5 < 2^30, and a limb times 2^16 stays exact in a double. */
const B58_LIMB = 58 ** 5;

export function base58btcEncode(bytes: Uint8Array): string {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  // The number in limbs of base 58^5, least significant first, fed 16 bits at a time.
  const limbs: number[] = [];
  let i = zeros;
  if ((bytes.length - zeros) % 2 === 1) limbs.push(bytes[i++]!);
  for (; i < bytes.length; i += 2) {
    let carry = (bytes[i]! << 8) | bytes[i + 1]!;
    for (let j = 0; j < limbs.length; j++) {
      const value = limbs[j]! * 65536 + carry;
      carry = Math.floor(value / B58_LIMB);
      limbs[j] = value - carry * B58_LIMB;
    }
    while (carry > 0) {
      const next = Math.floor(carry / B58_LIMB);
      limbs.push(carry - next * B58_LIMB);
      carry = next;
    }
  }
  let out = '';
  for (let j = 0; j < limbs.length; j++) {
    let limb = limbs[j]!;
    const last = j === limbs.length - 1;
    for (let k = 0; k < 5 && (!last || limb > 0); k++) {
      out = B58[limb % 58]! + out;
      limb = Math.floor(limb / 58);
    }
  }
  return '1'.repeat(zeros) + out;
}

const B58_CODES = new Int8Array(128).fill(-1);
for (let i = 0; i < B58.length; i++) B58_CODES[B58.charCodeAt(i)] = i;

export function base58btcDecode(text: string): Uint8Array {
  let zeros = 0;
  while (zeros < text.length && text[zeros] === '1') zeros++;
  // Bytes of the number in limbs of 2^24, least significant first, fed up to four base58 digits
  // at a time (58^4 × 2^24 stays exact in a double).
  const limbs: number[] = [];
  for (let i = zeros; i < text.length; ) {
    let group = 0;
    let scale = 1;
    for (const end = Math.min(i + 4, text.length); i < end; i++) {
      const code = text.charCodeAt(i);
      const value = code < 128 ? B58_CODES[code]! : -1;
      if (value < 0) throw new Error(`not base58btc: '${text[i]}'`);
      group = group * 58 + value;
      scale *= 58;
    }
    let carry = group;
    for (let j = 0; j < limbs.length; j++) {
      const next = limbs[j]! * scale + carry;
      carry = Math.floor(next / 0x1000000);
      limbs[j] = next - carry * 0x1000000;
    }
    while (carry > 0) {
      limbs.push(carry % 0x1000000);
      carry = Math.floor(carry / 0x1000000);
    }
  }
  const bytes: number[] = [];
  for (const limb of limbs) bytes.push(limb & 0xff, (limb >> 8) & 0xff, (limb >> 16) & 0xff);
  while (bytes.length > 0 && bytes[bytes.length - 1] === 0) bytes.pop();
  const out = new Uint8Array(zeros + bytes.length);
  for (let i = 0; i < bytes.length; i++) out[out.length - 1 - i] = bytes[i]!;
  return out;
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
