import { join } from 'node:path';
import { SevaBootError, type SevaConfig } from '../../../kernel/index.js';
import type { FileStore } from './file-store.js';
import { LocalFileStore } from './local-store.js';
import { S3FileStore } from './s3-store.js';

/** One store per process configuration: one S3 client with its connection pool, one folder. */
const stores = new WeakMap<Readonly<SevaConfig>, FileStore>();

/** The store the configuration names (`SEVA_FILES_STORE`); fails with one line when it is incomplete. */
export function storeFor(config: Readonly<SevaConfig>): FileStore {
  let store = stores.get(config);
  if (!store) {
    store = makeStore(config);
    stores.set(config, store);
  }
  return store;
}

/** Closes the configuration's store (at shutdown); the next `storeFor` makes a new one. */
export async function releaseStore(config: Readonly<SevaConfig>): Promise<void> {
  const store = stores.get(config);
  stores.delete(config);
  await store?.close();
}

function makeStore(config: Readonly<SevaConfig>): FileStore {
  if (config.filesStore === 's3') {
    if (!config.s3Bucket) throw new SevaBootError('S3_BUCKET is required when SEVA_FILES_STORE=s3');
    return new S3FileStore({
      endpoint: config.s3Endpoint,
      bucket: config.s3Bucket,
      region: config.s3Region,
      accessKeyId: config.s3AccessKeyId,
      secretAccessKey: config.s3SecretAccessKey,
      forcePathStyle: config.s3ForcePathStyle,
    });
  }
  if (config.filesDir) return new LocalFileStore(config.filesDir);
  return new LocalFileStore(config.dataDir.startsWith('memory://') ? undefined : join(config.dataDir, 'files'));
}
