// The database: every instance sees the bytes without a shared directory or bucket. An object is
// a run of 1 MiB rows in object_chunks (key, seq), written one at a time while the body streams
// in and read a few at a time while it streams out. Chunks no objects row names are staging
// (an upload in flight, or one that failed or crashed): `sweep` removes them once idle.
// Keys `inline:<sha256>` are objects stored before chunks existed, whole in objects.data.
import { Readable } from 'node:stream';
import { sql } from 'kysely';
import type { Q } from '../../../context.js';
import type { Clock } from '../../../lib/clock.js';
import { pieces } from './pieces.js';
import { type ByteRange, NotStoredError, type ObjectStore } from './store.js';

/** Part of the stored format: chunk n holds bytes [n·CHUNK, (n+1)·CHUNK). */
export const CHUNK = 1024 * 1024;
const INLINE = 'inline:';

export class DbStore implements ObjectStore {
  readonly name = 'db' as const;

  constructor(
    private readonly k: Q,
    private readonly clock: Clock,
    /** bytes per read query: PostgreSQL returns bytea as hex text, so it reads smaller pieces */
    private readonly piece: number = CHUNK,
  ) {}

  async put(key: string, body: Readable): Promise<number> {
    let seq = 0;
    let size = 0;
    const buf = Buffer.allocUnsafe(CHUNK); // one buffer: each insert completes before the next piece
    try {
      for await (const data of pieces(body, CHUNK, () => buf)) {
        await this.k.insertInto('object_chunks').values({ key, seq, data, created_at: this.clock.now() }).execute();
        seq += 1;
        size += data.length;
      }
      // a client that stalled past the sweep's idle time may have lost its first chunks
      const { n } = await this.k
        .selectFrom('object_chunks')
        .select(sql<number>`count(*)`.as('n'))
        .where('key', '=', key)
        .executeTakeFirstOrThrow();
      if (Number(n) !== seq) throw new Error('upload chunks were swept while it stalled');
      return size;
    } catch (err) {
      await this.delete(key).catch(() => {});
      throw err;
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    if (key.startsWith(INLINE)) return this.getInline(key.slice(INLINE.length), range);
    const first = await this.k
      .selectFrom('object_chunks')
      .select('seq')
      .where('key', '=', key)
      .where('seq', '=', 0)
      .executeTakeFirst();
    if (!first) throw new NotStoredError(key);
    if (range && range.end < range.start) return Readable.from([]);
    // one chunk read ahead at most: the default (16 objects) would hold 16 MiB per download
    return Readable.from(this.chunks(key, range), { highWaterMark: 1 });
  }

  private async *chunks(key: string, range?: ByteRange): AsyncGenerator<Buffer> {
    let pos = range?.start ?? 0;
    const end = range?.end ?? Number.MAX_SAFE_INTEGER;
    while (pos <= end) {
      const seq = Math.floor(pos / CHUNK);
      const off = pos - seq * CHUNK;
      const want = Math.min(this.piece - (off % this.piece), CHUNK - off, end - pos + 1);
      const row = await this.k
        .selectFrom('object_chunks')
        .select(sql<Buffer | Uint8Array | null>`substr(data, ${off + 1}, ${want})`.as('data'))
        .where('key', '=', key)
        .where('seq', '=', seq)
        .executeTakeFirst();
      if (!row) {
        if (range) throw new Error(`object chunk ${seq} of ${key} is missing`);
        return; // read to the end: the previous chunk was the last
      }
      // substr of an empty blob is NULL on SQLite
      const data = row.data === null ? Buffer.alloc(0) : Buffer.isBuffer(row.data) ? row.data : Buffer.from(row.data);
      if (data.length) yield data;
      pos += data.length;
      if (data.length < want) {
        if (range) throw new Error(`object chunk ${seq} of ${key} is short`);
        return; // the last chunk ended
      }
    }
  }

  /** Pre-chunk objects: at most the old 50 MB limit each, read in one query. */
  private async getInline(sha256: string, range?: ByteRange): Promise<Readable> {
    const row = await this.k.selectFrom('objects').select('data').where('sha256', '=', sha256).executeTakeFirst();
    if (!row) throw new NotStoredError(`${INLINE}${sha256}`);
    const data = Buffer.isBuffer(row.data) ? row.data : Buffer.from(row.data as Uint8Array);
    return Readable.from([range ? data.subarray(range.start, range.end + 1) : data]);
  }

  async head(key: string): Promise<number | null> {
    if (key.startsWith(INLINE)) {
      const row = await this.k
        .selectFrom('objects')
        .select(sql<number>`length(data)`.as('n'))
        .where('sha256', '=', key.slice(INLINE.length))
        .executeTakeFirst();
      return row ? Number(row.n) : null;
    }
    const row = await this.k
      .selectFrom('object_chunks')
      .select([sql<number>`count(*)`.as('chunks'), sql<number>`coalesce(sum(length(data)), 0)`.as('n')])
      .where('key', '=', key)
      .executeTakeFirstOrThrow();
    return Number(row.chunks) ? Number(row.n) : null;
  }

  async delete(key: string): Promise<void> {
    if (key.startsWith(INLINE)) {
      // the row stays (it may now point elsewhere); only the inline copy goes
      await this.k
        .updateTable('objects')
        .set({ data: Buffer.alloc(0) })
        .where('sha256', '=', key.slice(INLINE.length))
        .execute();
      return;
    }
    await this.k.deleteFrom('object_chunks').where('key', '=', key).execute();
  }

  async sweep(before: number): Promise<number> {
    const idle = await this.k
      .selectFrom('object_chunks as c')
      .select('c.key')
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('objects as o')
              .select('o.sha256')
              .where('o.store', '=', 'db')
              .whereRef('o.store_key', '=', 'c.key'),
          ),
        ),
      )
      .groupBy('c.key')
      .having((eb) => eb.fn.max('c.created_at'), '<', before)
      .limit(1000)
      .execute();
    for (const { key } of idle) await this.k.deleteFrom('object_chunks').where('key', '=', key).execute();
    return idle.length;
  }

  /** Nothing to list: chunks without a row are staging, and `sweep` already takes them. */
  async *list(_before: number): AsyncIterable<string> {}

  async close(): Promise<void> {}
}
