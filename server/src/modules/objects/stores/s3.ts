// Any S3-compatible store (AWS S3, MinIO, Ceph RGW) through the official SDK. Bytes stream through
// Keyport: uploads are hashed on the way in, and presigned store URLs would let bytes reach the
// bucket before anyone checked them. A body is sent as multipart parts; the object appears under
// its key only at CompleteMultipartUpload (or the single PutObject of a small body), which is
// issued after the body ended, i.e. after the hash check passed. A failed upload is aborted; one
// cut off by a crash leaves parts that `sweep` aborts (ListMultipartUploads) where the store
// supports it; a bucket lifecycle rule (AbortIncompleteMultipartUpload) covers the others.
import { type Readable, Transform } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { S3Config } from '../../../config.js';
import type { Logger } from '../../../context.js';
import { pieces } from './pieces.js';
import { type ByteRange, NotStoredError, type ObjectStore } from './store.js';

/** Parts in flight per upload: memory per upload ≈ (this + 1) × part size. */
const PARALLEL_PARTS = 4;

const isMissing = (err: unknown) => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
};

export class S3Store implements ObjectStore {
  readonly name = 's3' as const;
  private readonly client: S3Client;
  private readonly bucket: string;
  private sweepUnsupported = false;

  constructor(
    private readonly cfg: S3Config,
    private readonly log: Logger,
  ) {
    this.bucket = cfg.bucket;
    this.client = new S3Client({
      region: cfg.region,
      forcePathStyle: cfg.forcePathStyle,
      ...(cfg.endpoint ? { endpoint: cfg.endpoint } : {}),
      ...(cfg.accessKeyId && cfg.secretAccessKey
        ? { credentials: { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey } }
        : {}),
      // Keyport checks its own sha256; the SDK's default CRC trailers are not understood by every
      // S3-compatible store (older MinIO and Ceph releases)
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  private k(key: string): string {
    return `${this.cfg.prefix}${key.slice(0, 2)}/${key}`;
  }

  async put(key: string, body: Readable): Promise<number> {
    const Key = this.k(key);
    const partBytes = this.cfg.partBytes;
    let uploadId: string | null = null;
    const parts: { PartNumber: number; ETag: string }[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: unknown = null;
    // part buffers are reused once their part is sent: a few stay allocated, however big the body
    // (memory per upload: PARALLEL_PARTS in flight + one filling)
    const spare: Buffer[] = [];
    let size = 0;
    let nextPart = 1;

    const sendPart = async (data: Buffer) => {
      if (uploadId === null) {
        const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key }));
        uploadId = created.UploadId ?? null;
        if (!uploadId) throw new Error('the S3 store gave no upload id');
      }
      const PartNumber = nextPart++;
      const p = this.client
        .send(new UploadPartCommand({ Bucket: this.bucket, Key, UploadId: uploadId, PartNumber, Body: data }))
        .then((r) => {
          parts.push({ PartNumber, ETag: r.ETag ?? '' });
          if (data.length === partBytes) spare.push(data);
        })
        .catch((err) => {
          failure ??= err;
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      while (inFlight.size >= PARALLEL_PARTS) await Promise.race(inFlight);
      if (failure) throw failure;
    };

    try {
      // the first piece is held back: a body of one part or less goes up as a single PutObject
      let first: Buffer | null = null;
      const alloc = () => spare.pop() ?? Buffer.allocUnsafe(partBytes);
      for await (const data of pieces(body, partBytes, alloc)) {
        size += data.length;
        if (first === null && uploadId === null) {
          first = data;
          continue;
        }
        if (first) await sendPart(first);
        first = null;
        await sendPart(data);
      }
      // the body ended cleanly: its hash checked out, the object may appear
      if (uploadId === null) {
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: first ?? Buffer.alloc(0) }));
        return size;
      }
      await Promise.all(inFlight);
      if (failure) throw failure;
      parts.sort((a, b) => a.PartNumber - b.PartNumber);
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
      return size;
    } catch (err) {
      await Promise.allSettled(inFlight);
      if (uploadId !== null) {
        await this.client
          .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId: uploadId }))
          .catch(() => {}); // parts left behind are invisible; sweep or the lifecycle rule takes them
      }
      throw err;
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    try {
      const r = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.k(key),
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
      const body = r.Body as Readable;
      if (!range) return body;
      // some S3-compatible servers answer `bytes=0-0` with everything from 0: send what was asked
      const want = range.end - range.start + 1;
      return r.ContentLength === want ? body : body.pipe(take(want, body));
    } catch (err) {
      if (isMissing(err)) throw new NotStoredError(key);
      throw err;
    }
  }

  async head(key: string): Promise<number | null> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.k(key) }));
      return r.ContentLength ?? 0;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.k(key) }));
  }

  async sweep(before: number): Promise<number> {
    if (this.sweepUnsupported) return 0;
    let n = 0;
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    try {
      for (;;) {
        const page = await this.client.send(
          new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: this.cfg.prefix, KeyMarker, UploadIdMarker }),
        );
        for (const u of page.Uploads ?? []) {
          if (!u.Key || !u.UploadId || (u.Initiated?.getTime() ?? 0) >= before) continue;
          await this.client.send(
            new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId }),
          );
          n += 1;
        }
        if (!page.IsTruncated) return n;
        KeyMarker = page.NextKeyMarker;
        UploadIdMarker = page.NextUploadIdMarker;
      }
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name !== 'NotImplemented' && name !== 'MethodNotAllowed') throw err;
      this.sweepUnsupported = true;
      this.log.warn(
        { store: 's3' },
        'the S3 store cannot list multipart uploads: set a lifecycle rule AbortIncompleteMultipartUpload on the bucket',
      );
      return n;
    }
  }

  async *list(before: number): AsyncIterable<string> {
    let ContinuationToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.cfg.prefix, ContinuationToken }),
      );
      for (const o of page.Contents ?? []) {
        if (!o.Key || (o.LastModified?.getTime() ?? 0) >= before) continue;
        const key = o.Key.slice(o.Key.lastIndexOf('/') + 1);
        if (/^[0-9a-f]{64}\.[0-9a-f]{16}$/.test(key) && o.Key === this.k(key)) yield key;
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

/** Passes the first `n` bytes of `source`, then ends and stops reading it. */
function take(n: number, source: Readable): Transform {
  let left = n;
  const out = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (left <= 0) return cb();
      const part = chunk.length <= left ? chunk : chunk.subarray(0, left);
      left -= part.length;
      cb(null, part);
      if (left === 0) {
        source.unpipe(out);
        source.destroy();
        out.end();
      }
    },
  });
  source.on('error', (err) => out.destroy(err));
  return out;
}
