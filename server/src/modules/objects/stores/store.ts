// The one interface every object store implements. A store knows bytes under keys, nothing about
// hashes, layers or packages: the objects row (sha256 → store, store_key) is what makes bytes an
// object. The service picks a fresh key per upload (`<sha256>.<random>`), so an upload never
// overwrites bytes another row points to, and deleting a row's bytes never hits a newer upload's.
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ObjectStoreName } from '../../../config.js';

/** Inclusive byte positions, as in an HTTP Range. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface ObjectStore {
  readonly name: ObjectStoreName;
  /**
   * Writes `body` under `key` and resolves with the byte count. The bytes become readable under
   * `key` only if `body` ends without an error (the caller's hash check errors it at the end);
   * when it errors or is aborted nothing is left under `key`, and at most staging debris (a temp
   * file, multipart parts, chunks no row names) that `sweep` removes.
   */
  put(key: string, body: Readable): Promise<number>;
  /** The bytes under `key`, or the range of them; rejects with NotStoredError when absent. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /** Size of what is under `key`, or null. */
  head(key: string): Promise<number | null>;
  /** Removes `key`; absent is not an error. */
  delete(key: string): Promise<void>;
  /** Removes staging debris untouched since `before` (epoch ms); returns how many items went. */
  sweep(before: number): Promise<number>;
  /** Keys last written before `before`: the collector compares them with the rows (orphans of a crash). */
  list(before: number): AsyncIterable<string>;
  close(): Promise<void>;
}

export class NotStoredError extends Error {
  constructor(key: string) {
    super(`no bytes under ${key}`);
  }
}

/** A key no other upload of the same bytes gets. */
export const newKey = (sha256: string) => `${sha256}.${randomBytes(8).toString('hex')}`;
