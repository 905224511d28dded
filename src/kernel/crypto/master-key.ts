import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SevaBootError } from '../errors/boot-error.js';

const KEY_BYTES = 32;
const HEX = /^[0-9a-fA-F]{64}$/;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/**
 * Reads the 32-byte master key from its text form (base64, base64url or 64 hex digits).
 * Messages name the source and the length, never the key's text: they end up in logs.
 */
export function parseMasterKey(text: string, source = 'SEVA_MASTER_KEY'): Buffer {
  const trimmed = text.trim();
  const expected = `${source} must be ${KEY_BYTES} bytes in base64 or hex`;
  if (HEX.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (!BASE64.test(trimmed)) throw new SevaBootError(`${expected} (got text that is neither)`);
  // Node's decoder accepts both alphabets and skips what it does not know, hence the check above.
  const key = Buffer.from(trimmed, 'base64');
  if (key.length !== KEY_BYTES) throw new SevaBootError(`${expected} (got ${key.length} bytes)`);
  return key;
}

/**
 * The embedded database's master key, kept next to its data so that `npm start` works with no
 * configuration. Production sets SEVA_MASTER_KEY instead and keeps the key away from the data.
 */
export function loadOrCreateMasterKeyFile(dataDir: string): Buffer {
  const file = join(dataDir, 'master.key');
  const existing = readIfExists(file);
  if (existing !== undefined) return parseMasterKey(existing, file);
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(KEY_BYTES);
  try {
    // 'wx' fails if another process created the file meanwhile: then theirs is the key.
    writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new SevaBootError(`cannot create ${file}: ${(err as Error).message}`);
    }
    return parseMasterKey(readFileSync(file, 'utf8'), file);
  }
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SevaBootError(`cannot read ${file}: ${(err as Error).message}`);
  }
}
