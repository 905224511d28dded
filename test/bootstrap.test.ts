import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SHIPPED_CLI, startSevaProcess } from './support/seva-process.js';
import { createFreshPostgresDatabase, dropPostgresDatabase } from './support/test-database.js';

/**
 * The first start of an empty database makes the root administrator: on PostgreSQL (no demo
 * data there) when DATABASE_URL is set, else on a fresh embedded folder (with the demo).
 */
const dataDir = mkdtempSync(join(tmpdir(), 'seva-bootstrap-'));
const PASSWORD = 'FirstStart2026pass';
let databaseUrl: string | undefined;

beforeAll(async () => {
  databaseUrl = await createFreshPostgresDatabase();
});
afterAll(async () => {
  if (databaseUrl) await dropPostgresDatabase(databaseUrl);
  rmSync(dataDir, { recursive: true, force: true });
});

const env = (extra: Record<string, string> = {}) => ({ SEVA_DATA_DIR: dataDir, ...(databaseUrl ? { DATABASE_URL: databaseUrl, SEVA_MASTER_KEY: 'a'.repeat(64) } : {}), ...extra });
const signIn = (url: string, password: string) =>
  fetch(`${url}/api/identity/v1/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'password', username: 'admin', password, tenant: 'in' }),
  });

it('first start: admin with SEVA_ADMIN_PASSWORD, not echoed; later starts leave it alone', async () => {
  const first = await startSevaProcess(env({ SEVA_ADMIN_PASSWORD: PASSWORD }), 90_000, SHIPPED_CLI);
  try {
    expect(first.output()).toContain('administrator (tenant in): admin / the password in SEVA_ADMIN_PASSWORD');
    expect(first.output()).not.toContain(PASSWORD);
    expect((await signIn(first.url, PASSWORD)).status).toBe(200);
  } finally {
    expect(await first.stop()).toBe(0);
  }
  // A second start with another password set changes nothing and prints no credentials.
  const second = await startSevaProcess(env({ SEVA_ADMIN_PASSWORD: 'Different2026pass' }), 90_000, SHIPPED_CLI);
  try {
    expect(second.output()).not.toContain('shown this once');
    expect((await signIn(second.url, PASSWORD)).status).toBe(200);
    expect((await signIn(second.url, 'Different2026pass')).status).toBe(400);
  } finally {
    expect(await second.stop()).toBe(0);
  }
}, 240_000);

it('a weak SEVA_ADMIN_PASSWORD stops the first start with one line', async () => {
  const weak = await createFreshPostgresDatabase();
  const folder = mkdtempSync(join(tmpdir(), 'seva-bootstrap-weak-'));
  try {
    const started = startSevaProcess(
      { SEVA_DATA_DIR: folder, SEVA_ADMIN_PASSWORD: 'weak', ...(weak ? { DATABASE_URL: weak, SEVA_MASTER_KEY: 'a'.repeat(64) } : {}) },
      90_000,
      SHIPPED_CLI,
    );
    await expect(started).rejects.toThrow(/seva: SEVA_ADMIN_PASSWORD does not meet the password policy/);
  } finally {
    if (weak) await dropPostgresDatabase(weak);
    rmSync(folder, { recursive: true, force: true });
  }
}, 120_000);
