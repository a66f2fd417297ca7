// Accounts: sign-up, login, sessions. Sessions are server-side; the cookie holds a random
// token whose SHA-256 is stored, so a database leak does not leak live sessions. Wrong passwords
// slow down further attempts on the account (login-failures.ts); expired sessions are purged on login.

import { hashPassword, verifyPassword } from '../../auth/password.js';
import type { Ctx } from '../../context.js';
import { AppError } from '../../errors.js';
import { DAY_MS, toIso } from '../../lib/clock.js';
import { randomToken, sha256hex } from '../../lib/crypto.js';
import { claimAttempt, clearFailures, failureKey, sweepFailures } from './login-failures.js';
import * as repo from './repo.js';

export const SESSION_TTL_MS = 30 * DAY_MS;

export interface PublicUser {
  id: number;
  email: string;
  name: string;
  created_at: string;
}

const toPublic = (u: { id: number; email: string; name: string; created_at: number }): PublicUser => ({
  id: u.id,
  email: u.email,
  name: u.name,
  created_at: toIso(u.created_at),
});

export const normalizeEmail = (email: string) => email.trim().toLowerCase();

export async function signUp(ctx: Ctx, input: { email: string; password: string; name: string }): Promise<PublicUser> {
  const email = normalizeEmail(input.email);
  const name = input.name.trim();
  if (!name) throw new AppError('VALIDATION_FAILED', 'name must not be empty');
  const password_hash = await hashPassword(input.password);
  const created_at = ctx.clock.now();
  if (await repo.findUserByEmail(ctx.k, email)) throw new AppError('EMAIL_TAKEN', 'An account with this email exists');
  try {
    const id = await repo.insertUser(ctx.k, { email, name, password_hash, created_at });
    return toPublic({ id, email, name, created_at });
  } catch (err) {
    // a concurrent sign-up with the same email lost the race on the unique index
    if (await repo.findUserByEmail(ctx.k, email))
      throw new AppError('EMAIL_TAKEN', 'An account with this email exists');
    throw err;
  }
}

export async function logIn(ctx: Ctx, email: string, password: string) {
  const normalized = normalizeEmail(email);
  const key = failureKey(normalized);
  const now = ctx.clock.now();
  // before the user lookup: known and unknown emails are counted and locked alike
  await claimAttempt(ctx.k, key, now);
  const user = await repo.findUserByEmail(ctx.k, normalized);
  const ok = await verifyPassword(password, user?.password_hash ?? null);
  if (!user || !ok) throw new AppError('INVALID_CREDENTIALS', 'Wrong email or password');
  await clearFailures(ctx.k, key);
  // housekeeping where it is cheap (indexed deletes) and rare enough: a login
  await repo.deleteExpiredSessions(ctx.k, now);
  await sweepFailures(ctx.k, now);
  return { user: toPublic(user), ...(await createSession(ctx, user.id)) };
}

/**
 * Checks the current password (counted like a login attempt), stores the new one and ends every
 * other session of the user: whoever else held one (a stolen cookie) is signed out.
 */
export async function changePassword(
  ctx: Ctx,
  actor: { userId: number; sessionId: number },
  current: string,
  next: string,
): Promise<number> {
  const user = await repo.findCredentialsById(ctx.k, actor.userId);
  if (!user) throw new AppError('UNAUTHENTICATED', 'Sign in first');
  const key = failureKey(user.email);
  await claimAttempt(ctx.k, key, ctx.clock.now());
  if (!(await verifyPassword(current, user.password_hash)))
    throw new AppError('INVALID_CREDENTIALS', 'The current password is wrong');
  await clearFailures(ctx.k, key);
  const password_hash = await hashPassword(next);
  return ctx.k.transaction().execute(async (tx) => {
    await repo.updatePasswordHash(tx, actor.userId, password_hash);
    return repo.deleteUserSessions(tx, actor.userId, actor.sessionId);
  });
}

/** Ends every session of the user, this one included; the number ended. */
export const logOutEverywhere = (ctx: Ctx, userId: number): Promise<number> => repo.deleteUserSessions(ctx.k, userId);

export async function createSession(ctx: Ctx, userId: number) {
  const token = randomToken(32);
  const csrf_token = randomToken(24);
  const now = ctx.clock.now();
  await repo.insertSession(ctx.k, {
    token_hash: sha256hex(token),
    user_id: userId,
    csrf_token,
    created_at: now,
    expires_at: now + SESSION_TTL_MS,
  });
  return { token, csrf_token };
}

export async function resolveSession(ctx: Ctx, token: string) {
  return repo.findSession(ctx.k, sha256hex(token), ctx.clock.now());
}

export async function logOut(ctx: Ctx, sessionId: number) {
  await repo.deleteSession(ctx.k, sessionId);
}

/** The signed-in person and their session's CSRF token (GET /auth/me). */
export async function currentSession(ctx: Ctx, userId: number, sessionId: number) {
  const [user, session] = await Promise.all([
    getUser(ctx, userId),
    ctx.k.selectFrom('sessions').select('csrf_token').where('id', '=', sessionId).executeTakeFirstOrThrow(),
  ]);
  return { user, csrf_token: session.csrf_token };
}

export async function getUser(ctx: Ctx, id: number): Promise<PublicUser> {
  const u = await repo.findUserById(ctx.k, id);
  if (!u) throw new AppError('UNAUTHENTICATED', 'Sign in first');
  return toPublic(u);
}
