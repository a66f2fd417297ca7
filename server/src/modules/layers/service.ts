// Data layers: isolated sets of packages of a project. Shared layers are visible to
// everyone who can view the project; a personal layer (created when a key request is approved)
// only to its user and to project managers. An invisible layer answers 404, never 403.
import { type Access, can } from '../../auth/permissions.js';
import type { Ctx } from '../../context.js';
import { AppError, notFound } from '../../errors.js';
import { toIso } from '../../lib/clock.js';

export interface LayerRow {
  id: number;
  project_id: number;
  name: string;
  kind: 'shared' | 'personal';
  user_id: number | null;
  created_at: number;
}

export const toLayer = (l: LayerRow) => ({
  id: l.id,
  project_id: l.project_id,
  name: l.name,
  kind: l.kind,
  user_id: l.user_id,
  created_at: toIso(l.created_at),
});

export function canSeeLayer(access: Access, layer: Pick<LayerRow, 'kind' | 'user_id'>): boolean {
  if (layer.kind === 'shared') return true;
  return layer.user_id === access.actor.userId || can(access, 'project_manage');
}

export async function listLayers(ctx: Ctx, access: Access) {
  let q = ctx.k.selectFrom('data_layers').selectAll().where('project_id', '=', access.projectId);
  if (!can(access, 'project_manage')) {
    const userId = access.actor.userId;
    q = q.where((eb) => eb.or([eb('kind', '=', 'shared'), eb('user_id', '=', userId)]));
  }
  const rows = await q.orderBy('id', 'asc').execute();
  return rows.map((r) => toLayer(r as LayerRow));
}

/**
 * The layer a client should work in when it did not name one. A key holder: their personal layer.
 * Anyone else (or a holder without one): the newest layer that is shared or their own. Other
 * people's personal layers are never "last", even for managers who can see them.
 */
export async function lastLayerRow(ctx: Ctx, access: Access): Promise<LayerRow> {
  const userId = access.actor.userId;
  const base = ctx.k.selectFrom('data_layers').selectAll().where('project_id', '=', access.projectId);
  if (access.actor.kind === 'key') {
    const own = await base
      .where('kind', '=', 'personal')
      .where('user_id', '=', userId)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (own) return own as LayerRow;
  }
  const row = await base
    .where((eb) => eb.or([eb('kind', '=', 'shared'), eb('user_id', '=', userId)]))
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row) throw notFound('Data layer');
  return row as LayerRow;
}

/** The layer if it belongs to the project and the caller may see it; 404 otherwise. */
export async function requireVisibleLayer(ctx: Ctx, access: Access, layerId: number): Promise<LayerRow> {
  const row = await ctx.k
    .selectFrom('data_layers')
    .selectAll()
    .where('id', '=', layerId)
    .where('project_id', '=', access.projectId)
    .executeTakeFirst();
  if (!row || !canSeeLayer(access, row as LayerRow)) throw notFound('Data layer');
  return row as LayerRow;
}

/** `data_layer_id` given in the query and/or the body (they must agree), else the caller's last layer. */
export async function resolveLayer(
  ctx: Ctx,
  access: Access,
  fromQuery: number | undefined,
  fromBody: number | undefined,
): Promise<LayerRow> {
  const id = fromQuery ?? fromBody;
  if (id === undefined) return lastLayerRow(ctx, access);
  if (fromQuery !== undefined && fromBody !== undefined && fromQuery !== fromBody) {
    throw new AppError('VALIDATION_FAILED', 'data_layer_id differs between the query and the body');
  }
  return requireVisibleLayer(ctx, access, id);
}
