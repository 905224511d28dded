import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { FilesErrors } from './errors.js';
import type { FileStore } from './stores/file-store.js';

const EDGE = 256;
/** Refuses decompression bombs: a 10 MB PNG can claim billions of pixels. */
const MAX_INPUT_PIXELS = 50_000_000;

/**
 * Reads the stored image back (so the thumbnail is made from what was stored, and the image
 * is never whole in memory as a file) and stores a JPEG of at most 256×256 beside it.
 */
export async function storeThumbnail(store: FileStore, key: string, thumbnailKey: string): Promise<{ sha256: string; size: number }> {
  // Loaded on the first image: sharp opens a native library, which a start need not wait for.
  const { default: sharp } = await import('sharp');
  const source = await store.read(key);
  if (!source) throw FilesErrors.contentMissing();
  const resize = sharp({ limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' })
    .rotate()
    .resize(EDGE, EDGE, { fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 72 });
  let thumbnail: Buffer;
  try {
    thumbnail = await new Promise<Buffer>((resolve, reject) => {
      source.once('error', reject);
      source.pipe(resize);
      resize.toBuffer().then(resolve, reject);
    });
  } catch {
    source.destroy();
    resize.destroy();
    throw FilesErrors.imageUnreadable();
  }
  await store.write(thumbnailKey, Readable.from([thumbnail]));
  return { sha256: createHash('sha256').update(thumbnail).digest('hex'), size: thumbnail.length };
}
