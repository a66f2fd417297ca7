// Objects: file bytes, content-addressed by sha256, stored once in the database (so every
// instance serves them). Possession is proven per data layer (layer_objects): a layer holds an
// object only after someone uploaded the bytes into it (or a package of it referenced them before
// layers held objects), and only a layer that holds an object answers "already there" for it or
// may reference it. Knowing a hash that another layer uploaded gets you nothing, not even a hint.
import { createHash } from 'node:crypto';
import type { Access } from '../../auth/permissions.js';
import type { Ctx } from '../../context.js';
import { AppError, forbidden, notFound } from '../../errors.js';
import type { ObjectScope } from '../../lib/signed-url.js';

export const SHA256_RE = /^[0-9a-f]{64}$/;

/** Uploading is part of creating packages: package_create at project level or on some node. */
export function requireUploader(access: Access): void {
  if (access.project.has('package_create')) return;
  for (const perms of access.nodes.values()) if (perms.has('package_create')) return;
  throw forbidden('package_create');
}

export async function layerHoldsObject(ctx: Ctx, layerId: number, sha256: string): Promise<boolean> {
  const row = await ctx.k
    .selectFrom('layer_objects')
    .select('sha256')
    .where('data_layer_id', '=', layerId)
    .where('sha256', '=', sha256)
    .executeTakeFirst();
  return row !== undefined;
}

/** sha256 -> size of those of `hashes` the layer holds. */
export async function heldObjects(ctx: Ctx, layerId: number, hashes: string[]): Promise<Map<string, number>> {
  const held = new Map<string, number>();
  if (!hashes.length) return held;
  const rows = await ctx.k
    .selectFrom('layer_objects')
    .innerJoin('objects', 'objects.sha256', 'layer_objects.sha256')
    .select(['objects.sha256', 'objects.size'])
    .where('layer_objects.data_layer_id', '=', layerId)
    .where('layer_objects.sha256', 'in', hashes)
    .execute();
  for (const r of rows) held.set(r.sha256, Number(r.size));
  return held;
}

/**
 * Stores uploaded bytes after checking they hash to the name, and makes the layer hold them. If
 * another layer already stored the same bytes they are not written again, but they still had to
 * be sent and checked: the upload is the proof of possession.
 */
export async function storeObject(ctx: Ctx, scope: ObjectScope, sha256: string, data: Buffer) {
  if (data.length > ctx.config.maxObjectBytes) {
    throw new AppError('PAYLOAD_TOO_LARGE', `Objects are limited to ${ctx.config.maxObjectBytes} bytes`);
  }
  const actual = createHash('sha256').update(data).digest('hex');
  if (actual !== sha256) {
    throw new AppError('HASH_MISMATCH', 'The uploaded bytes do not hash to the sha256 in the URL; nothing was stored');
  }
  const now = ctx.clock.now();
  await ctx.k.transaction().execute(async (trx) => {
    // a layer deleted after the link was signed takes nothing (its row would be gone for the FK)
    const layer = await trx
      .selectFrom('data_layers')
      .select('id')
      .where('id', '=', scope.layerId)
      .where('project_id', '=', scope.projectId)
      .executeTakeFirst();
    if (!layer) throw notFound('Data layer');
    const exists = await trx.selectFrom('objects').select('sha256').where('sha256', '=', sha256).executeTakeFirst();
    if (!exists) {
      await trx
        .insertInto('objects')
        .values({ sha256, size: data.length, data, created_at: now })
        .onConflict((oc) => oc.column('sha256').doNothing())
        .execute();
    }
    await trx
      .insertInto('layer_objects')
      .values({ data_layer_id: scope.layerId, sha256, created_at: now })
      .onConflict((oc) => oc.columns(['data_layer_id', 'sha256']).doNothing())
      .execute();
  });
  return { content_hash: sha256, size: data.length };
}

export async function loadObject(ctx: Ctx, scope: ObjectScope, sha256: string): Promise<Buffer> {
  const row = await ctx.k
    .selectFrom('layer_objects')
    .innerJoin('objects', 'objects.sha256', 'layer_objects.sha256')
    .select('objects.data')
    .where('layer_objects.data_layer_id', '=', scope.layerId)
    .where('layer_objects.sha256', '=', sha256)
    .executeTakeFirst();
  if (!row) throw notFound('Object');
  return Buffer.isBuffer(row.data) ? row.data : Buffer.from(row.data as Uint8Array);
}
