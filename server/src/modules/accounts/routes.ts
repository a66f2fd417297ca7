import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { requireActor, requireUser, SESSION_COOKIE } from '../../auth/plugin.js';
import { AppError } from '../../errors.js';
import * as accounts from './service.js';

const Credentials = Type.Object({
  email: Type.String({ format: 'email', maxLength: 254 }),
  password: Type.String({ minLength: 1, maxLength: 1024 }),
});
const SignUp = Type.Object({
  email: Type.String({ format: 'email', maxLength: 254 }),
  password: Type.String({ minLength: 8, maxLength: 1024 }),
  name: Type.String({ minLength: 1, maxLength: 200 }),
});

export const accountRoutes: FastifyPluginAsync = async (app) => {
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

  app.post('/auth/signup', { schema: { tags: ['accounts'], body: SignUp }, config: throttle }, async (req, reply) => {
    const body = req.body as { email: string; password: string; name: string };
    const user = await accounts.signUp(ctx, body);
    const session = await accounts.createSession(ctx, user.id);
    setSession(reply, session.token);
    return reply.code(201).send({ user, csrf_token: session.csrf_token });
  });

  app.post(
    '/auth/login',
    { schema: { tags: ['accounts'], body: Credentials }, config: throttle },
    async (req, reply) => {
      const { email, password } = req.body as { email: string; password: string };
      const { user, token, csrf_token } = await accounts.logIn(ctx, email, password);
      setSession(reply, token);
      return { user, csrf_token };
    },
  );

  app.post('/auth/logout', { schema: { tags: ['accounts'] } }, async (req, reply) => {
    const actor = requireUser(req);
    await accounts.logOut(ctx, actor.sessionId);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { ok: true };
  });

  app.get('/auth/me', { schema: { tags: ['accounts'] } }, async (req) => {
    const actor = requireActor(req);
    if (actor.kind !== 'user') throw new AppError('FORBIDDEN', 'Use /api/auth/whoami with an API key');
    const user = await accounts.getUser(ctx, actor.userId);
    const session = await ctx.k
      .selectFrom('sessions')
      .select('csrf_token')
      .where('id', '=', actor.sessionId)
      .executeTakeFirstOrThrow();
    return { user, csrf_token: session.csrf_token };
  });
};
