import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { requireUser } from '../../auth/plugin.js';
import { IdParam, PagingQuery, paging } from '../../lib/http.js';
import * as notifications from './service.js';

export const notificationRoutes: FastifyPluginAsync = async (app) => {
  const { ctx } = app;
  const tags = ['notifications'];

  app.get('/me/notifications', { schema: { tags, querystring: PagingQuery } }, async (req) => {
    const user = requireUser(req);
    const { limit, offset } = paging(req.query as PagingQuery);
    return notifications.listNotifications(ctx, user.userId, limit, offset);
  });

  app.post(
    '/me/notifications/read',
    { schema: { tags, body: Type.Object({ ids: Type.Optional(Type.Array(IdParam, { maxItems: 1000 })) }) } },
    async (req) => notifications.markRead(ctx, requireUser(req).userId, (req.body as { ids?: number[] }).ids),
  );

  app.get('/me/mail', { schema: { tags, querystring: PagingQuery } }, async (req) => {
    const user = requireUser(req);
    const { limit, offset } = paging(req.query as PagingQuery);
    return notifications.myMail(ctx, user.userId, limit, offset);
  });
};
