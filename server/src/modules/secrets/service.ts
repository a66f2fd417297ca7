// Secrets: named values of a project, sealed at rest (lib/data-keys), granted to nodes.
// Values leave the server only (a) to a project manager who reveals them (audited as
// 'secret.revealed') and (b) to a runner holding code_view on a node the secret is granted to.
// Values never go into audit details, logs or error messages.
import type { Access, Actor } from '../../auth/permissions.js';
import type { Ctx, Q } from '../../context.js';
import { AppError, notFound } from '../../errors.js';
import { toIso } from '../../lib/clock.js';
import { type DataKey, ensureDataKey, loadDataKey, openSecret, sealSecret } from '../../lib/data-keys.js';
import { parseJson } from '../../lib/json.js';
import { audit } from '../audit/service.js';
import { requireNode } from '../nodes/service.js';
import type { SecretRow, SecretType } from './repo.js';
import * as repo from './repo.js';

export const SECRET_NAME_RE = /^[A-Za-z0-9_]+$/;
export const MAX_NAME_LENGTH = 128;

export interface RegistryValue {
  host: string;
  user: string;
  password: string;
}
export type SecretValue = string | RegistryValue;

export interface SecretInput {
  name: string;
  description?: string | undefined;
  type?: SecretType | undefined;
  value: SecretValue;
  node_ids?: number[] | undefined;
}
export type SecretPatch = Partial<SecretInput>;

/** Where an imported secret came from: its key, and null for the token or the info field's name. */
export interface SecretSource {
  source_key_id: number;
  source_field: string | null;
}

export interface PublicSecret {
  id: number;
  project_id: number;
  name: string;
  description: string;
  type: SecretType;
  node_ids: number[];
  created_at: string;
  updated_at: string;
  /** only when revealed by a project manager */
  value?: SecretValue;
}

export const toPublic = (r: Omit<SecretRow, 'value_enc'>): PublicSecret => ({
  id: r.id,
  project_id: r.project_id,
  name: r.name,
  description: r.description,
  type: r.type,
  node_ids: parseJson<number[]>(r.node_ids, []),
  created_at: toIso(r.created_at),
  updated_at: toIso(r.updated_at),
});

export function checkName(name: string, what = 'Secret name'): void {
  if (!SECRET_NAME_RE.test(name))
    throw new AppError('VALIDATION_FAILED', `${what} may contain only letters, digits and _`);
  if (name.length > MAX_NAME_LENGTH)
    throw new AppError('VALIDATION_FAILED', `${what} is longer than ${MAX_NAME_LENGTH} characters`);
}

/** The value must match its type; the stored plaintext is its JSON. */
function encodeValue(type: SecretType, value: SecretValue): string {
  if (type === 'variable') {
    if (typeof value !== 'string') throw new AppError('VALIDATION_FAILED', 'A variable secret takes a string value');
    return JSON.stringify(value);
  }
  if (typeof value !== 'object' || value === null || typeof value.host !== 'string' || !value.host.trim()) {
    throw new AppError('VALIDATION_FAILED', 'A registry secret takes {host, user, password}');
  }
  const { host, user, password } = value;
  if (typeof user !== 'string' || typeof password !== 'string') {
    throw new AppError('VALIDATION_FAILED', 'A registry secret takes {host, user, password}');
  }
  return JSON.stringify({ host: host.trim(), user, password });
}

function decodeValue(ctx: Ctx, dk: DataKey, row: SecretRow): SecretValue {
  const text = openSecret(ctx, dk, row.name, row.value_enc, row);
  const v = parseJson<unknown>(text, undefined);
  if (row.type === 'variable' && typeof v === 'string') return v;
  if (row.type === 'registry' && v && typeof v === 'object') return v as RegistryValue;
  throw new AppError('DECRYPTION_FAILED', `Secret "${row.name}" holds a value of an unexpected shape`);
}

/**
 * How a secret appears as an environment variable: a variable as is; registry credentials as the
 * JSON text `{"host":…,"user":…,"password":…}` (a job parses it, e.g. for `docker login`).
 */
export const envValue = (v: SecretValue): string => (typeof v === 'string' ? v : JSON.stringify(v));

async function requireDataKey(q: Q, ctx: Ctx, projectId: number): Promise<DataKey> {
  const dk = await loadDataKey(q, ctx, projectId);
  // a secret row exists only after its project's data key was created
  if (!dk)
    throw new AppError('DECRYPTION_FAILED', 'The secrets of this project cannot be decrypted: its data key is missing');
  return dk;
}

async function checkNodes(q: Q, projectId: number, nodeIds: number[]): Promise<number[]> {
  const unique = [...new Set(nodeIds)].sort((a, b) => a - b);
  const found = await repo.projectNodeIds(q, projectId, unique);
  if (found.length !== unique.length) throw new AppError('INVALID_REFERENCE', 'Every node must belong to this project');
  return unique;
}

const nameTaken = (names: string[]) =>
  new AppError(
    'NAME_TAKEN',
    names.length === 1
      ? `A secret named "${names[0]}" exists in this project`
      : `Secrets with these names exist in this project: ${names.join(', ')}`,
    { names },
  );

/** Inserts prepared secrets; a lost race on the unique index still answers NAME_TAKEN. */
async function insertAll(
  q: Q,
  ctx: Ctx,
  dk: DataKey,
  items: (Required<SecretInput> & Partial<SecretSource>)[],
): Promise<SecretRow[]> {
  const taken = await repo.takenNames(
    q,
    dk.projectId,
    items.map((i) => i.name),
  );
  if (taken.length) throw nameTaken(taken);
  const now = ctx.clock.now();
  const rows: SecretRow[] = [];
  for (const it of items) {
    const type = it.type;
    const row = {
      project_id: dk.projectId,
      name: it.name,
      description: it.description,
      type,
      value_enc: sealSecret(dk, it.name, encodeValue(type, it.value)),
      node_ids: JSON.stringify(it.node_ids),
      created_at: now,
      updated_at: now,
      source_key_id: it.source_key_id ?? null,
      source_field: it.source_field ?? null,
    };
    const id = await repo.insertSecret(q, row);
    rows.push({ id, ...row });
  }
  return rows;
}

/** Runs a write; a unique-index race (another writer took the name first) becomes NAME_TAKEN. */
async function withNameRace<T>(ctx: Ctx, projectId: number, names: string[], fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AppError) throw err;
    const taken = await repo.takenNames(ctx.k, projectId, names);
    if (taken.length) throw nameTaken(taken);
    throw err;
  }
}

export type SourceKeyStatus = 'active' | 'revoked' | 'expired' | 'rolled';

/**
 * The state of the keys secrets were imported from, so a list can mark a dead key's secrets. A
 * key that no longer exists (its project was deleted) reads as revoked.
 */
async function sourceStatuses(ctx: Ctx, rows: SecretRow[]): Promise<Map<number, SourceKeyStatus>> {
  const ids = [...new Set(rows.flatMap((r) => (r.source_key_id === null ? [] : [r.source_key_id])))];
  const out = new Map<number, SourceKeyStatus>();
  if (!ids.length) return out;
  const keys = await ctx.k
    .selectFrom('api_keys')
    .select(['id', 'revoked_at', 'expires_at', 'rolled_to'])
    .where('id', 'in', ids)
    .execute();
  const now = ctx.clock.now();
  for (const id of ids) out.set(id, 'revoked');
  for (const k of keys) {
    const ended = k.expires_at !== null && Number(k.expires_at) <= now;
    out.set(k.id, k.revoked_at !== null ? 'revoked' : !ended ? 'active' : k.rolled_to !== null ? 'rolled' : 'expired');
  }
  return out;
}

export async function listSecrets(ctx: Ctx, access: Access, page: { limit: number; offset: number; reveal: boolean }) {
  const total = await repo.countSecrets(ctx.k, access.projectId);
  const rows = await repo.listSecretRows(ctx.k, access.projectId, page.limit, page.offset);
  const statuses = await sourceStatuses(ctx, rows);
  const listed = (r: SecretRow) => ({
    ...toPublic(r),
    source_key_id: r.source_key_id,
    source_key_status: r.source_key_id === null ? null : (statuses.get(r.source_key_id) ?? null),
  });
  if (!page.reveal || !rows.length) return { total, items: rows.map(listed) };
  const dk = await requireDataKey(ctx.k, ctx, access.projectId);
  const items = rows.map((r) => ({ ...listed(r), value: decodeValue(ctx, dk, r) }));
  await ctx.k.transaction().execute(async (trx) => {
    for (const r of rows) {
      await audit(trx, ctx, access.projectId, access.actor, {
        action: 'secret.revealed',
        object_type: 'secret',
        object_id: r.id,
        details: { name: r.name },
      });
    }
  });
  return { total, items };
}

export async function getSecret(ctx: Ctx, projectId: number, id: number): Promise<PublicSecret> {
  const row = await repo.findSecret(ctx.k, projectId, id);
  if (!row) throw notFound('Secret');
  return toPublic(row);
}

export async function revealSecret(
  ctx: Ctx,
  access: Access,
  id: number,
): Promise<{ id: number; name: string; value: SecretValue }> {
  const row = await repo.findSecret(ctx.k, access.projectId, id);
  if (!row) throw notFound('Secret');
  const value = decodeValue(ctx, await requireDataKey(ctx.k, ctx, access.projectId), row);
  await audit(ctx.k, ctx, access.projectId, access.actor, {
    action: 'secret.revealed',
    object_type: 'secret',
    object_id: row.id,
    details: { name: row.name },
  });
  return { id: row.id, name: row.name, value };
}

export async function createSecret(ctx: Ctx, access: Access, input: SecretInput): Promise<PublicSecret> {
  checkName(input.name);
  const type = input.type ?? 'variable';
  encodeValue(type, input.value); // validate before touching the database
  return withNameRace(ctx, access.projectId, [input.name], () =>
    ctx.k.transaction().execute(async (trx) => {
      const node_ids = await checkNodes(trx, access.projectId, input.node_ids ?? []);
      const dk = await ensureDataKey(trx, ctx, access.projectId);
      const [row] = await insertAll(trx, ctx, dk, [
        { name: input.name, description: input.description ?? '', type, value: input.value, node_ids },
      ]);
      if (!row) throw new AppError('INTERNAL', 'Secret was not stored');
      await audit(trx, ctx, access.projectId, access.actor, {
        action: 'secret.created',
        object_type: 'secret',
        object_id: row.id,
        details: { name: row.name, type, node_ids },
      });
      return toPublic(row);
    }),
  );
}

/** Creates several secrets at once, all or nothing (used by the API-key import). */
export async function createSecretsIn(
  q: Q,
  ctx: Ctx,
  projectId: number,
  items: (Required<SecretInput> & SecretSource)[],
): Promise<SecretRow[]> {
  const dk = await ensureDataKey(q, ctx, projectId);
  return insertAll(q, ctx, dk, items);
}

export { nameTaken, withNameRace };

/**
 * A key was rolled: every secret imported from `fromKeyId` (in whichever project) now follows
 * `toKeyId`, and its token secrets hold `token`, so jobs pick up the new key untouched. Runs in
 * the roll's transaction; each rewrite is audited in the secret's project. Answers the rewritten
 * secrets.
 */
export async function followRolledKey(
  q: Q,
  ctx: Ctx,
  actor: Actor,
  fromKeyId: number,
  toKeyId: number,
  token: string,
): Promise<{ project_id: number; name: string }[]> {
  const rows = await q
    .selectFrom('secrets')
    .selectAll()
    .where('source_key_id', '=', fromKeyId)
    .orderBy('project_id')
    .orderBy('name')
    .execute();
  const dataKeys = new Map<number, DataKey>();
  const now = ctx.clock.now();
  const rewritten: { project_id: number; name: string }[] = [];
  for (const r of rows) {
    const set: Partial<SecretRow> = { source_key_id: toKeyId };
    if (r.source_field === null && r.type === 'variable') {
      const dk = dataKeys.get(r.project_id) ?? (await requireDataKey(q, ctx, r.project_id));
      dataKeys.set(r.project_id, dk);
      set.value_enc = sealSecret(dk, r.name, encodeValue('variable', token));
      set.updated_at = now;
      rewritten.push({ project_id: r.project_id, name: r.name });
      await audit(q, ctx, r.project_id, actor, {
        action: 'secret.updated',
        object_type: 'secret',
        object_id: r.id,
        details: { name: r.name, fields: ['value'], cause: 'key.rolled', key_id: toKeyId },
      });
    }
    await repo.updateSecretRow(q, r.id, set);
  }
  return rewritten;
}

export async function updateSecret(ctx: Ctx, access: Access, id: number, patch: SecretPatch): Promise<PublicSecret> {
  if (patch.name !== undefined) checkName(patch.name);
  const names = patch.name !== undefined ? [patch.name] : [];
  return withNameRace(ctx, access.projectId, names, () =>
    ctx.k.transaction().execute(async (trx) => {
      const row = await repo.findSecret(trx, access.projectId, id);
      if (!row) throw notFound('Secret');
      const set: Partial<SecretRow> = {};
      const name = patch.name ?? row.name;
      const type = patch.type ?? row.type;
      if (patch.name !== undefined && patch.name !== row.name) {
        const taken = await repo.takenNames(trx, access.projectId, [patch.name], id);
        if (taken.length) throw nameTaken(taken);
        set.name = patch.name;
      }
      if (patch.description !== undefined) set.description = patch.description;
      if (patch.type !== undefined && patch.type !== row.type && patch.value === undefined) {
        throw new AppError('VALIDATION_FAILED', 'Changing the type of a secret needs a new value');
      }
      if (patch.type !== undefined) set.type = type;
      if (patch.node_ids !== undefined)
        set.node_ids = JSON.stringify(await checkNodes(trx, access.projectId, patch.node_ids));
      // a value written by hand is no longer the imported key's: a roll must not overwrite it
      if (patch.value !== undefined) Object.assign(set, { source_key_id: null, source_field: null });
      if (patch.value !== undefined || set.name !== undefined) {
        // re-seal: the associated data binds the ciphertext to the secret's name
        const dk = await requireDataKey(trx, ctx, access.projectId);
        const plaintext =
          patch.value !== undefined
            ? encodeValue(type, patch.value)
            : openSecret(ctx, dk, row.name, row.value_enc, row);
        set.value_enc = sealSecret(dk, name, plaintext);
      }
      if (!Object.keys(set).length) return toPublic(row);
      set.updated_at = ctx.clock.now();
      await repo.updateSecretRow(trx, id, set);
      const changed = Object.keys(patch).filter((k) => (patch as Record<string, unknown>)[k] !== undefined);
      await audit(trx, ctx, access.projectId, access.actor, {
        action: 'secret.updated',
        object_type: 'secret',
        object_id: id,
        details: { name, fields: changed },
      });
      return toPublic({ ...row, ...set });
    }),
  );
}

export async function deleteSecret(ctx: Ctx, access: Access, id: number): Promise<void> {
  await ctx.k.transaction().execute(async (trx) => {
    const row = await repo.findSecret(trx, access.projectId, id);
    if (!row) throw notFound('Secret');
    await repo.deleteSecretRow(trx, access.projectId, id);
    await audit(trx, ctx, access.projectId, access.actor, {
      action: 'secret.deleted',
      object_type: 'secret',
      object_id: id,
      details: { name: row.name },
    });
  });
}

/** Runner view: name -> environment value of every secret granted to the node. */
/**
 * The runner view: name -> value of the secrets granted to a node. Every read is audited with who
 * read (person or key), the node and the names, never the values.
 */
export async function nodeSecrets(ctx: Ctx, access: Access, nodeId: number): Promise<Record<string, string>> {
  const { projectId } = access;
  await requireNode(ctx, projectId, nodeId);
  const rows = (await repo.allSecretRows(ctx.k, projectId)).filter((r) =>
    parseJson<number[]>(r.node_ids, []).includes(nodeId),
  );
  const out: Record<string, string> = {};
  if (rows.length) {
    const dk = await requireDataKey(ctx.k, ctx, projectId);
    for (const r of rows) out[r.name] = envValue(decodeValue(ctx, dk, r));
  }
  await audit(ctx.k, ctx, projectId, access.actor, {
    action: 'secret.runner_read',
    object_type: 'node',
    object_id: nodeId,
    details: { names: rows.map((r) => r.name), ...(access.actor.kind === 'key' ? { key_id: access.actor.keyId } : {}) },
  });
  return out;
}
