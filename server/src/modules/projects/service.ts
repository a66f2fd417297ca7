// Projects. Creating one also creates its owner role (every permission, held by the
// creator) and its shared data layer, in one transaction.
import type { Access, Actor } from '../../auth/permissions.js';
import { ALL_PERMISSIONS } from '../../auth/permissions.js';
import type { Ctx, Q } from '../../context.js';
import { toIso } from '../../lib/clock.js';
import { audit } from '../audit/service.js';
import { isOwner, ownerOnly } from '../members/service.js';

export interface ProjectRow {
  id: number;
  name: string;
  description: string;
  owner_id: number;
  created_at: number;
}

export const toProject = (p: ProjectRow) => ({
  id: p.id,
  name: p.name,
  description: p.description,
  owner_id: p.owner_id,
  created_at: toIso(p.created_at),
});

export async function createProject(
  ctx: Ctx,
  actor: Extract<Actor, { kind: 'user' }>,
  input: { name: string; description?: string | undefined },
) {
  return ctx.k.transaction().execute(async (trx) => {
    const now = ctx.clock.now();
    const values = {
      name: input.name.trim(),
      description: input.description ?? '',
      owner_id: actor.userId,
      created_at: now,
    };
    const { id } = await trx.insertInto('projects').values(values).returning('id').executeTakeFirstOrThrow();
    const role = await trx
      .insertInto('roles')
      .values({
        project_id: id,
        name: 'owner',
        description: 'Every permission; given to the project creator',
        price_micros: 0,
        is_public: 0,
        is_owner: 1,
        permissions: JSON.stringify(ALL_PERMISSIONS),
        created_at: now,
        updated_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('member_roles')
      .values({ project_id: id, user_id: actor.userId, role_id: role.id, created_at: now })
      .execute();
    await trx
      .insertInto('data_layers')
      .values({ project_id: id, name: 'main', kind: 'shared', user_id: null, created_at: now })
      .execute();
    await audit(trx, ctx, id, actor, { action: 'project.created', object_type: 'project', object_id: id });
    return toProject({ id, ...values });
  });
}

/** Projects where the user holds a role, or that have a public role. */
export async function listProjects(ctx: Ctx, userId: number, limit: number, offset: number) {
  const visible = (q: Q) =>
    q
      .selectFrom('projects')
      .where((eb) =>
        eb.or([
          eb('projects.id', 'in', eb.selectFrom('member_roles').select('project_id').where('user_id', '=', userId)),
          eb('projects.id', 'in', eb.selectFrom('roles').select('project_id').where('is_public', '=', 1)),
        ]),
      );
  const { total } = await visible(ctx.k)
    .select((eb) => eb.fn.countAll<number>().as('total'))
    .executeTakeFirstOrThrow();
  const rows = await visible(ctx.k)
    .innerJoin('users', 'users.id', 'projects.owner_id')
    .selectAll('projects')
    .select('users.name as owner_name')
    .orderBy('projects.id', 'asc')
    .limit(limit)
    .offset(offset)
    .execute();
  return { total: Number(total), items: rows.map((r) => ({ ...toProject(r), owner_name: r.owner_name })) };
}

/**
 * Projects a newcomer can get a key from: a public role (every signed-in user sees them) and at
 * least one template. The name is matched here rather than with LIKE (the dialects disagree on
 * its case rules and non-ASCII folding); the candidate set is public projects only.
 */
export async function listOffering(ctx: Ctx, search: string | undefined, limit: number, offset: number) {
  const rows = await ctx.k
    .selectFrom('projects')
    .innerJoin('users', 'users.id', 'projects.owner_id')
    .innerJoin('api_key_templates as t', 't.project_id', 'projects.id')
    .where('projects.id', 'in', (eb) => eb.selectFrom('roles').select('project_id').where('is_public', '=', 1))
    .selectAll('projects')
    .select((eb) => ['users.name as owner_name', eb.fn.countAll<number>().as('templates')])
    .groupBy(['projects.id', 'users.name'])
    .orderBy('projects.name')
    .orderBy('projects.id')
    .execute();
  const needle = search?.trim().toLocaleLowerCase('und');
  const hits = needle ? rows.filter((r) => r.name.toLocaleLowerCase('und').includes(needle)) : rows;
  return {
    total: hits.length,
    items: hits.slice(offset, offset + limit).map((r) => ({
      ...toProject(r),
      owner_name: r.owner_name,
      templates: Number(r.templates),
    })),
  };
}

export async function getProject(ctx: Ctx, access: Access) {
  const p = await ctx.k.selectFrom('projects').selectAll().where('id', '=', access.projectId).executeTakeFirstOrThrow();
  const nodes: Record<string, string[]> = {};
  for (const [id, perms] of access.nodes) nodes[String(id)] = [...perms];
  const owner = access.actor.kind === 'user' && (await isOwner(ctx.k, access.projectId, access.actor.userId));
  return {
    ...toProject(p),
    permissions: { project: [...access.project], nodes },
    is_owner: owner,
    currency: ctx.config.currency,
  };
}

export async function updateProject(
  ctx: Ctx,
  access: Access,
  patch: { name?: string | undefined; description?: string | undefined },
) {
  const set: { name?: string; description?: string } = {};
  if (patch.name !== undefined) set.name = patch.name.trim();
  if (patch.description !== undefined) set.description = patch.description;
  await ctx.k.transaction().execute(async (trx) => {
    if (Object.keys(set).length)
      await trx.updateTable('projects').set(set).where('id', '=', access.projectId).execute();
    await audit(trx, ctx, access.projectId, access.actor, {
      action: 'project.updated',
      object_type: 'project',
      object_id: access.projectId,
      details: { fields: Object.keys(set) },
    });
  });
  return getProject(ctx, access);
}

export async function deleteProject(ctx: Ctx, access: Access) {
  if (!(await isOwner(ctx.k, access.projectId, access.actor.userId))) throw ownerOnly('delete the project');
  // Cascades remove nodes, roles, members, templates, keys, layers, packages, secrets.
  await ctx.k.deleteFrom('projects').where('id', '=', access.projectId).execute();
  await ctx.events.publish({ type: 'project', projectId: access.projectId });
}
