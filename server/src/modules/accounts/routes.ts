import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { requireActor, requireUser, SESSION_COOKIE } from '../../auth/plugin.js';
import { AppError } from '../../errors.js';
import { errors, Instant, NameText } from '../../lib/http.js';
import { AccountLocked } from './login-failures.js';
import * as accounts from './service.js';

/** A locked account's 429 carries Retry-After like the other throttles. */
async function withRetryAfter<T>(reply: FastifyReply, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof AccountLocked) reply.header('retry-after', String(err.retryAfterS));
    throw err;
  }
}

const Credentials = Type.Object({
  email: Type.String({ format: 'email', maxLength: 254 }),
  password: Type.String({ minLength: 1, maxLength: 1024 }),
});
/** The rules for a new password, at sign-up and on a change. */
const NewPassword = Type.String({ minLength: 8, maxLength: 1024 });
const SignUp = Type.Object({
  email: Type.String({ format: 'email', maxLength: 254 }),
  password: NewPassword,
  name: NameText(200),
});
const ChangePassword = Type.Object({
  current_password: Type.String({ minLength: 1, maxLength: 1024 }),
  new_password: NewPassword,
});
const EndedSessions = Type.Object({ ok: Type.Literal(true), ended_sessions: Type.Integer({ minimum: 0 }) });
const User = Type.Object({ id: Type.Integer(), email: Type.String(), name: Type.String(), created_at: Instant });
/** A session's answer: who is signed in and the CSRF token their changes must carry. */
const Session = Type.Object({ user: User, csrf_token: Type.String() });
const Ok = Type.Object({ ok: Type.Literal(true) });
const AUTH_ERRORS = errors(400, 401, 403, 429, 503);

export const accountRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { ctx } = app;
  const secure = ctx.config.publicUrl.startsWith('https:');
  const setSession = (reply: FastifyReply, token: string) =>
    reply.setCookie(SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: 'lax',
      secure,
      path: '/',
      maxAge: accounts.SESSION_TTL_MS / 1000,
    });
  const throttle = { rateLimit: { max: 10, timeWindow: '1 minute' } };
  const tags = ['accounts'];

  app.post(
    '/auth/signup',
    { schema: { tags, body: SignUp, response: { 201: Session, ...AUTH_ERRORS, ...errors(409) } }, config: throttle },
    async (req, reply) => {
      const user = await accounts.signUp(ctx, req.body);
      const session = await accounts.createSession(ctx, user.id);
      setSession(reply, session.token);
      return reply.code(201).send({ user, csrf_token: session.csrf_token });
    },
  );

  app.post(
    '/auth/login',
    { schema: { tags, body: Credentials, response: { 200: Session, ...AUTH_ERRORS } }, config: throttle },
    async (req, reply) => {
      const { email, password } = req.body;
      const { user, token, csrf_token } = await withRetryAfter(reply, accounts.logIn(ctx, email, password));
      setSession(reply, token);
      return { user, csrf_token };
    },
  );

  app.post(
    '/auth/password',
    { schema: { tags, body: ChangePassword, response: { 200: EndedSessions, ...AUTH_ERRORS } }, config: throttle },
    async (req, reply) => {
      const actor = requireUser(req);
      const { current_password, new_password } = req.body;
      const ended = await withRetryAfter(reply, accounts.changePassword(ctx, actor, current_password, new_password));
      return { ok: true as const, ended_sessions: ended };
    },
  );

  app.post(
    '/auth/logout-all',
    { schema: { tags, response: { 200: EndedSessions, ...AUTH_ERRORS } } },
    async (req, reply) => {
      const actor = requireUser(req);
      const ended = await accounts.logOutEverywhere(ctx, actor.userId);
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return { ok: true as const, ended_sessions: ended };
    },
  );

  app.post('/auth/logout', { schema: { tags, response: { 200: Ok, ...AUTH_ERRORS } } }, async (req, reply) => {
    const actor = requireUser(req);
    await accounts.logOut(ctx, actor.sessionId);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { ok: true as const };
  });

  app.get('/auth/me', { schema: { tags, response: { 200: Session, ...AUTH_ERRORS } } }, async (req) => {
    const actor = requireActor(req);
    if (actor.kind !== 'user') throw new AppError('FORBIDDEN', 'Use /api/auth/whoami with an API key');
    return accounts.currentSession(ctx, actor.userId, actor.sessionId);
  });
};
