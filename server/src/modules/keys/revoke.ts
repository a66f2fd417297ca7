// Revocation shared by key revoke, template deletion and role deletion. Runs inside the caller's
// transaction; the caller publishes the returned key ids after commit.
import type { Ctx, Q } from '../../context.js';

/** Reasons the server writes itself (stored as text in English); anything else is the owner's words. */
export const SYSTEM_REVOCATION_REASONS = {
  owner: 'revoked by the project owner',
  holder: 'revoked by its holder',
  template: 'template deleted',
  role: 'role deleted',
  expired: 'expired',
} as const;

export type RevocationReasonCode = keyof typeof SYSTEM_REVOCATION_REASONS;

/** The code of a reason the server wrote (for UIs to word in their language); null for an owner's text. */
export function revocationReasonCode(reason: string | null): RevocationReasonCode | null {
  for (const [code, text] of Object.entries(SYSTEM_REVOCATION_REASONS)) {
    if (text === reason) return code as RevocationReasonCode;
  }
  return null;
}

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
