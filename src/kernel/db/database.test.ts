import { expect, it } from 'vitest';
import { createFreshPostgresDatabase, dropPostgresDatabase } from '../../../test/support/test-database.js';
import { openDatabase, ping } from './database.js';

it('answers a ping while open and refuses it once closed, on either engine', async () => {
  const url = await createFreshPostgresDatabase();
  const database = await openDatabase({ databaseUrl: url, dataDir: 'memory://', poolSize: 1 });
  try {
    await expect(ping(database)).resolves.toBeUndefined();
    expect(database.isOpen()).toBe(true);
  } finally {
    await database.close();
  }
  expect(database.isOpen()).toBe(false);
  await expect(ping(database)).rejects.toThrow();
  if (url) await dropPostgresDatabase(url);
});
