// Resolves what an actor may do in a project. Users: union of their roles and the project's public
// roles. Keys: their role, in their own project only.
import type { Ctx } from '../context.js';
import type { KeyAuthenticator } from './key-auth.js';
import { type Access, type Actor, mergePermissions, parsePermissions, publicPart } from './permissions.js';

export async function loadUserAccess(ctx: Ctx, userId: number, projectId: number): Promise<Access | null> {
  const project = await ctx.k.selectFrom('projects').select('id').where('id', '=', projectId).executeTakeFirst();
  if (!project) return null;
  // the roles the user holds and the project's public ones; `holder` tells which is which
  const roles = await ctx.k
    .selectFrom('roles')
    .leftJoin('member_roles as m', (join) => join.onRef('m.role_id', '=', 'roles.id').on('m.user_id', '=', userId))
    .select(['roles.permissions', 'm.user_id as holder'])
    .where('roles.project_id', '=', projectId)
    .where((eb) => eb.or([eb('roles.is_public', '=', 1), eb('m.user_id', 'is not', null)]))
    .execute();
  // A role held only because it is public grants its viewing part (older public roles may hold more).
  const merged = mergePermissions(
    roles.map((r) =>
      r.holder !== null ? parsePermissions(r.permissions) : publicPart(parsePermissions(r.permissions)),
    ),
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
