import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { authorize, authorizePerson, requireUser } from '../../auth/plugin.js';
import { NameText, paging, PagingQuery, ProjectParams } from '../../lib/http.js';
import * as projects from './service.js';

const CreateProject = Type.Object({
  name: NameText(200),
  description: Type.Optional(Type.String({ maxLength: 5000 })),
});
const PatchProject = Type.Partial(CreateProject);

export const projectRoutes: FastifyPluginAsync = async (app) => {
  const { ctx } = app;
  const tags = ['projects'];

  app.get('/projects', { schema: { tags, querystring: PagingQuery } }, async (req) => {
    const user = requireUser(req);
    const { limit, offset } = paging(req.query as PagingQuery);
    return projects.listProjects(ctx, user.userId, limit, offset);
  });

  app.post('/projects', { schema: { tags, body: CreateProject } }, async (req, reply) => {
    const user = requireUser(req);
    const project = await projects.createProject(ctx, user, req.body as { name: string; description?: string });
    return reply.code(201).send(project);
  });

  app.get('/projects/:p', { schema: { tags, params: ProjectParams } }, async (req) => {
    const access = await authorize(req, (req.params as ProjectParams).p);
    return projects.getProject(ctx, access);
  });

  app.patch('/projects/:p', { schema: { tags, params: ProjectParams, body: PatchProject } }, async (req) => {
    const access = await authorize(req, (req.params as ProjectParams).p, 'project_edit');
    return projects.updateProject(ctx, access, req.body as { name?: string; description?: string });
  });

  app.delete('/projects/:p', { schema: { tags, params: ProjectParams } }, async (req, reply) => {
    const access = await authorizePerson(req, (req.params as ProjectParams).p, 'project_manage');
    await projects.deleteProject(ctx, access);
    return reply.code(204).send();
  });
};
