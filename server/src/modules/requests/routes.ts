import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authorize, authorizePerson, requireUser } from '../../auth/plugin.js';
import { errors, OptionalReason, PROJECT_ERRORS, ProjectParams, paging } from '../../lib/http.js';
import * as S from './schemas.js';
import * as requests from './service.js';

export const requestRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { ctx } = app;
  const tags = ['api key requests'];

  app.get(
    '/projects/:p/api-key-offers',
    { schema: { tags, params: ProjectParams, response: { 200: S.OfferList, ...PROJECT_ERRORS } } },
    async (req) => {
      const user = requireUser(req);
      const { p } = req.params;
      await authorize(req, p);
      return requests.listOffers(ctx, p, user.userId);
    },
  );

  app.post(
    '/projects/:p/api-key-templates/:t/requests',
    {
      schema: {
        tags,
        description:
          "Files a request: `approved` at once (key issued) when the template's rule approves the caller, else `pending`. " +
          'A 400 names the wrong input: terms not accepted, an unknown, missing or too long field.',
        params: S.TemplateParams,
        body: S.CreateRequestBody,
        response: { 201: S.KeyRequest, ...PROJECT_ERRORS, ...errors(409) },
      },
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
      const { p, t } = req.params;
      const access = await authorize(req, p);
      return reply.code(201).send(await requests.createRequest(ctx, access, user, t, req.body));
    },
  );

  app.delete(
    '/projects/:p/api-key-requests/:r',
    {
      schema: {
        tags,
        description: "Cancels the caller's own pending request",
        params: S.RequestParams,
        response: { 200: S.KeyRequest, ...PROJECT_ERRORS, ...errors(409) },
      },
    },
    async (req) => {
      const user = requireUser(req);
      const { p, r } = req.params;
      const access = await authorize(req, p);
      return requests.cancelRequest(ctx, access, user, r);
    },
  );

  app.get(
    '/projects/:p/api-key-requests',
    {
      schema: {
        tags,
        params: ProjectParams,
        querystring: S.RequestQuery,
        response: { 200: S.KeyRequestList, ...PROJECT_ERRORS },
      },
    },
    async (req) => {
      const { p } = req.params;
      await authorize(req, p, 'api_keys_manage');
      const { limit, offset } = paging(req.query);
      return requests.listRequests(ctx, p, req.query.status, limit, offset);
    },
  );

  app.post(
    '/projects/:p/api-key-requests/:r/approve',
    {
      schema: {
        tags,
        description: "Issues the key and the requester's personal data layer",
        params: S.RequestParams,
        response: { 200: S.IssuedKey, ...PROJECT_ERRORS, ...errors(409) },
      },
    },
    async (req) => {
      requireUser(req);
      const { p, r } = req.params;
      const access = await authorize(req, p, 'api_keys_manage');
      return requests.approveRequest(ctx, access, r);
    },
  );

  app.post(
    '/projects/:p/api-key-requests/:r/reject',
    {
      schema: {
        tags,
        params: S.RequestParams,
        body: OptionalReason,
        response: { 200: S.KeyRequest, ...PROJECT_ERRORS, ...errors(409) },
      },
    },
    async (req) => {
      requireUser(req);
      const { p, r } = req.params;
      const access = await authorize(req, p, 'api_keys_manage');
      return requests.rejectRequest(ctx, access, r, req.body?.reason);
    },
  );

  app.get(
    '/projects/:p/request-settings',
    { schema: { tags, params: ProjectParams, response: { 200: S.RequestSettings, ...PROJECT_ERRORS } } },
    async (req) => {
      const { p } = req.params;
      await authorize(req, p, 'api_keys_manage');
      return requests.requestSettings(ctx, p);
    },
  );

  app.patch(
    '/projects/:p/request-settings',
    {
      schema: {
        tags,
        description: 'How approvers get request mails: at once, or one daily digest (in-app notices stay immediate)',
        params: ProjectParams,
        body: S.RequestSettings,
        response: { 200: S.RequestSettings, ...PROJECT_ERRORS },
      },
    },
    async (req) => {
      const access = await authorizePerson(req, req.params.p, 'api_keys_manage');
      return requests.updateRequestSettings(ctx, access, req.body);
    },
  );
};
