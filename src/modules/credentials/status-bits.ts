import { base64urlDecode } from './codecs.js';

/**
 * Bitstring Status List v1.0, the reading side (browser-safe): a bitstring, index 0 the leftmost
 * (most significant) bit of the first byte, GZIP-compressed and multibase base64url-encoded
 * (prefix `u`, no padding). 131,072 entries (16 KiB) per list, the spec's minimum for herd privacy.
 */
export const STATUS_LIST_SIZE = 131_072;
export const STATUS_PURPOSES = ['revocation', 'suspension'] as const;
export type StatusPurpose = (typeof STATUS_PURPOSES)[number];

/** A decompressed list larger than this is refused (a gzip bomb). */
const MAX_LIST_BYTES = 16 * 1024 * 1024;

export async function decodeStatusList(encodedList: string): Promise<Uint8Array> {
  if (!encodedList.startsWith('u')) throw new Error('encodedList must be multibase base64url (prefix u)');
  const stream = new Blob([base64urlDecode(encodedList.slice(1))]).stream().pipeThrough(new DecompressionStream('gzip'));
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > MAX_LIST_BYTES) {
      await reader.cancel();
      throw new Error('the status list is too large');
    }
    chunks.push(value);
  }
  const bits = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bits.set(chunk, at);
    at += chunk.length;
  }
  return bits;
}

export function statusBit(bits: Uint8Array, index: number): boolean {
  if (!Number.isInteger(index) || index < 0 || index >= bits.length * 8) throw new Error(`status index ${index} is outside the list`);
  return (bits[index >> 3]! & (0x80 >> (index & 7))) !== 0;
}
