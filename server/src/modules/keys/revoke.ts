// Revocation shared by key revoke, template deletion and role deletion. Runs inside the caller's
// transaction; the caller publishes the returned key ids after commit.
import type { Ctx, Q } from '../../context.js';

export async function revokeKeysWhere(
  q: Q,
  ctx: Ctx,
  projectId: number,
  where: { roleId?: number; templateId?: number; keyId?: number },
  reason: string,
): Promise<number[]> {
  let sel = q.selectFrom('api_keys').select('id').where('project_id', '=', projectId).where('revoked_at', 'is', null);
  if (where.roleId !== undefined) sel = sel.where('role_id', '=', where.roleId);
  if (where.templateId !== undefined) sel = sel.where('template_id', '=', where.templateId);
  if (where.keyId !== undefined) sel = sel.where('id', '=', where.keyId);
  const ids = (await sel.execute()).map((r) => r.id);
  if (ids.length) {
    await q
      .updateTable('api_keys')
      .set({ revoked_at: ctx.clock.now(), revoked_reason: reason, updated_at: ctx.clock.now() })
      .where('id', 'in', ids)
      .execute();
  }
  return ids;
}
