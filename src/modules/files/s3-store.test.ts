import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { afterAll, beforeAll } from 'vitest';
import { describeFilesBehaviour } from '../../../test/support/files-suite.js';

// A real S3-compatible server (s3rver) in this process, on a free port, started once for the file.
const BUCKET = 'seva-files';
const folder = mkdtempSync(join(tmpdir(), 'seva-s3-test-'));
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: folder, configureBuckets: [{ name: BUCKET }] });
let endpoint = '';
let client: S3Client;

beforeAll(async () => {
  const { port } = await server.run();
  endpoint = `http://127.0.0.1:${port}`;
  client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
});
afterAll(async () => {
  client?.destroy();
  await server.close();
  rmSync(folder, { recursive: true, force: true });
});

/** Objects in the bucket (s3rver does not list open multipart uploads). */
async function keys(): Promise<string[]> {
  const objects = await client.send(new ListObjectsV2Command({ Bucket: BUCKET }));
  return (objects.Contents ?? []).map((o) => o.Key!).sort();
}

describeFilesBehaviour({
  name: 's3',
  config: () => ({
    filesStore: 's3',
    s3Endpoint: endpoint,
    s3Bucket: BUCKET,
    s3Region: 'us-east-1',
    s3AccessKeyId: 'S3RVER',
    s3SecretAccessKey: 'S3RVER',
    s3ForcePathStyle: true,
  }),
  keys,
  overwrite: async (key, bytes) => void (await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: bytes }))),
});
