import type { Q } from '../../context.js';

export const findUserByEmail = (q: Q, email: string) =>
  q.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();

export const findUserById = (q: Q, id: number) =>
  q.selectFrom('users').select(['id', 'email', 'name', 'created_at']).where('id', '=', id).executeTakeFirst();

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
