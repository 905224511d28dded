import type { Readable } from 'node:stream';

/**
 * Where file bytes live. Keys are `<tenant>/<file id>[.thumb]`; objects are written once and
 * never changed, so a checksum taken at upload stays valid for the object's life.
 */
export interface FileStore {
  readonly kind: 'local' | 's3';
  /**
   * Stores the whole stream under `key`. The object becomes visible only once every byte is
   * stored; when the stream fails (size limit, refused content, client gone) nothing remains.
   */
  write(key: string, body: Readable): Promise<void>;
  /** The stored bytes as a stream, or undefined when there is no such object. */
  read(key: string): Promise<Readable | undefined>;
  /** Deletes the object; deleting a missing object is not an error. */
  remove(key: string): Promise<void>;
  close(): Promise<void>;
}

const SAFE_KEY = /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/;

/** Keys are built from tenant codes and ids; this refuses anything that could leave the store. */
export function checkKey(key: string): string {
  if (!SAFE_KEY.test(key) || key.split('/').some((part) => part === '..' || part === '.')) {
    throw new Error(`unsafe storage key ${JSON.stringify(key)}`);
  }
  return key;
}
