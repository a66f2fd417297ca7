// Resolves what an actor may do in a project. Users: union of their roles and the project's public
// roles. Keys: their role, in their own project only.
import type { Ctx } from '../context.js';
import type { KeyAuthenticator } from './key-auth.js';
import { type Access, type Actor, mergePermissions, parsePermissions, publicPart } from './permissions.js';

export async function loadUserAccess(ctx: Ctx, userId: number, projectId: number): Promise<Access | null> {
  const project = await ctx.k.selectFrom('projects').select('id').where('id', '=', projectId).executeTakeFirst();
  if (!project) return null;
  const roles = await ctx.k
    .selectFrom('roles')
    .select((eb) => [
      'permissions',
      'is_public',
      eb
        .exists(
          eb
            .selectFrom('member_roles')
            .select('role_id')
            .whereRef('member_roles.role_id', '=', 'roles.id')
            .where('member_roles.user_id', '=', userId),
        )
        .as('held'),
    ])
    .where('project_id', '=', projectId)
    .where((eb) =>
      eb.or([
        eb('is_public', '=', 1),
        eb(
          'id',
          'in',
          eb
            .selectFrom('member_roles')
            .select('role_id')
            .where('user_id', '=', userId)
            .where('project_id', '=', projectId),
        ),
      ]),
    )
    .execute();
  // A role held only because it is public grants its viewing part (older public roles may hold more).
  const merged = mergePermissions(
    roles.map((r) => {
      const set = parsePermissions(r.permissions);
      return r.held === true || Number(r.held) === 1 ? set : publicPart(set);
    }),
  );
  return { projectId, actor: { kind: 'user', userId, sessionId: 0 }, ...merged };
}

export async function loadAccess(
  ctx: Ctx,
  keys: KeyAuthenticator,
  actor: Actor,
  projectId: number,
): Promise<Access | null> {
  if (actor.kind === 'key') return keys.access(actor, projectId);
  const access = await loadUserAccess(ctx, actor.userId, projectId);
  return access && { ...access, actor };
}
