import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll } from 'vitest';
import { describeFilesBehaviour } from '../../../test/support/files-suite.js';

const root = mkdtempSync(join(tmpdir(), 'seva-files-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Every file under the store's folder, temporary ones (`.partial/`) included. */
async function keys(): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(root, join(e.parentPath, e.name))).sort();
}

describeFilesBehaviour({
  name: 'local',
  config: () => ({ filesStore: 'local', filesDir: root }),
  keys,
  overwrite: (key, bytes) => writeFile(join(root, key), bytes),
});
