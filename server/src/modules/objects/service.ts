// Objects: file bytes, content-addressed by sha256 and stored once, in the store their row names
// (stores/). Possession is proven per data layer (layer_objects): a layer holds an object only
// after someone uploaded the bytes into it (or a package of it referenced them before layers held
// objects), and only a layer that holds an object answers "already there" for it or may
// reference it. Knowing a hash that another layer uploaded gets you nothing, not even a hint.
// Bytes stream: an upload is hashed on its way into the store and becomes an object only once
// the hash matched; a download streams out of the store.
import { pipeline, type Readable, Writable } from 'node:stream';
import { pipeline as pipelined } from 'node:stream/promises';
import type { Access } from '../../auth/permissions.js';
import type { Ctx, Q } from '../../context.js';
import { AppError, forbidden, notFound } from '../../errors.js';
import type { ObjectScope } from '../../lib/signed-url.js';
import { UploadCheck } from './hashing.js';
import { objectStores } from './stores/index.js';
import { newKey } from './stores/store.js';

export const SHA256_RE = /^[0-9a-f]{64}$/;
/** "Held" answers refresh an object's grace period at most this often (a write on a read path). */
const TOUCH_SLACK_MS = 60_000;

/** Uploading is part of creating packages: package_create at project level or on some node. */
export function requireUploader(access: Access): void {
  if (access.project.has('package_create')) return;
  for (const perms of access.nodes.values()) if (perms.has('package_create')) return;
  throw forbidden('package_create');
}

/**
 * Marks objects as wanted now: the collector leaves them alone for a grace period. In a
 * transaction on PostgreSQL this also locks the rows, so a collector deleting one at the same
 * moment either waits and then sees the new time, or wins and the caller finds the row gone.
 */
export async function touchObjects(q: Q, hashes: string[], now: number, slackMs = 0): Promise<void> {
  if (!hashes.length) return;
  let u = q.updateTable('objects').set({ touched_at: now }).where('sha256', 'in', hashes);
  if (slackMs > 0) u = u.where('touched_at', '<', now - slackMs);
  await u.execute();
}

/** Whether the layer holds the object; if it does, the caller is about to reference it: touched. */
export async function layerHoldsObject(ctx: Ctx, layerId: number, sha256: string): Promise<boolean> {
  const row = await ctx.k
    .selectFrom('layer_objects')
    .select('sha256')
    .where('data_layer_id', '=', layerId)
    .where('sha256', '=', sha256)
    .executeTakeFirst();
  if (row) await touchObjects(ctx.k, [sha256], ctx.clock.now(), TOUCH_SLACK_MS);
  return row !== undefined;
}

/** sha256 -> size of those of `hashes` the layer holds. */
export async function heldObjects(q: Q, layerId: number, hashes: string[]): Promise<Map<string, number>> {
  const held = new Map<string, number>();
  if (!hashes.length) return held;
  const rows = await q
    .selectFrom('layer_objects')
    .innerJoin('objects', 'objects.sha256', 'layer_objects.sha256')
    .select(['objects.sha256', 'objects.size'])
    .where('layer_objects.data_layer_id', '=', layerId)
    .where('layer_objects.sha256', 'in', hashes)
    .execute();
  for (const r of rows) held.set(r.sha256, Number(r.size));
  return held;
}

/** 404 unless the layer still exists in the project (deleted after the link was signed). */
async function requireLayer(q: Q, scope: ObjectScope): Promise<void> {
  const layer = await q
    .selectFrom('data_layers')
    .select('id')
    .where('id', '=', scope.layerId)
    .where('project_id', '=', scope.projectId)
    .executeTakeFirst();
  if (!layer) throw notFound('Data layer');
}

/** Hashes without keeping: for bytes the store already has. */
const discard = () =>
  new Writable({
    write(_chunk, _enc, cb) {
      cb();
    },
  });

/**
 * Receives uploaded bytes, checks they hash to the name, and makes the layer hold the object.
 * New bytes go to the configured store under a fresh key, and the objects row that makes them an
 * object is written only after the store accepted them whole. If the object is already stored
 * (for any layer) the bytes are hashed but not written again: they still had to be sent and
 * checked, because the upload is the proof of possession.
 */
export async function receiveObject(ctx: Ctx, scope: ObjectScope, sha256: string, body: Readable) {
  await requireLayer(ctx.k, scope);
  const check = new UploadCheck(sha256, ctx.config.maxObjectBytes);
  const stored = await ctx.k.selectFrom('objects').select('sha256').where('sha256', '=', sha256).executeTakeFirst();
  let written: { store: string; key: string } | null = null;
  if (stored) {
    await touchObjects(ctx.k, [sha256], ctx.clock.now()); // kept for the grace period while this runs
    await pipelined(body, check, discard());
  } else {
    const store = objectStores(ctx).writer;
    const key = newKey(sha256);
    // an aborted request or a failed check errors `input`, and the store then keeps nothing
    const input = pipeline(body, check, () => {});
    await store.put(key, input);
    written = { store: store.name, key };
  }
  const size = check.size;
  let ours = false;
  try {
    await ctx.k.transaction().execute(async (trx) => {
      await requireLayer(trx, scope);
      const now = ctx.clock.now();
      if (written) {
        const inserted = await trx
          .insertInto('objects')
          .values({
            sha256,
            size,
            data: Buffer.alloc(0),
            store: written.store,
            store_key: written.key,
            created_at: now,
            touched_at: now,
          })
          .onConflict((oc) => oc.column('sha256').doNothing())
          .returning('sha256')
          .executeTakeFirst();
        ours = inserted !== undefined;
      }
      await touchObjects(trx, [sha256], now);
      // the row may have gone (collected while a very long upload of known bytes ran): say retry
      const row = await trx.selectFrom('objects').select('sha256').where('sha256', '=', sha256).executeTakeFirst();
      if (!row) throw new AppError('UNAVAILABLE', 'The object was being removed; upload it again');
      await trx
        .insertInto('layer_objects')
        .values({ data_layer_id: scope.layerId, sha256, created_at: now })
        .onConflict((oc) => oc.columns(['data_layer_id', 'sha256']).doNothing())
        .execute();
    });
  } finally {
    // another upload of the same bytes stored them first, or the transaction failed: ours are spare
    if (written && !ours)
      await objectStores(ctx)
        .get(written.store)
        .delete(written.key)
        .catch(() => {});
  }
  return { content_hash: sha256, size };
}

export interface StoredObject {
  size: number;
  store: string;
  key: string;
}

/** Where the bytes of an object the signed layer holds are; 404 if it holds no such object. */
export async function findObject(ctx: Ctx, scope: ObjectScope, sha256: string): Promise<StoredObject> {
  const row = await ctx.k
    .selectFrom('layer_objects')
    .innerJoin('objects', 'objects.sha256', 'layer_objects.sha256')
    .select(['objects.size', 'objects.store', 'objects.store_key'])
    .where('layer_objects.data_layer_id', '=', scope.layerId)
    .where('layer_objects.sha256', '=', sha256)
    .executeTakeFirst();
  if (!row) throw notFound('Object');
  return { size: Number(row.size), store: row.store, key: row.store_key };
}
