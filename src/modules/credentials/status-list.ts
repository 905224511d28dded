import { gunzipSync, gzipSync } from 'node:zlib';
import { base64urlDecode, base64urlEncode } from './codecs.js';

/**
 * Bitstring Status List v1.0: a bitstring, index 0 the leftmost (most significant) bit of the
 * first byte, GZIP-compressed and multibase base64url-encoded (prefix `u`, no padding). 131,072
 * entries (16 KiB) per list, the spec's minimum for herd privacy.
 */
export const STATUS_LIST_SIZE = 131_072;
export const STATUS_PURPOSES = ['revocation', 'suspension'] as const;
export type StatusPurpose = (typeof STATUS_PURPOSES)[number];

export function encodeStatusList(setIndexes: Iterable<number>, size = STATUS_LIST_SIZE): string {
  const bits = new Uint8Array(size / 8);
  for (const index of setIndexes) {
    if (!Number.isInteger(index) || index < 0 || index >= size) throw new Error(`status index ${index} is outside the list`);
    bits[index >> 3]! |= 0x80 >> (index & 7);
  }
  return `u${base64urlEncode(gzipSync(bits))}`;
}

export function decodeStatusList(encodedList: string): Uint8Array {
  if (!encodedList.startsWith('u')) throw new Error('encodedList must be multibase base64url (prefix u)');
  return new Uint8Array(gunzipSync(base64urlDecode(encodedList.slice(1)), { maxOutputLength: 16 * 1024 * 1024 }));
}

export function statusBit(bits: Uint8Array, index: number): boolean {
  if (!Number.isInteger(index) || index < 0 || index >= bits.length * 8) throw new Error(`status index ${index} is outside the list`);
  return (bits[index >> 3]! & (0x80 >> (index & 7))) !== 0;
}
