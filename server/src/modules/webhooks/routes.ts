// Webhooks of a project (project_manage, people only: an API key never changes them).
//   GET    /projects/:p/webhooks                   endpoints (never their secrets)
//   POST   /projects/:p/webhooks                   {url, events, description?} -> 201 with the secret, once
//   GET    /projects/:p/webhooks/:w
//   PATCH  /projects/:p/webhooks/:w                {url?, events?, description?, enabled?}
//   DELETE /projects/:p/webhooks/:w
//   GET    /projects/:p/webhooks/:w/deliveries     newest first, with every attempt
//   POST   /projects/:p/webhooks/:w/test           queues a webhook.test event -> 202 {delivery_id}
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authorizePerson } from '../../auth/plugin.js';
import { errors, NoContent, PagingQuery, PROJECT_ERRORS, ProjectParams, paging } from '../../lib/http.js';
import * as S from './schemas.js';
import * as webhooks from './service.js';

/** Test events are for trying a receiver out, not a way to flood one. */
const TEST_LIMIT = { max: 30, timeWindow: '1 minute' };

export const webhookRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { ctx } = app;
  const tags = ['webhooks'];
  const manage = (req: Parameters<typeof authorizePerson>[0], p: number) => authorizePerson(req, p, 'project_manage');

  app.get(
    '/projects/:p/webhooks',
    { schema: { tags, params: ProjectParams, response: { 200: S.EndpointList, ...PROJECT_ERRORS } } },
    async (req) => webhooks.listEndpoints(ctx, await manage(req, req.params.p)),
  );

  app.post(
    '/projects/:p/webhooks',
    {
      schema: {
        tags,
        description: 'Adds an endpoint; the answer holds its signing secret, which is never shown again',
        params: ProjectParams,
        body: S.CreateEndpoint,
        response: { 201: S.CreatedEndpoint, ...PROJECT_ERRORS },
      },
    },
    async (req, reply) => {
      const access = await manage(req, req.params.p);
      return reply.code(201).send(await webhooks.createEndpoint(ctx, access, req.body));
    },
  );

  app.get(
    '/projects/:p/webhooks/:w',
    { schema: { tags, params: S.EndpointParams, response: { 200: S.Endpoint, ...PROJECT_ERRORS } } },
    async (req) => webhooks.getEndpoint(ctx, await manage(req, req.params.p), req.params.w),
  );

  app.patch(
    '/projects/:p/webhooks/:w',
    {
      schema: {
        tags,
        params: S.EndpointParams,
        body: S.PatchEndpoint,
        response: { 200: S.Endpoint, ...PROJECT_ERRORS },
      },
    },
    async (req) => webhooks.updateEndpoint(ctx, await manage(req, req.params.p), req.params.w, req.body),
  );

  app.delete(
    '/projects/:p/webhooks/:w',
    { schema: { tags, params: S.EndpointParams, response: { 204: NoContent, ...PROJECT_ERRORS } } },
    async (req, reply) => {
      await webhooks.deleteEndpoint(ctx, await manage(req, req.params.p), req.params.w);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/projects/:p/webhooks/:w/deliveries',
    {
      schema: {
        tags,
        params: S.EndpointParams,
        querystring: PagingQuery,
        response: { 200: S.DeliveryList, ...PROJECT_ERRORS },
      },
    },
    async (req) => {
      const access = await manage(req, req.params.p);
      const { limit, offset } = paging(req.query);
      return webhooks.listDeliveries(ctx, access, req.params.w, limit, offset);
    },
  );

  app.post(
    '/projects/:p/webhooks/:w/test',
    {
      schema: {
        tags,
        params: S.EndpointParams,
        response: { 202: S.TestQueued, ...PROJECT_ERRORS, ...errors(409) },
      },
      config: {
        rateLimit: {
          ...TEST_LIMIT,
          keyGenerator: (req) =>
            req.actor?.kind === 'user' ? `whtest:user:${req.actor.userId}` : `whtest:ip:${req.ip}`,
        },
      },
    },
    async (req, reply) => {
      const access = await manage(req, req.params.p);
      return reply.code(202).send(await webhooks.sendTestEvent(ctx, access, req.params.w));
    },
  );
};
