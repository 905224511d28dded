import { hash, verify } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';

// argon2id (the library's default algorithm) with its default cost: 19 MiB, 2 passes.

export function hashPassword(password: string): Promise<string> {
  return hash(password);
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

let dummy: Promise<string> | undefined;

/** Spends the time of a real check when there is no user, so timing does not reveal usernames. */
export async function verifyAgainstDummy(password: string): Promise<void> {
  dummy ??= hash(randomBytes(16).toString('hex'));
  await verifyPassword(await dummy, password);
}

/** The policy: 10+ characters, letters and digits, not the username. Returns why it fails. */
export function passwordProblem(password: string, username: string): string | undefined {
  if (password.length < 10) return 'must be at least 10 characters';
  if (!/[A-Za-z]/.test(password) || !/[0-9]/.test(password)) return 'must contain letters and digits';
  if (password.toLowerCase() === username.toLowerCase()) return 'must not be the username';
  return undefined;
}

/** A random password that meets the policy (letters and digits). */
export function randomPassword(length = 16): string {
  const letters = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ';
  const digits = '23456789';
  const all = letters + digits;
  for (;;) {
    const bytes = randomBytes(length);
    // 256 % 56 != 0 leaves a slight bias; acceptable for a one-off demo password.
    const value = Array.from(bytes, (b) => all[b % all.length]).join('');
    if (/[A-Za-z]/.test(value) && /[0-9]/.test(value)) return value;
  }
}
