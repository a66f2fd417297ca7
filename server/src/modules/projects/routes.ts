import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authorize, authorizePerson, requireUser } from '../../auth/plugin.js';
import { NoContent, PagingQuery, PROJECT_ERRORS, ProjectParams, paging } from '../../lib/http.js';
import * as S from './schemas.js';
import * as projects from './service.js';

export const projectRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { ctx } = app;
  const tags = ['projects'];

  app.get(
    '/projects',
    { schema: { tags, querystring: PagingQuery, response: { 200: S.ProjectList, ...S.USER_ERRORS } } },
    async (req) => {
      const user = requireUser(req);
      const { limit, offset } = paging(req.query);
      return projects.listProjects(ctx, user.userId, limit, offset);
    },
  );

  app.get(
    '/projects/offering',
    {
      schema: {
        tags,
        summary: 'Public projects offering API keys (at least one template), by name',
        querystring: S.OfferingQuery,
        response: { 200: S.OfferingList, ...S.USER_ERRORS },
      },
    },
    async (req) => {
      requireUser(req);
      const { limit, offset } = paging(req.query);
      const page = await projects.listOffering(ctx, req.query.q, limit, offset);
      return { ...page, page: req.query.page, page_size: limit };
    },
  );

  app.post(
    '/projects',
    { schema: { tags, body: S.CreateProject, response: { 201: S.Project, ...S.USER_ERRORS } } },
    async (req, reply) => {
      const user = requireUser(req);
      return reply.code(201).send(await projects.createProject(ctx, user, req.body));
    },
  );

  app.get(
    '/projects/:p',
    { schema: { tags, params: ProjectParams, response: { 200: S.ProjectView, ...PROJECT_ERRORS } } },
    async (req) => projects.getProject(ctx, await authorize(req, req.params.p)),
  );

  app.patch(
    '/projects/:p',
    {
      schema: {
        tags,
        params: ProjectParams,
        body: S.PatchProject,
        response: { 200: S.ProjectView, ...PROJECT_ERRORS },
      },
    },
    async (req) => projects.updateProject(ctx, await authorize(req, req.params.p, 'project_edit'), req.body),
  );

  app.delete(
    '/projects/:p',
    { schema: { tags, params: ProjectParams, response: { 204: NoContent, ...PROJECT_ERRORS } } },
    async (req, reply) => {
      await projects.deleteProject(ctx, await authorizePerson(req, req.params.p, 'project_manage'));
      return reply.code(204).send(null);
    },
  );
};
