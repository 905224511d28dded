import type { S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { checkKey, type FileStore } from './file-store.js';

export interface S3Settings {
  endpoint?: string | undefined;
  bucket: string;
  region: string;
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  forcePathStyle: boolean;
}

/** Part size and parts in flight bound an upload's memory to about 10 MiB whatever the file size. */
const PART_SIZE = 5 * 1024 * 1024;
const QUEUE_SIZE = 2;

/**
 * The AWS SDK is large (a fifth of the server's code): loaded when the S3 store is first used, so
 * a deployment on the local store never parses it at start.
 */
const sdk = () => Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/lib-storage')]).then(([s3, storage]) => ({ ...s3, Upload: storage.Upload }));

/**
 * S3-compatible object storage. Uploads stream as multipart uploads (a single PUT below one
 * part); a failed upload is aborted, so no object appears. The bucket must exist.
 */
export class S3FileStore implements FileStore {
  readonly kind = 's3' as const;
  readonly #settings: S3Settings;
  readonly #bucket: string;
  #client: Promise<S3Client> | undefined;

  constructor(settings: S3Settings) {
    this.#settings = settings;
    this.#bucket = settings.bucket;
  }

  #connect(): Promise<S3Client> {
    const settings = this.#settings;
    return (this.#client ??= sdk().then(({ S3Client }) => new S3Client({
      region: settings.region,
      forcePathStyle: settings.forcePathStyle,
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      // Without keys the SDK's own chain applies (AWS_* variables, instance or pod roles).
      ...(settings.accessKeyId && settings.secretAccessKey
        ? { credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey } }
        : {}),
      // Our own SHA-256 guards the bytes; the SDK's default CRC trailers (aws-chunked bodies) are
      // not understood by many S3-compatible servers.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    })));
  }

  async write(key: string, body: Readable): Promise<void> {
    const [{ Upload }, client] = await Promise.all([sdk(), this.#connect()]);
    const upload = new Upload({
      client,
      // The content type is served from our own record, so objects stay application/octet-stream.
      params: { Bucket: this.#bucket, Key: checkKey(key), Body: body },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      // A failed source stream ends a multipart upload with an abort; this also covers the
      // single-PUT path and a failure after the last part.
      body.destroy();
      await this.remove(key).catch(() => {});
      throw err;
    }
  }

  async read(key: string): Promise<Readable | undefined> {
    try {
      const [{ GetObjectCommand }, client] = await Promise.all([sdk(), this.#connect()]);
      const out = await client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: checkKey(key) }));
      return out.Body as Readable;
    } catch (err) {
      if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
      throw err;
    }
  }

  async remove(key: string): Promise<void> {
    const [{ DeleteObjectCommand }, client] = await Promise.all([sdk(), this.#connect()]);
    await client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: checkKey(key) }));
  }

  async close(): Promise<void> {
    if (this.#client) (await this.#client).destroy();
  }
}
