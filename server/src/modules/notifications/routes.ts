// My notifications and my mail: a signed-in person only.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireUser } from '../../auth/plugin.js';
import { errors, PagingQuery, paging } from '../../lib/http.js';
import * as S from './schemas.js';
import * as notifications from './service.js';

/** 401 signed out, 403 an API key (or a change without the CSRF token), 400 a bad query or body. */
const ME_ERRORS = errors(400, 401, 403, 503);

export const notificationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { ctx } = app;
  const tags = ['notifications'];

  app.get(
    '/me/notifications',
    { schema: { tags, querystring: PagingQuery, response: { 200: S.NotificationPage, ...ME_ERRORS } } },
    async (req) => {
      const user = requireUser(req);
      const { limit, offset } = paging(req.query);
      return notifications.listNotifications(ctx, user.userId, limit, offset);
    },
  );

  app.post(
    '/me/notifications/read',
    { schema: { tags, body: S.MarkRead, response: { 200: S.Marked, ...ME_ERRORS } } },
    async (req) => notifications.markRead(ctx, requireUser(req).userId, req.body.ids),
  );

  app.get(
    '/me/mail',
    {
      schema: {
        tags,
        description: 'Mail addressed to me: what the UI shows when no SMTP server is configured',
        querystring: PagingQuery,
        response: { 200: S.MailPage, ...ME_ERRORS },
      },
    },
    async (req) => {
      const user = requireUser(req);
      const { limit, offset } = paging(req.query);
      return notifications.myMail(ctx, user.userId, limit, offset);
    },
  );
};
