import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdtempSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { checkKey, type FileStore } from './file-store.js';

/** Unfinished uploads live here, on the same file system as the objects so a rename is atomic. */
export const PARTIAL_DIR = '.partial';

/**
 * Files in a folder. Each upload is written to a temporary file, synced, and renamed into place,
 * so a reader (or a crash) never sees half a file.
 */
export class LocalFileStore implements FileStore {
  readonly kind = 'local' as const;
  #root: string | undefined;
  /** The temporary folder this store made for an in-memory deployment; removed on close. */
  #temporary: string | undefined;

  /** `root` undefined: an in-memory deployment, whose files go to a temporary folder made on first use. */
  constructor(root: string | undefined) {
    this.#root = root;
  }

  get root(): string {
    this.#root ??= this.#temporary = mkdtempSync(join(tmpdir(), 'seva-files-'));
    return this.#root;
  }

  async write(key: string, body: Readable): Promise<void> {
    const target = this.#path(key);
    const partial = join(this.root, PARTIAL_DIR, randomUUID());
    await mkdir(dirname(partial), { recursive: true });
    try {
      // flush: the bytes are on disk (fsync) before the rename makes them visible.
      await pipeline(body, createWriteStream(partial, { flags: 'wx', mode: 0o600, flush: true }));
      await mkdir(dirname(target), { recursive: true });
      await rename(partial, target);
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
  }

  async read(key: string): Promise<Readable | undefined> {
    try {
      const handle = await open(this.#path(key), 'r');
      return handle.createReadStream();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async remove(key: string): Promise<void> {
    await rm(this.#path(key), { force: true });
  }

  async close(): Promise<void> {
    // An in-memory deployment's files end with it, like its database.
    if (this.#temporary) await rm(this.#temporary, { recursive: true, force: true });
  }

  #path(key: string): string {
    return join(this.root, checkKey(key));
  }
}
