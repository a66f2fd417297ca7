import type { Q } from '../../context.js';

export const findUserByEmail = (q: Q, email: string) =>
  q.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();

export const findUserById = (q: Q, id: number) =>
  q.selectFrom('users').select(['id', 'email', 'name', 'created_at']).where('id', '=', id).executeTakeFirst();

export const findCredentialsById = (q: Q, id: number) =>
  q.selectFrom('users').select(['email', 'password_hash']).where('id', '=', id).executeTakeFirst();

export async function insertUser(q: Q, u: { email: string; name: string; password_hash: string; created_at: number }) {
  const row = await q.insertInto('users').values(u).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

export async function insertSession(
  q: Q,
  s: { token_hash: string; user_id: number; csrf_token: string; created_at: number; expires_at: number },
) {
  const row = await q.insertInto('sessions').values(s).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

export const findSession = (q: Q, tokenHash: string, now: number) =>
  q
    .selectFrom('sessions')
    .select(['id', 'user_id', 'csrf_token'])
    .where('token_hash', '=', tokenHash)
    .where('expires_at', '>', now)
    .executeTakeFirst();

export const deleteSession = (q: Q, id: number) => q.deleteFrom('sessions').where('id', '=', id).execute();

export const deleteExpiredSessions = (q: Q, now: number) =>
  q.deleteFrom('sessions').where('expires_at', '<=', now).execute();

export const updatePasswordHash = (q: Q, id: number, password_hash: string) =>
  q.updateTable('users').set({ password_hash }).where('id', '=', id).execute();

/** Deletes the user's sessions (all, or all but `keep`); the number deleted. */
export async function deleteUserSessions(q: Q, userId: number, keep?: number): Promise<number> {
  let del = q.deleteFrom('sessions').where('user_id', '=', userId);
  if (keep !== undefined) del = del.where('id', '!=', keep);
  const r = await del.executeTakeFirst();
  return Number(r.numDeletedRows);
}
