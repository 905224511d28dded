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

/**
 * The round function's values of one (seed, list): 4 rounds × 512 inputs, each computed once on
 * first use (an HMAC costs more than the rest of an issuance's status work).
 */
const rounds = new Map<string, Int32Array>();
const ROUND_TABLES_KEPT = 256;

function roundTable(seed: string, list: number): Int32Array {
  const key = `${list}:${seed}`;
  let table = rounds.get(key);
  if (!table) {
    if (rounds.size >= ROUND_TABLES_KEPT) rounds.delete(rounds.keys().next().value!);
    rounds.set(key, (table = new Int32Array(4 << HALF_BITS).fill(-1)));
  }
  return table;
}

function feistel(seed: string, list: number, table: Int32Array, value: number): number {
  let left = value >> HALF_BITS;
  let right = value & HALF_MASK;
  for (let round = 0; round < 4; round++) {
    const at = (round << HALF_BITS) | right;
    let f = table[at]!;
    if (f < 0) table[at] = f = createHmac('sha256', seed).update(`${list}:${round}:${right}`).digest().readUInt16BE(0) & HALF_MASK;
    [left, right] = [right, left ^ f];
  }
  return (left << HALF_BITS) | right;
}

export function permuteStatusIndex(seed: string, list: number, n: number): number {
  if (!Number.isInteger(n) || n < 0 || n >= STATUS_LIST_SIZE) throw new Error(`position ${n} is outside the list`);
  const table = roundTable(seed, list);
  let value = feistel(seed, list, table, n);
  while (value >= STATUS_LIST_SIZE) value = feistel(seed, list, table, value);
  return value;
}
