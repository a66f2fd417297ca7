// Re-cuts a byte stream into pieces of one fixed size: db chunks and S3 parts alike.
import type { Readable } from 'node:stream';

/**
 * Yields `body` as buffers of exactly `size` bytes, then the remainder (shorter; empty only when
 * the whole body is). Each buffer comes from `alloc` and belongs to the consumer once yielded.
 * Rejects with the body's error, so a failed hash check reaches the store at the end.
 */
export async function* pieces(body: Readable, size: number, alloc: () => Buffer): AsyncGenerator<Buffer> {
  let buf = alloc();
  let fill = 0;
  let yielded = false;
  for await (const data of body as AsyncIterable<Buffer>) {
    let off = 0;
    while (off < data.length) {
      const n = Math.min(size - fill, data.length - off);
      data.copy(buf, fill, off, off + n);
      fill += n;
      off += n;
      if (fill === size) {
        yield buf;
        yielded = true;
        buf = alloc();
        fill = 0;
      }
    }
  }
  if (fill > 0 || !yielded) yield buf.subarray(0, fill);
}
