import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authorizePerson, requireActor, requireUser } from '../../auth/plugin.js';
import { AppError } from '../../errors.js';
import { errors, OptionalReason, PROJECT_ERRORS } from '../../lib/http.js';
import * as S from './schemas.js';
import * as keys from './service.js';

/** 400 two Authorization headers, 401 a bad key, 429 the key's rate limit or quota. */
const KEY_ERRORS = errors(400, 401, 429, 503);
/** 401 signed out, 403 an API key. */
const ME_ERRORS = errors(400, 401, 403, 503);
/** ... and for one key: 404 not mine, 409 revoked or expired. */
const MY_KEY_ERRORS = errors(400, 401, 403, 404, 409, 503);

export const keyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { ctx } = app;
  const tags = ['api keys'];

  app.get(
    '/auth/whoami',
    { schema: { tags, security: [{ apiKey: [] }], response: { 200: S.WhoAmI, ...KEY_ERRORS } } },
    async (req) => {
      const actor = requireActor(req);
      if (actor.kind !== 'key')
        throw new AppError('INVALID_KEY', 'The API key is missing, invalid, expired or revoked');
      const access = await app.keyAuth.access(actor, actor.projectId);
      if (!access) throw new AppError('INVALID_KEY', 'The API key is missing, invalid, expired or revoked');
      return keys.whoami(actor, access);
    },
  );

  app.delete(
    '/projects/:p/issued-keys/:k',
    {
      schema: {
        tags,
        params: S.IssuedKeyParams,
        body: OptionalReason,
        response: { 200: S.Revoked, ...PROJECT_ERRORS },
      },
    },
    async (req) => {
      const { p, k } = req.params;
      const access = await authorizePerson(req, p, 'project_manage');
      return keys.revokeKey(ctx, access, k, req.body?.reason);
    },
  );

  app.get('/me/api-keys', { schema: { tags, response: { 200: S.MyKeyList, ...ME_ERRORS } } }, async (req) =>
    keys.myKeys(ctx, requireUser(req).userId),
  );

  app.get(
    '/me/api-keys/:k/token',
    { schema: { tags, params: S.MyKeyParams, response: { 200: S.Token, ...MY_KEY_ERRORS } } },
    async (req, reply) => {
      const user = requireUser(req);
      reply.header('cache-control', 'no-store');
      return keys.myToken(ctx, user, req.params.k);
    },
  );
};

/** Public keys for offline verification (outside /api, at the well-known path). */
export const jwksRoute: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/.well-known/jwks.json',
    // 400: the URL guard in front of every route refuses NUL characters
    { schema: { tags: ['api keys'], response: { 200: S.Jwks, ...errors(400) } } },
    async (_req, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      return app.ctx.signing.jwks();
    },
  );
};
