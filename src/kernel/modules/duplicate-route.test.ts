import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { TEST_MASTER_KEY } from '../../../test/support/test-runtime.js';
import { loadConfig } from '../config/load.js';
import { z } from 'zod';
import { startRuntime } from '../runtime.js';
import { defineModule, defineOperation } from './define.js';

const op = () =>
  defineOperation({
    summary: 'x',
    permission: 'public',
    http: { method: 'GET', path: '/same' },
    input: z.object({}),
    output: z.object({}),
    handler: async () => ({}),
  });

it('refuses to start when a module declares the same route twice, and frees the data folder', async () => {
  const dup = defineModule({ name: 'dup', operations: { first: op(), second: op() } });
  const dataDir = mkdtempSync(join(tmpdir(), 'seva-dup-'));
  try {
    const config = loadConfig({ env: {}, overrides: { dataDir, masterKey: TEST_MASTER_KEY, logLevel: 'silent' } });
    await expect(startRuntime({ config, catalog: [dup], listen: false })).rejects.toThrow(
      'module "dup" declares GET /api/dup/v1/same twice (again in operation second)',
    );
    expect(existsSync(join(dataDir, 'seva.lock'))).toBe(false);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
