// Members (F12): users holding roles in a project. Assignment replaces a user's role set.
import type { Access } from '../../auth/permissions.js';
import type { Ctx, Q } from '../../context.js';
import { AppError, notFound } from '../../errors.js';
import { normalizeEmail } from '../accounts/service.js';
import { audit } from '../audit/service.js';

export async function listMembers(ctx: Ctx, projectId: number) {
  const rows = await ctx.k
    .selectFrom('member_roles')
    .innerJoin('users', 'users.id', 'member_roles.user_id')
    .select(['users.id', 'users.name', 'users.email', 'member_roles.role_id'])
    .where('member_roles.project_id', '=', projectId)
    .orderBy('users.id')
    .execute();
  const byUser = new Map<number, { user: { id: number; name: string; email: string }; role_ids: number[] }>();
  for (const r of rows) {
    const m = byUser.get(r.id) ?? { user: { id: r.id, name: r.name, email: r.email }, role_ids: [] };
    byUser.set(r.id, m);
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

export async function setMemberRoles(ctx: Ctx, access: Access, userId: number, roleIds: number[]) {
  const unique = [...new Set(roleIds)];
  await ctx.k.transaction().execute(async (trx) => {
    const user = await trx.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst();
    if (!user) throw notFound('User');
    if (unique.length) {
      const found = await trx
        .selectFrom('roles')
        .select(['id', 'is_owner'])
        .where('project_id', '=', access.projectId)
        .where('id', 'in', unique)
        .execute();
      if (found.length !== unique.length)
        throw new AppError('INVALID_REFERENCE', 'Every role must belong to this project');
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
      action: 'member.roles_set',
      object_type: 'user',
      object_id: userId,
      details: { role_ids: unique },
    });
  });
  return { user_id: userId, role_ids: unique };
}

export async function addMemberByEmail(ctx: Ctx, access: Access, email: string, roleIds: number[]) {
  const user = await ctx.k
    .selectFrom('users')
    .select('id')
    .where('email', '=', normalizeEmail(email))
    .executeTakeFirst();
  if (!user) throw notFound('User');
  return setMemberRoles(ctx, access, user.id, roleIds);
}
