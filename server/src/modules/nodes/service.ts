// Nodes and links of a project graph.
import type { Access } from '../../auth/permissions.js';
import { parsePermissions } from '../../auth/permissions.js';
import type { Ctx } from '../../context.js';
import { AppError, notFound } from '../../errors.js';
import { toIso } from '../../lib/clock.js';
import { audit } from '../audit/service.js';

export type NodeKind = 'input' | 'compute' | 'output';

const toNode = (n: { id: number; project_id: number; name: string; kind: NodeKind; created_at: number }) => ({
  id: n.id,
  project_id: n.project_id,
  name: n.name,
  kind: n.kind,
  created_at: toIso(n.created_at),
});

/**
 * Nodes of a project, optionally those whose name contains `search` in any letter case. Matched
 * here rather than with LIKE: the dialects disagree on LIKE's case rules, escapes and non-ASCII
 * folding, and a project graph is small.
 */
export async function listNodes(ctx: Ctx, projectId: number, search?: string) {
  const rows = await ctx.k.selectFrom('nodes').selectAll().where('project_id', '=', projectId).orderBy('id').execute();
  const needle = search?.toLocaleLowerCase('und');
  return (needle ? rows.filter((r) => r.name.toLocaleLowerCase('und').includes(needle)) : rows).map(toNode);
}

export async function requireNode(ctx: Ctx, projectId: number, nodeId: number) {
  const node = await ctx.k
    .selectFrom('nodes')
    .selectAll()
    .where('id', '=', nodeId)
    .where('project_id', '=', projectId)
    .executeTakeFirst();
  if (!node) throw notFound('Node');
  return node;
}

export async function createNode(ctx: Ctx, access: Access, input: { name: string; kind: NodeKind }) {
  return ctx.k.transaction().execute(async (trx) => {
    const values = {
      project_id: access.projectId,
      name: input.name.trim(),
      kind: input.kind,
      created_at: ctx.clock.now(),
    };
    const { id } = await trx.insertInto('nodes').values(values).returning('id').executeTakeFirstOrThrow();
    await audit(trx, ctx, access.projectId, access.actor, {
      action: 'node.created',
      object_type: 'node',
      object_id: id,
    });
    return toNode({ id, ...values });
  });
}

export async function updateNode(
  ctx: Ctx,
  access: Access,
  nodeId: number,
  patch: { name?: string | undefined; kind?: NodeKind | undefined },
) {
  const node = await requireNode(ctx, access.projectId, nodeId);
  const set: { name?: string; kind?: NodeKind } = {};
  if (patch.name !== undefined) set.name = patch.name.trim();
  if (patch.kind !== undefined) set.kind = patch.kind;
  if (Object.keys(set).length) await ctx.k.updateTable('nodes').set(set).where('id', '=', nodeId).execute();
  return toNode({ ...node, ...set });
}

/** Removes the node, its links and packages, and its per-node grants in roles and secrets. */
export async function deleteNode(ctx: Ctx, access: Access, nodeId: number) {
  await requireNode(ctx, access.projectId, nodeId);
  const roleIds = await ctx.k.transaction().execute(async (trx) => {
    const roles = await trx
      .selectFrom('roles')
      .select(['id', 'permissions'])
      .where('project_id', '=', access.projectId)
      .execute();
    const changed: number[] = [];
    for (const r of roles) {
      const perms = parsePermissions(r.permissions);
      if (!(String(nodeId) in perms.nodes)) continue;
      delete perms.nodes[String(nodeId)];
      await trx
        .updateTable('roles')
        .set({ permissions: JSON.stringify(perms), updated_at: ctx.clock.now() })
        .where('id', '=', r.id)
        .execute();
      changed.push(r.id);
    }
    const secrets = await trx
      .selectFrom('secrets')
      .select(['id', 'node_ids'])
      .where('project_id', '=', access.projectId)
      .execute();
    for (const s of secrets) {
      const ids = JSON.parse(s.node_ids) as number[];
      if (ids.includes(nodeId)) {
        await trx
          .updateTable('secrets')
          .set({ node_ids: JSON.stringify(ids.filter((i) => i !== nodeId)) })
          .where('id', '=', s.id)
          .execute();
      }
    }
    await trx.deleteFrom('nodes').where('id', '=', nodeId).execute();
    await audit(trx, ctx, access.projectId, access.actor, {
      action: 'node.deleted',
      object_type: 'node',
      object_id: nodeId,
    });
    return changed;
  });
  for (const roleId of roleIds) await ctx.events.publish({ type: 'role', roleId });
}

const toLink = (l: { id: number; project_id: number; from_node_id: number; to_node_id: number }) => ({ ...l });

export async function listLinks(ctx: Ctx, projectId: number) {
  return (await ctx.k.selectFrom('links').selectAll().where('project_id', '=', projectId).orderBy('id').execute()).map(
    toLink,
  );
}

export async function createLink(ctx: Ctx, access: Access, from: number, to: number) {
  if (from === to) throw new AppError('VALIDATION_FAILED', 'A link must join two different nodes');
  const nodes = await ctx.k
    .selectFrom('nodes')
    .select('id')
    .where('project_id', '=', access.projectId)
    .where('id', 'in', [from, to])
    .execute();
  if (nodes.length !== 2) throw new AppError('INVALID_REFERENCE', 'Both nodes must belong to this project');
  const exists = await ctx.k
    .selectFrom('links')
    .select('id')
    .where('project_id', '=', access.projectId)
    .where('from_node_id', '=', from)
    .where('to_node_id', '=', to)
    .executeTakeFirst();
  if (exists) throw new AppError('CONFLICT', 'These nodes are already linked');
  const values = { project_id: access.projectId, from_node_id: from, to_node_id: to };
  const { id } = await ctx.k.insertInto('links').values(values).returning('id').executeTakeFirstOrThrow();
  return toLink({ id, ...values });
}

export async function deleteLink(ctx: Ctx, access: Access, linkId: number) {
  const res = await ctx.k
    .deleteFrom('links')
    .where('id', '=', linkId)
    .where('project_id', '=', access.projectId)
    .executeTakeFirst();
  if (Number(res.numDeletedRows) === 0) throw notFound('Link');
}
