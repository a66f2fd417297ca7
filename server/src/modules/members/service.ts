// Members: users holding roles in a project. People join by accepting an invitation
// (invitations.ts); managers change the roles of existing members here. Only an owner grants or
// removes the owner role, and a project always keeps one owner.
import { type Access, can } from '../../auth/permissions.js';
import type { Ctx, Q } from '../../context.js';
import { AppError, notFound } from '../../errors.js';
import { audit } from '../audit/service.js';

export async function listMembers(ctx: Ctx, access: Access) {
  // emails are for the people who manage membership; everyone else sees names
  const withEmail = can(access, 'project_manage');
  const rows = await ctx.k
    .selectFrom('member_roles')
    .innerJoin('users', 'users.id', 'member_roles.user_id')
    .select(['users.id', 'users.name', 'users.email', 'member_roles.role_id'])
    .where('member_roles.project_id', '=', access.projectId)
    .orderBy('users.id')
    .execute();
  const byUser = new Map<number, { user: { id: number; name: string; email?: string }; role_ids: number[] }>();
  for (const r of rows) {
    let m = byUser.get(r.id);
    if (!m) {
      m = { user: { id: r.id, name: r.name, ...(withEmail ? { email: r.email } : {}) }, role_ids: [] };
      byUser.set(r.id, m);
    }
    m.role_ids.push(r.role_id);
  }
  const items = [...byUser.values()];
  return { total: items.length, items };
}

async function ownerHolders(q: Q, projectId: number): Promise<number[]> {
  const rows = await q
    .selectFrom('member_roles')
    .innerJoin('roles', 'roles.id', 'member_roles.role_id')
    .select('member_roles.user_id')
    .where('member_roles.project_id', '=', projectId)
    .where('roles.is_owner', '=', 1)
    .execute();
  return rows.map((r) => r.user_id);
}

/** Whether the user holds the project's owner role. */
export async function isOwner(q: Q, projectId: number, userId: number): Promise<boolean> {
  return (await ownerHolders(q, projectId)).includes(userId);
}

export const ownerOnly = (what: string) => new AppError('FORBIDDEN', `Only an owner of this project may ${what}`);

/**
 * Checks that every role belongs to the project; returns the ids of owner roles among them, so the
 * caller can require an owner where the owner role is handed out or taken away.
 */
export async function checkGrantableRoles(q: Q, access: Access, roleIds: number[]): Promise<number[]> {
  if (!roleIds.length) return [];
  const found = await q
    .selectFrom('roles')
    .select(['id', 'is_owner'])
    .where('project_id', '=', access.projectId)
    .where('id', 'in', roleIds)
    .execute();
  if (found.length !== roleIds.length)
    throw new AppError('INVALID_REFERENCE', 'Every role must belong to this project');
  return found.filter((r) => r.is_owner === 1).map((r) => r.id);
}

/** Replaces an existing member's roles; an empty list removes the member. */
export async function setMemberRoles(ctx: Ctx, access: Access, userId: number, roleIds: number[]) {
  const unique = [...new Set(roleIds)];
  await ctx.k.transaction().execute(async (trx) => {
    const current = await trx
      .selectFrom('member_roles')
      .innerJoin('roles', 'roles.id', 'member_roles.role_id')
      .select(['member_roles.role_id', 'roles.is_owner'])
      .where('member_roles.project_id', '=', access.projectId)
      .where('member_roles.user_id', '=', userId)
      .execute();
    // only members: nobody is put into a project without accepting an invitation
    if (!current.length) throw notFound('Member');
    const grantedOwner = (await checkGrantableRoles(trx, access, unique)).length > 0;
    const heldOwner = current.some((r) => r.is_owner === 1);
    if (grantedOwner !== heldOwner && !(await isOwner(trx, access.projectId, access.actor.userId))) {
      throw ownerOnly('grant or remove the owner role');
    }
    await trx
      .deleteFrom('member_roles')
      .where('project_id', '=', access.projectId)
      .where('user_id', '=', userId)
      .execute();
    const now = ctx.clock.now();
    if (unique.length) {
      await trx
        .insertInto('member_roles')
        .values(unique.map((role_id) => ({ project_id: access.projectId, user_id: userId, role_id, created_at: now })))
        .execute();
    }
    if ((await ownerHolders(trx, access.projectId)).length === 0) {
      throw new AppError('INVALID_STATE', 'A project must keep at least one member with the owner role');
    }
    await audit(trx, ctx, access.projectId, access.actor, {
      action: unique.length ? 'member.roles_set' : 'member.removed',
      object_type: 'user',
      object_id: userId,
      details: { role_ids: unique },
    });
  });
  return { user_id: userId, role_ids: unique };
}
