import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { authorize, requireUser } from '../../auth/plugin.js';
import { IdParam, OptionalReason, PagingQuery, ProjectParams, paging } from '../../lib/http.js';
import * as requests from './service.js';

const RequestParams = Type.Object({ p: IdParam, r: IdParam });
type RP = { p: number; r: number };
const Status = Type.Union(['pending', 'approved', 'rejected', 'cancelled'].map((s) => Type.Literal(s)));

export const requestRoutes: FastifyPluginAsync = async (app) => {
  const { ctx } = app;
  const tags = ['api key requests'];

  app.get('/projects/:p/api-key-offers', { schema: { tags, params: ProjectParams } }, async (req) => {
    const user = requireUser(req);
    const { p } = req.params as ProjectParams;
    await authorize(req, p);
    return requests.listOffers(ctx, p, user.userId);
  });

  app.post(
    '/projects/:p/api-key-templates/:t/requests',
    {
      schema: { tags, params: Type.Object({ p: IdParam, t: IdParam }) },
      // per user (not per session: signing in again must not reset it), so one person cannot flood
      // managers with requests; the auth hook has set req.actor before this route-level hook runs
      config: {
        rateLimit: {
          max: 20,
          timeWindow: '1 minute',
          keyGenerator: (req) => (req.actor?.kind === 'user' ? `kr:user:${req.actor.userId}` : `kr:ip:${req.ip}`),
        },
      },
    },
    async (req, reply) => {
      const user = requireUser(req);
      const { p, t } = req.params as { p: number; t: number };
      const access = await authorize(req, p);
      return reply.code(201).send(await requests.createRequest(ctx, access, user, t));
    },
  );

  app.delete('/projects/:p/api-key-requests/:r', { schema: { tags, params: RequestParams } }, async (req) => {
    const user = requireUser(req);
    const { p, r } = req.params as RP;
    const access = await authorize(req, p);
    return requests.cancelRequest(ctx, access, user, r);
  });

  app.get(
    '/projects/:p/api-key-requests',
    {
      schema: {
        tags,
        params: ProjectParams,
        querystring: Type.Intersect([PagingQuery, Type.Object({ status: Type.Optional(Status) })]),
      },
    },
    async (req) => {
      const { p } = req.params as ProjectParams;
      await authorize(req, p, 'project_manage');
      const q = req.query as PagingQuery & { status?: string };
      const { limit, offset } = paging(q);
      return requests.listRequests(ctx, p, q.status, limit, offset);
    },
  );

  app.post('/projects/:p/api-key-requests/:r/approve', { schema: { tags, params: RequestParams } }, async (req) => {
    requireUser(req);
    const { p, r } = req.params as RP;
    const access = await authorize(req, p, 'project_manage');
    return requests.approveRequest(ctx, access, r);
  });

  app.post(
    '/projects/:p/api-key-requests/:r/reject',
    { schema: { tags, params: RequestParams, body: OptionalReason } },
    async (req) => {
      requireUser(req);
      const { p, r } = req.params as RP;
      const access = await authorize(req, p, 'project_manage');
      return requests.rejectRequest(ctx, access, r, (req.body as { reason?: string } | null)?.reason);
    },
  );
};
