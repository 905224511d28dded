import { fileTypeFromBuffer } from 'file-type';
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { FilesErrors } from './errors.js';
import { PURPOSES, type Purpose } from './purposes.js';

/** Enough leading bytes for file-type to recognise every format it knows. */
const SNIFF_BYTES = 4100;

export interface IngestResult {
  size: number;
  sha256: string;
  /** Sniffed from the bytes. */
  contentType: string;
}

/**
 * Sits between the client and the store: holds back the first bytes until their content type is
 * known and allowed, hashes and counts everything, and fails the stream the moment the size
 * limit is passed. Only the sniffing window is ever held in memory.
 */
export class IngestStream extends Transform {
  readonly #hash = createHash('sha256');
  readonly #limit: number;
  readonly #purpose: Purpose;
  #bytes = 0;
  #head: Buffer[] | undefined = [];
  #headBytes = 0;
  #contentType: string | undefined;

  constructor(limit: number, purpose: Purpose) {
    super();
    this.#limit = limit;
    this.#purpose = purpose;
  }

  #result: IngestResult | undefined;

  /** What was received; only once the whole stream went through. */
  get result(): IngestResult {
    if (!this.#result) throw new Error('the upload has not finished');
    return this.#result;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#bytes += chunk.length;
    if (this.#bytes > this.#limit) return done(FilesErrors.tooLarge(this.#limit));
    this.#hash.update(chunk);
    if (!this.#head) return done(null, chunk);
    this.#head.push(chunk);
    this.#headBytes += chunk.length;
    if (this.#headBytes < SNIFF_BYTES) return done();
    this.#release().then(() => done(), done);
  }

  override _flush(done: TransformCallback): void {
    if (this.#bytes === 0) return done(FilesErrors.empty());
    const finish = () => {
      this.#result = { size: this.#bytes, sha256: this.#hash.digest('hex'), contentType: this.#contentType! };
      done();
    };
    if (!this.#head) return finish();
    this.#release().then(finish, done);
  }

  async #release(): Promise<void> {
    const head = Buffer.concat(this.#head!);
    this.#head = undefined;
    const detected = await fileTypeFromBuffer(head);
    const allowed: readonly string[] = PURPOSES[this.#purpose];
    if (!detected || !allowed.includes(detected.mime)) throw FilesErrors.contentTypeNotAllowed(detected?.mime, this.#purpose, allowed);
    this.#contentType = detected.mime;
    this.push(head);
  }
}
