import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { authorizePerson, requireActor, requireUser } from '../../auth/plugin.js';
import { AppError } from '../../errors.js';
import { IdParam, OptionalReason } from '../../lib/http.js';
import * as keys from './service.js';

const WhoAmI = Type.Object({
  key_id: Type.Integer(),
  project_id: Type.Integer(),
  user_id: Type.Integer(),
  template_id: Type.Integer(),
  role_id: Type.Integer(),
  permissions: Type.Object({
    project: Type.Array(Type.String()),
    nodes: Type.Record(Type.String(), Type.Array(Type.String())),
  }),
});

export const keyRoutes: FastifyPluginAsync = async (app) => {
  const { ctx } = app;
  const tags = ['api keys'];

  app.get('/auth/whoami', { schema: { tags, security: [{ apiKey: [] }], response: { 200: WhoAmI } } }, async (req) => {
    const actor = requireActor(req);
    if (actor.kind !== 'key') throw new AppError('INVALID_KEY', 'The API key is missing, invalid, expired or revoked');
    const access = await app.keyAuth.access(actor, actor.projectId);
    if (!access) throw new AppError('INVALID_KEY', 'The API key is missing, invalid, expired or revoked');
    return keys.whoami(actor, access);
  });

  app.delete(
    '/projects/:p/issued-keys/:k',
    {
      schema: {
        tags,
        params: Type.Object({ p: IdParam, k: IdParam }),
        body: OptionalReason,
      },
    },
    async (req) => {
      const { p, k } = req.params as { p: number; k: number };
      const access = await authorizePerson(req, p, 'project_manage');
      return keys.revokeKey(ctx, access, k, (req.body as { reason?: string } | null)?.reason);
    },
  );

  app.get('/me/api-keys', { schema: { tags } }, async (req) => keys.myKeys(ctx, requireUser(req).userId));

  app.get('/me/api-keys/:k/token', { schema: { tags, params: Type.Object({ k: IdParam }) } }, async (req, reply) => {
    const user = requireUser(req);
    reply.header('cache-control', 'no-store');
    return keys.myToken(ctx, user, (req.params as { k: number }).k);
  });
};

/** Public keys for offline verification (outside /api, at the well-known path). */
export const jwksRoute: FastifyPluginAsync = async (app) => {
  app.get('/.well-known/jwks.json', { schema: { tags: ['api keys'] } }, async (_req, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    return app.ctx.signing.jwks();
  });
};
