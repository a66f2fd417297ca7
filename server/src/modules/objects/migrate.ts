// Moves object bytes from whichever store holds them into another (`keyport-server objects
// migrate --to fs|s3|db`): typically the inline database blobs of an older install into a
// directory or a bucket. One object at a time: copy (hash-checked on the way), then switch the
// row with a conditional UPDATE (same store and key as read), then delete the old bytes. Stopping
// at any point is safe and a rerun goes on with what is left: an interrupted copy leaves at most
// staging or orphan bytes for the collector, never a row pointing at missing bytes. The server
// may keep running meanwhile.
import { pipeline } from 'node:stream';
import type { ObjectStoreName } from '../../config.js';
import type { Ctx } from '../../context.js';
import { UploadCheck } from './hashing.js';
import { ObjectStores } from './stores/index.js';
import { newKey } from './stores/store.js';

export interface MigrateReport {
  moved: number;
  bytes: number;
  /** rows whose bytes were missing from their store (left as they are, and logged) */
  missing: number;
  /** rows left to move (0 when done) */
  remaining: number;
}

export interface MigrateOptions {
  /** stop after this many objects (a rerun goes on) */
  limit?: number;
  onProgress?: (r: MigrateReport, sha256: string) => void;
}

type MigrateCtx = Pick<Ctx, 'config' | 'db' | 'k' | 'clock' | 'log'>;

/** Rows whose bytes are not yet in `to` (inline blobs count as not in the db store). */
function pending(ctx: MigrateCtx, to: ObjectStoreName) {
  return ctx.k.selectFrom('objects').where((eb) => eb.or([eb('store', '!=', to), eb('store_key', 'like', 'inline:%')]));
}

export async function migrateObjects(
  ctx: MigrateCtx,
  to: ObjectStoreName,
  opts: MigrateOptions = {},
): Promise<MigrateReport> {
  const stores = new ObjectStores(ctx);
  const report: MigrateReport = { moved: 0, bytes: 0, missing: 0, remaining: 0 };
  const limit = opts.limit ?? Number.POSITIVE_INFINITY;
  try {
    const target = stores.get(to);
    let after = '';
    while (report.moved < limit) {
      const rows = await pending(ctx, to)
        .select(['sha256', 'size', 'store', 'store_key'])
        .where('sha256', '>', after)
        .orderBy('sha256')
        .limit(50)
        .execute();
      if (!rows.length) break;
      for (const row of rows) {
        if (report.moved >= limit) break;
        after = row.sha256;
        const source = stores.get(row.store);
        if ((await source.head(row.store_key)) === null) {
          report.missing += 1;
          ctx.log.warn({ sha256: row.sha256, store: row.store }, 'objects migrate: bytes missing, left as is');
          continue;
        }
        const key = newKey(row.sha256);
        const check = new UploadCheck(row.sha256, Number.MAX_SAFE_INTEGER);
        await target.put(
          key,
          pipeline(await source.get(row.store_key), check, () => {}),
        );
        const switched = await ctx.k
          .updateTable('objects')
          .set({ store: to, store_key: key, data: Buffer.alloc(0) })
          .where('sha256', '=', row.sha256)
          .where('store', '=', row.store)
          .where('store_key', '=', row.store_key)
          .executeTakeFirst();
        if (Number(switched.numUpdatedRows) !== 1) {
          await target.delete(key); // collected or moved by someone else meanwhile
          continue;
        }
        // inline bytes went with the UPDATE; others are deleted from their old store now
        if (!row.store_key.startsWith('inline:')) await source.delete(row.store_key);
        report.moved += 1;
        report.bytes += Number(row.size);
        opts.onProgress?.(report, row.sha256);
      }
    }
    const left = await pending(ctx, to)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    report.remaining = Number(left.n) - report.missing;
    return report;
  } finally {
    await stores.close();
  }
}
