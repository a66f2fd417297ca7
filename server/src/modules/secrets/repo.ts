// SQL for secrets. value_enc always holds a sealed value (lib/data-keys); nothing here decrypts.

import type { Selectable } from 'kysely';
import type { Q } from '../../context.js';
import type { SecretsTable } from '../../db/schema.js';

export type SecretType = SecretsTable['type'];

export type SecretRow = Selectable<SecretsTable>;
export type NewSecretRow = Omit<SecretRow, 'id'>;

export async function countSecrets(q: Q, projectId: number): Promise<number> {
  const r = await q
    .selectFrom('secrets')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('project_id', '=', projectId)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

export function listSecretRows(q: Q, projectId: number, limit: number, offset: number): Promise<SecretRow[]> {
  return q
    .selectFrom('secrets')
    .selectAll()
    .where('project_id', '=', projectId)
    .orderBy('name')
    .limit(limit)
    .offset(offset)
    .execute();
}

export function findSecret(q: Q, projectId: number, id: number): Promise<SecretRow | undefined> {
  return q
    .selectFrom('secrets')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** Which of `names` already exist in the project, in the order asked. */
export async function takenNames(q: Q, projectId: number, names: string[], exceptId?: number): Promise<string[]> {
  if (!names.length) return [];
  let sel = q.selectFrom('secrets').select('name').where('project_id', '=', projectId).where('name', 'in', names);
  if (exceptId !== undefined) sel = sel.where('id', '!=', exceptId);
  const taken = new Set((await sel.execute()).map((r) => r.name));
  return names.filter((n) => taken.has(n));
}

export async function insertSecret(q: Q, row: NewSecretRow): Promise<number> {
  const { id } = await q.insertInto('secrets').values(row).returning('id').executeTakeFirstOrThrow();
  return id;
}

export async function updateSecretRow(q: Q, id: number, set: Partial<NewSecretRow>): Promise<void> {
  await q.updateTable('secrets').set(set).where('id', '=', id).execute();
}

export async function deleteSecretRow(q: Q, projectId: number, id: number): Promise<boolean> {
  const r = await q.deleteFrom('secrets').where('project_id', '=', projectId).where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Node ids (of `ids`) that belong to the project. */
export async function projectNodeIds(q: Q, projectId: number, ids: number[]): Promise<number[]> {
  if (!ids.length) return [];
  return (
    await q.selectFrom('nodes').select('id').where('project_id', '=', projectId).where('id', 'in', ids).execute()
  ).map((r) => r.id);
}

export function allSecretRows(q: Q, projectId: number): Promise<SecretRow[]> {
  return q.selectFrom('secrets').selectAll().where('project_id', '=', projectId).orderBy('name').execute();
}
