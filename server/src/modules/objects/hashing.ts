// Streams that hash bytes as they pass. An object's name is its sha256, and these are what make
// that true without ever holding an object whole.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { AppError } from '../../errors.js';

/**
 * Upload side: passes bytes on, refuses more than `maxBytes`, and ends in an error unless the
 * bytes hash to `sha256`. A store writing what comes out makes the object visible only when
 * this ends cleanly (ObjectStore.put).
 */
export class UploadCheck extends Transform {
  private readonly hash: Hash = createHash('sha256');
  size = 0;

  constructor(
    private readonly sha256: string,
    private readonly maxBytes: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      cb(new AppError('PAYLOAD_TOO_LARGE', `Objects are limited to ${this.maxBytes} bytes`));
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.hash.digest('hex') === this.sha256) cb();
    else
      cb(new AppError('HASH_MISMATCH', 'The uploaded bytes do not hash to the sha256 in the URL; nothing was stored'));
  }
}

/**
 * Download side: a whole object read from a store is passed on one chunk late, and the last chunk
 * only once the bytes hashed to `sha256`. Bytes damaged at rest therefore never reach a client
 * complete: the response is cut short, and the client sees a broken transfer, not a wrong file.
 */
export class DownloadCheck extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private held: Buffer | null = null;

  constructor(
    private readonly sha256: string,
    private readonly onMismatch: () => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    const out = this.held;
    this.held = chunk;
    cb(null, out ?? undefined);
  }

  override _flush(cb: TransformCallback): void {
    if (this.hash.digest('hex') !== this.sha256) {
      this.onMismatch();
      cb(new Error('stored bytes do not hash to the object name'));
      return;
    }
    cb(null, this.held ?? undefined);
  }
}
