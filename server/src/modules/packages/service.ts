// Packages: create in a node, search by master/label/after_id, get one, list files.
// A package lives in one node and one data layer; its master is itself (no parents) or the
// master of its first parent, so a result posted with parent_ids [input id] is found by
// searching {master_id: input id}.
import type { Access } from '../../auth/permissions.js';
import type { Ctx } from '../../context.js';
import { AppError, notFound } from '../../errors.js';
import { toIso } from '../../lib/clock.js';
import { parseJson } from '../../lib/json.js';
import { objectUrl } from '../../lib/signed-url.js';
import { canSeeLayer, type LayerRow } from '../layers/service.js';
import { heldObjects, touchObjects } from '../objects/service.js';

export interface FileInput {
  name: string;
  content_hash: string;
  size?: number | undefined;
  type?: string | null | undefined;
  is_executable?: boolean | number | undefined;
  is_binary?: boolean | number | undefined;
}

export interface PackageInput {
  label?: string | null | undefined;
  fields?: Record<string, unknown> | null | undefined;
  files?: FileInput[] | undefined;
  parent_ids?: number[] | undefined;
}

export interface SearchFilter {
  master_id?: number | undefined;
  label?: string | undefined;
  after_id?: number | undefined;
}

interface PackageRow {
  id: number;
  project_id: number;
  node_id: number;
  data_layer_id: number;
  label: string;
  master_id: number | null;
  parent_ids: string;
  fields: string;
  created_at: number;
}

interface FileRow {
  package_id: number;
  position: number;
  name: string;
  content_hash: string;
  size: number;
  type: string;
  is_executable: number;
  is_binary: number;
}

/** fields are stored as a JSON object and returned as [{name, value}] in insertion order. */
const fieldList = (json: string) =>
  Object.entries(parseJson<Record<string, unknown>>(json, {})).map(([name, value]) => ({ name, value }));

const toPackage = (p: PackageRow) => ({
  id: p.id,
  project_id: p.project_id,
  node_id: p.node_id,
  data_layer_id: p.data_layer_id,
  label: p.label,
  master_id: p.master_id ?? p.id,
  parent_ids: parseJson<number[]>(p.parent_ids, []),
  fields: fieldList(p.fields),
  created_at: toIso(p.created_at),
});

const toFileMeta = (f: FileRow) => ({
  name: f.name,
  content_hash: f.content_hash,
  size: Number(f.size),
  type: f.type,
  is_executable: f.is_executable === 1,
  is_binary: f.is_binary === 1,
});

const PACKAGE_COLUMNS = [
  'id',
  'project_id',
  'node_id',
  'data_layer_id',
  'label',
  'master_id',
  'parent_ids',
  'fields',
  'created_at',
] as const;

/** Relative path, no `..`, no absolute path, no backslash or control characters (downloaders write it to disk). */
export function checkFileName(name: string): void {
  const bad =
    name.startsWith('/') ||
    name.includes('\\') ||
    // biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
    /[\u0000-\u001f]/.test(name) ||
    name.split('/').some((seg) => seg === '' || seg === '.' || seg === '..');
  if (bad)
    throw new AppError(
      'VALIDATION_FAILED',
      `File name "${name.slice(0, 100)}" must be a relative path without "..", "\\" or empty parts`,
    );
}

export async function requireNodeIn(ctx: Ctx, projectId: number, nodeId: number): Promise<void> {
  const node = await ctx.k
    .selectFrom('nodes')
    .select('id')
    .where('id', '=', nodeId)
    .where('project_id', '=', projectId)
    .executeTakeFirst();
  if (!node) throw notFound('Node');
}

export async function createPackage(ctx: Ctx, access: Access, nodeId: number, layer: LayerRow, input: PackageInput) {
  const projectId = access.projectId;
  const parentIds = [...new Set(input.parent_ids ?? [])];
  let master: number | null = null;
  if (parentIds.length) {
    const parents = await ctx.k
      .selectFrom('packages')
      .select(['id', 'master_id', 'data_layer_id'])
      .where('project_id', '=', projectId)
      .where('id', 'in', parentIds)
      .execute();
    const byId = new Map(parents.map((p) => [p.id, p]));
    const missing = parentIds.filter((id) => byId.get(id)?.data_layer_id !== layer.id);
    if (missing.length) {
      throw new AppError(
        'INVALID_REFERENCE',
        `Parent package(s) ${missing.slice(0, 10).join(', ')} not found in this project and data layer`,
      );
    }
    const first = byId.get(parentIds[0] as number);
    master = first?.master_id ?? first?.id ?? null;
  }

  const files = (input.files ?? []).map((f) => ({ ...f, content_hash: f.content_hash.toLowerCase() }));
  for (const f of files) checkFileName(f.name);
  const hashes = [...new Set(files.map((f) => f.content_hash))];
  let sizes = new Map<string, number>();

  const row = await ctx.k.transaction().execute(async (trx) => {
    // Only objects this layer holds: the same refusal whether or not another layer has the bytes.
    // Touched first, in this transaction: the object collector cannot remove one between this
    // check and the reference (it waits for the row, then sees it touched).
    await touchObjects(trx, hashes, ctx.clock.now());
    sizes = await heldObjects(trx, layer.id, hashes);
    const missing = hashes.filter((h) => !sizes.has(h));
    if (missing.length) {
      throw new AppError(
        'INVALID_REFERENCE',
        `Object(s) ${missing.slice(0, 5).join(', ')} not uploaded to this data layer (PUT /api/projects/${projectId}/objects/<sha256>?data_layer_id=${layer.id} first)`,
      );
    }
    const values = {
      project_id: projectId,
      node_id: nodeId,
      data_layer_id: layer.id,
      label: input.label ?? '',
      master_id: master,
      parent_ids: JSON.stringify(parentIds),
      fields: JSON.stringify(input.fields ?? {}),
      created_by_user_id: access.actor.userId,
      created_by_key_id: access.actor.kind === 'key' ? access.actor.keyId : null,
      created_at: ctx.clock.now(),
    };
    const { id } = await trx.insertInto('packages').values(values).returning('id').executeTakeFirstOrThrow();
    if (master === null) {
      master = id;
      await trx.updateTable('packages').set({ master_id: id }).where('id', '=', id).execute();
    }
    if (files.length) {
      await trx
        .insertInto('package_files')
        .values(
          files.map((f, position) => ({
            package_id: id,
            position,
            name: f.name,
            content_hash: f.content_hash,
            size: sizes.get(f.content_hash) ?? 0,
            type: f.type || 'application/octet-stream',
            is_executable: f.is_executable ? 1 : 0,
            is_binary: f.is_binary ? 1 : 0,
          })),
        )
        .execute();
    }
    return { id, ...values, master_id: master };
  });
  return {
    ...toPackage(row),
    files: files.map((f) => ({
      name: f.name,
      content_hash: f.content_hash,
      size: sizes.get(f.content_hash) ?? 0,
      type: f.type || 'application/octet-stream',
      is_executable: Boolean(f.is_executable),
      is_binary: Boolean(f.is_binary),
    })),
  };
}

/**
 * Packages of one node in one layer, oldest first. With master_id the query is an index range on
 * packages_master (data_layer_id, node_id, master_id, id); otherwise on packages_node.
 * `total` counts every match; when the first page already holds all of them no COUNT is run.
 */
export async function searchPackages(
  ctx: Ctx,
  nodeId: number,
  layerId: number,
  filter: SearchFilter,
  limit: number,
  offset: number,
) {
  let q = ctx.k.selectFrom('packages').where('data_layer_id', '=', layerId).where('node_id', '=', nodeId);
  if (filter.master_id !== undefined) q = q.where('master_id', '=', filter.master_id);
  if (filter.after_id !== undefined) q = q.where('id', '>', filter.after_id);
  if (filter.label !== undefined) q = q.where('label', '=', filter.label);
  const rows = (await q
    .select(PACKAGE_COLUMNS)
    .orderBy('id', 'asc')
    .limit(limit)
    .offset(offset)
    .execute()) as PackageRow[];
  let total: number;
  if (rows.length < limit && (offset === 0 || rows.length > 0)) total = offset + rows.length;
  else total = Number((await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  return { total, items: rows.map(toPackage) };
}

/** The package if it is in this project and node and in a layer the caller can see; 404 otherwise. */
async function requirePackage(ctx: Ctx, access: Access, nodeId: number, packageId: number): Promise<PackageRow> {
  const row = await ctx.k
    .selectFrom('packages')
    .innerJoin('data_layers', 'data_layers.id', 'packages.data_layer_id')
    .select([
      'packages.id',
      'packages.project_id',
      'packages.node_id',
      'packages.data_layer_id',
      'packages.label',
      'packages.master_id',
      'packages.parent_ids',
      'packages.fields',
      'packages.created_at',
      'data_layers.kind as layer_kind',
      'data_layers.user_id as layer_user_id',
    ])
    .where('packages.id', '=', packageId)
    .where('packages.node_id', '=', nodeId)
    .where('packages.project_id', '=', access.projectId)
    .executeTakeFirst();
  if (!row || !canSeeLayer(access, { kind: row.layer_kind, user_id: row.layer_user_id })) throw notFound('Package');
  return row;
}

async function filesOf(ctx: Ctx, packageId: number): Promise<FileRow[]> {
  return ctx.k
    .selectFrom('package_files')
    .select(['package_id', 'position', 'name', 'content_hash', 'size', 'type', 'is_executable', 'is_binary'])
    .where('package_id', '=', packageId)
    .orderBy('position', 'asc')
    .execute();
}

export async function getPackage(ctx: Ctx, access: Access, nodeId: number, packageId: number) {
  const row = await requirePackage(ctx, access, nodeId, packageId);
  const files = await filesOf(ctx, row.id);
  return { ...toPackage(row), files: files.map(toFileMeta) };
}

/** Files with `content` = absolute signed, expiring download URL (no auth header needed), for the package's layer. */
export async function listFiles(ctx: Ctx, access: Access, nodeId: number, packageId: number) {
  const row = await requirePackage(ctx, access, nodeId, packageId);
  const files = await filesOf(ctx, row.id);
  const scope = { projectId: access.projectId, layerId: row.data_layer_id };
  return files.map((f) => ({ ...toFileMeta(f), content: objectUrl(ctx, 'GET', f.content_hash, scope) }));
}
