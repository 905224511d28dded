import { gzipSync } from 'node:zlib';
import { base64urlEncode } from './codecs.js';
import { STATUS_LIST_SIZE } from './status-bits.js';

export { decodeStatusList, STATUS_LIST_SIZE, STATUS_PURPOSES, statusBit, type StatusPurpose } from './status-bits.js';

/** Encodes a status list on the server (see `status-bits.ts` for the format). */
export function encodeStatusList(setIndexes: Iterable<number>, size = STATUS_LIST_SIZE): string {
  const bits = new Uint8Array(size / 8);
  for (const index of setIndexes) {
    if (!Number.isInteger(index) || index < 0 || index >= size) throw new Error(`status index ${index} is outside the list`);
    bits[index >> 3]! |= 0x80 >> (index & 7);
  }
  return `u${base64urlEncode(gzipSync(bits))}`;
}
