import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SevaBootError } from '../errors/boot-error.js';
import { loadOrCreateMasterKeyFile, parseMasterKey } from './master-key.js';

describe('parseMasterKey', () => {
  const key = randomBytes(32);

  it('accepts base64, base64url (with or without padding) and hex', () => {
    expect(parseMasterKey(key.toString('base64')).equals(key)).toBe(true);
    expect(parseMasterKey(key.toString('base64url')).equals(key)).toBe(true);
    expect(parseMasterKey(` ${key.toString('hex').toUpperCase()}\n`).equals(key)).toBe(true);
  });

  it('refuses the wrong length with a one-line message that does not contain the key', () => {
    const short = randomBytes(12).toString('base64');
    const err = catchError(() => parseMasterKey(short));
    expect(err).toBeInstanceOf(SevaBootError);
    expect(err.message).toBe('SEVA_MASTER_KEY must be 32 bytes in base64 or hex (got 12 bytes)');
    expect(err.message).not.toContain(short);
    expect(() => parseMasterKey(randomBytes(33).toString('base64'))).toThrow(/got 33 bytes/);
    expect(() => parseMasterKey(key.toString('hex').slice(2))).toThrow(SevaBootError);
  });

  it('refuses text that is neither encoding, and empty text', () => {
    const err = catchError(() => parseMasterKey('not a key at all!'));
    expect(err).toBeInstanceOf(SevaBootError);
    expect(err.message).not.toContain('not a key');
    expect(err.message).not.toContain('\n');
    expect(() => parseMasterKey('')).toThrow(SevaBootError);
  });
});

describe('loadOrCreateMasterKeyFile', () => {
  const root = mkdtempSync(join(tmpdir(), 'seva-key-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('creates a private key file in a new folder, then reads the same key back', () => {
    const dir = join(root, 'a', 'b');
    const key = loadOrCreateMasterKeyFile(dir);
    expect(key.length).toBe(32);
    const file = join(dir, 'master.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64').equals(key)).toBe(true);
    expect(loadOrCreateMasterKeyFile(dir).equals(key)).toBe(true);
  });

  it('names the file when its content is not a key', () => {
    const dir = join(root, 'bad');
    loadOrCreateMasterKeyFile(dir);
    writeFileSync(join(dir, 'master.key'), 'abcd');
    expect(() => loadOrCreateMasterKeyFile(dir)).toThrow(/master\.key must be 32 bytes .*got 3 bytes/);
  });
});

function catchError(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}
