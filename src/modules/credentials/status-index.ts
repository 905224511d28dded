import { createHmac } from 'node:crypto';
import { STATUS_LIST_SIZE } from './status-bits.js';

/**
 * Where a credential's bit sits in its status list. Consecutive credentials must not get
 * consecutive bits, or anyone reading the public list learns the order (and so the time) of
 * issuance and can single out a batch (Bitstring Status List §6, privacy). The n-th credential of
 * a list gets position `permute(n)`: a keyed pseudo-random permutation of [0, 131072): a 4-round
 * Feistel network on 18 bits (HMAC-SHA-256 rounds under the tenant's random seed), cycle-walked
 * into 17 bits. A permutation, so two credentials never share a bit.
 */
const HALF_BITS = 9;
const HALF_MASK = (1 << HALF_BITS) - 1;

function feistel(seed: string, list: number, value: number): number {
  let left = value >> HALF_BITS;
  let right = value & HALF_MASK;
  for (let round = 0; round < 4; round++) {
    const f = createHmac('sha256', seed).update(`${list}:${round}:${right}`).digest().readUInt16BE(0) & HALF_MASK;
    [left, right] = [right, left ^ f];
  }
  return (left << HALF_BITS) | right;
}

export function permuteStatusIndex(seed: string, list: number, n: number): number {
  if (!Number.isInteger(n) || n < 0 || n >= STATUS_LIST_SIZE) throw new Error(`position ${n} is outside the list`);
  let value = feistel(seed, list, n);
  while (value >= STATUS_LIST_SIZE) value = feistel(seed, list, value);
  return value;
}
