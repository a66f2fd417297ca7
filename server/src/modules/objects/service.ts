// Objects: file bytes, content-addressed by sha256, stored once in the database (so every
// instance serves them) and linked to the projects that uploaded them (project_objects).
import { createHash } from 'node:crypto';
import type { Access } from '../../auth/permissions.js';
import type { Ctx } from '../../context.js';
import { AppError, forbidden, notFound } from '../../errors.js';

export const SHA256_RE = /^[0-9a-f]{64}$/;

/** Uploading is part of creating packages: package_create at project level or on some node. */
export function requireUploader(access: Access): void {
  if (access.project.has('package_create')) return;
  for (const perms of access.nodes.values()) if (perms.has('package_create')) return;
  throw forbidden('package_create');
}

export async function projectHasObject(ctx: Ctx, projectId: number, sha256: string): Promise<boolean> {
  const row = await ctx.k
    .selectFrom('project_objects')
    .select('sha256')
    .where('project_id', '=', projectId)
    .where('sha256', '=', sha256)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Stores uploaded bytes after checking they hash to the name. If another project already stored
 * the same bytes, they are not written again; the upload only proves possession and links them.
 */
export async function storeObject(ctx: Ctx, projectId: number, sha256: string, data: Buffer) {
  if (data.length > ctx.config.maxObjectBytes) {
    throw new AppError('PAYLOAD_TOO_LARGE', `Objects are limited to ${ctx.config.maxObjectBytes} bytes`);
  }
  const actual = createHash('sha256').update(data).digest('hex');
  if (actual !== sha256) {
    throw new AppError('HASH_MISMATCH', 'The uploaded bytes do not hash to the sha256 in the URL; nothing was stored');
  }
  const now = ctx.clock.now();
  await ctx.k.transaction().execute(async (trx) => {
    const exists = await trx.selectFrom('objects').select('sha256').where('sha256', '=', sha256).executeTakeFirst();
    if (!exists) {
      await trx
        .insertInto('objects')
        .values({ sha256, size: data.length, data, created_at: now })
        .onConflict((oc) => oc.column('sha256').doNothing())
        .execute();
    }
    await trx
      .insertInto('project_objects')
      .values({ project_id: projectId, sha256, created_at: now })
      .onConflict((oc) => oc.columns(['project_id', 'sha256']).doNothing())
      .execute();
  });
  return { content_hash: sha256, size: data.length };
}

export async function loadObject(ctx: Ctx, projectId: number, sha256: string): Promise<Buffer> {
  const row = await ctx.k
    .selectFrom('project_objects')
    .innerJoin('objects', 'objects.sha256', 'project_objects.sha256')
    .select('objects.data')
    .where('project_objects.project_id', '=', projectId)
    .where('project_objects.sha256', '=', sha256)
    .executeTakeFirst();
  if (!row) throw notFound('Object');
  return Buffer.isBuffer(row.data) ? row.data : Buffer.from(row.data as Uint8Array);
}
