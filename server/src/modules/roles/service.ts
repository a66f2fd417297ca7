// Roles: named permission sets with a price per request and a public flag.
import type { Access, PermissionSet } from '../../auth/permissions.js';
import { beyondPublic, NODE_PERMISSIONS, PROJECT_PERMISSIONS, parsePermissions } from '../../auth/permissions.js';
import type { Ctx, Q } from '../../context.js';
import { AppError, notFound } from '../../errors.js';
import { toIso } from '../../lib/clock.js';
import { formatMoney, parseMoney } from '../../lib/money.js';
import { audit } from '../audit/service.js';
import { revokeKeysWhere, SYSTEM_REVOCATION_REASONS } from '../keys/revoke.js';

export interface RoleInput {
  name?: string | undefined;
  description?: string | undefined;
  price_per_request?: string | number | undefined;
  is_public?: boolean | undefined;
  permissions?: { project?: string[] | undefined; nodes?: Record<string, string[]> | undefined } | undefined;
}

interface RoleRow {
  id: number;
  project_id: number;
  name: string;
  description: string;
  price_micros: number;
  is_public: number;
  is_owner: number;
  permissions: string;
  created_at: number;
  updated_at: number;
}

export const toRole = (r: RoleRow, currency: string) => ({
  id: r.id,
  project_id: r.project_id,
  name: r.name,
  description: r.description,
  price_per_request: formatMoney(r.price_micros),
  currency,
  is_public: r.is_public === 1,
  is_owner: r.is_owner === 1,
  permissions: parsePermissions(r.permissions),
  created_at: toIso(r.created_at),
  updated_at: toIso(r.updated_at),
});

/** Checks names against the closed permission lists and node ids against the project. */
async function validatePermissions(
  q: Q,
  projectId: number,
  input: NonNullable<RoleInput['permissions']>,
): Promise<PermissionSet> {
  const project = [...new Set(input.project ?? [])];
  const bad = project.filter((p) => !(PROJECT_PERMISSIONS as readonly string[]).includes(p));
  if (bad.length) throw new AppError('VALIDATION_FAILED', `Unknown project permissions: ${bad.join(', ')}`);
  const nodes: PermissionSet['nodes'] = {};
  const nodeIds = Object.keys(input.nodes ?? {});
  if (nodeIds.length) {
    if (nodeIds.some((id) => !/^[1-9]\d{0,9}$/.test(id)))
      throw new AppError('VALIDATION_FAILED', 'Node ids must be positive integers');
    const found = await q
      .selectFrom('nodes')
      .select('id')
      .where('project_id', '=', projectId)
      .where('id', 'in', nodeIds.map(Number))
      .execute();
    if (found.length !== nodeIds.length)
      throw new AppError('INVALID_REFERENCE', 'Every node must belong to this project');
  }
  for (const [id, perms] of Object.entries(input.nodes ?? {})) {
    const badNode = perms.filter((p) => !(NODE_PERMISSIONS as readonly string[]).includes(p));
    if (badNode.length) throw new AppError('VALIDATION_FAILED', `Unknown node permissions: ${badNode.join(', ')}`);
    if (perms.length) nodes[id] = [...new Set(perms)] as PermissionSet['nodes'][string];
  }
  return { project: project as PermissionSet['project'], nodes };
}

/**
 * Rules on what a role may hold given where it is used: a public role grants viewing only (it is
 * every signed-in user's), and a role behind a key template never holds project_manage (keys are
 * for programs; managing a project is for people).
 */
async function checkRoleUse(q: Q, roleId: number | null, isPublic: boolean, perms: PermissionSet) {
  if (isPublic) {
    const bad = beyondPublic(perms);
    if (bad.length)
      throw new AppError(
        'ROLE_NOT_ALLOWED',
        `A public role may hold viewing permissions only; remove ${bad.join(', ')} or make the role non-public`,
      );
  }
  const managing = perms.project.filter((p) => p === 'project_manage' || p === 'api_keys_manage');
  if (roleId !== null && managing.length) {
    const used = await q.selectFrom('api_key_templates').select('id').where('role_id', '=', roleId).executeTakeFirst();
    if (used)
      throw new AppError(
        'ROLE_NOT_ALLOWED',
        `This role is used by a key template; keys cannot hold ${managing.join(', ')}`,
      );
  }
}

async function requireRole(q: Q, projectId: number, roleId: number): Promise<RoleRow> {
  const role = await q
    .selectFrom('roles')
    .selectAll()
    .where('id', '=', roleId)
    .where('project_id', '=', projectId)
    .executeTakeFirst();
  if (!role) throw notFound('Role');
  return role;
}

async function assertNameFree(q: Q, projectId: number, name: string, exceptId?: number) {
  let query = q.selectFrom('roles').select('id').where('project_id', '=', projectId).where('name', '=', name);
  if (exceptId) query = query.where('id', '!=', exceptId);
  if (await query.executeTakeFirst()) throw new AppError('NAME_TAKEN', `A role named "${name}" exists in this project`);
}

/** Roles with the number of live keys each one drives (the UI warns before widening them). */
export async function listRoles(ctx: Ctx, projectId: number) {
  const now = ctx.clock.now();
  const [rows, live] = await Promise.all([
    ctx.k.selectFrom('roles').selectAll().where('project_id', '=', projectId).orderBy('id').execute(),
    ctx.k
      .selectFrom('api_keys')
      .select((eb) => ['role_id', eb.fn.countAll<number>().as('n')])
      .where('project_id', '=', projectId)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .groupBy('role_id')
      .execute(),
  ]);
  const liveKeys = new Map(live.map((r) => [r.role_id, Number(r.n)]));
  return rows.map((r) => ({ ...toRole(r, ctx.config.currency), live_keys: liveKeys.get(r.id) ?? 0 }));
}

export async function createRole(ctx: Ctx, access: Access, input: RoleInput & { name: string }) {
  const name = input.name.trim();
  const price = parseMoney(input.price_per_request ?? '0');
  return ctx.k.transaction().execute(async (trx) => {
    await assertNameFree(trx, access.projectId, name);
    const permissions = await validatePermissions(trx, access.projectId, input.permissions ?? {});
    await checkRoleUse(trx, null, input.is_public === true, permissions);
    const now = ctx.clock.now();
    const values = {
      project_id: access.projectId,
      name,
      description: input.description ?? '',
      price_micros: price,
      is_public: input.is_public ? 1 : 0,
      is_owner: 0,
      permissions: JSON.stringify(permissions),
      created_at: now,
      updated_at: now,
    };
    const { id } = await trx.insertInto('roles').values(values).returning('id').executeTakeFirstOrThrow();
    await audit(trx, ctx, access.projectId, access.actor, {
      action: 'role.created',
      object_type: 'role',
      object_id: id,
      details: { name },
    });
    return toRole({ id, ...values }, ctx.config.currency);
  });
}

export async function updateRole(ctx: Ctx, access: Access, roleId: number, input: RoleInput) {
  const role = await ctx.k.transaction().execute(async (trx) => {
    const current = await requireRole(trx, access.projectId, roleId);
    const set: Partial<RoleRow> = { updated_at: ctx.clock.now() };
    if (input.name !== undefined) {
      set.name = input.name.trim();
      await assertNameFree(trx, access.projectId, set.name, roleId);
    }
    if (input.description !== undefined) set.description = input.description;
    if (input.price_per_request !== undefined) set.price_micros = parseMoney(input.price_per_request);
    if (input.is_public !== undefined) set.is_public = input.is_public ? 1 : 0;
    if (input.permissions !== undefined) {
      const perms = await validatePermissions(trx, access.projectId, input.permissions);
      // The owner role keeps project_manage so a project can never lose its last manager.
      if (current.is_owner && !perms.project.includes('project_manage')) {
        throw new AppError('INVALID_STATE', 'The owner role must keep project_manage');
      }
      set.permissions = JSON.stringify(perms);
    }
    await checkRoleUse(
      trx,
      roleId,
      (set.is_public ?? current.is_public) === 1,
      set.permissions ? parsePermissions(set.permissions) : parsePermissions(current.permissions),
    );
    await trx.updateTable('roles').set(set).where('id', '=', roleId).execute();
    await audit(trx, ctx, access.projectId, access.actor, {
      action: 'role.updated',
      object_type: 'role',
      object_id: roleId,
      details: { fields: Object.keys(input).filter((k) => (input as Record<string, unknown>)[k] !== undefined) },
    });
    return { ...current, ...set };
  });
  await ctx.events.publish({ type: 'role', roleId });
  return toRole(role, ctx.config.currency);
}

/** Deleting a role deletes the templates that use it and revokes their keys. */
export async function deleteRole(ctx: Ctx, access: Access, roleId: number) {
  const revoked = await ctx.k.transaction().execute(async (trx) => {
    const role = await requireRole(trx, access.projectId, roleId);
    if (role.is_owner) throw new AppError('INVALID_STATE', 'The owner role cannot be deleted');
    const keyIds = await revokeKeysWhere(trx, ctx, access.projectId, { roleId }, SYSTEM_REVOCATION_REASONS.role);
    await trx.deleteFrom('api_key_templates').where('role_id', '=', roleId).execute();
    await trx.deleteFrom('roles').where('id', '=', roleId).execute();
    await audit(trx, ctx, access.projectId, access.actor, {
      action: 'role.deleted',
      object_type: 'role',
      object_id: roleId,
      details: { name: role.name, revoked_keys: keyIds.length },
    });
    return keyIds;
  });
  await ctx.events.publish({ type: 'role', roleId });
  for (const keyId of revoked) await ctx.events.publish({ type: 'key', keyId });
  return { revoked_keys: revoked.length };
}
