import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authorize, authorizePerson } from '../../auth/plugin.js';
import { errors, PROJECT_ERRORS, ProjectParams } from '../../lib/http.js';
import * as S from './schemas.js';
import * as roles from './service.js';

export const roleRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { ctx } = app;
  const tags = ['roles'];

  app.get(
    '/projects/:p/roles',
    { schema: { tags, params: ProjectParams, response: { 200: S.RoleList, ...PROJECT_ERRORS } } },
    async (req) => {
      const { p } = req.params;
      await authorize(req, p);
      return roles.listRoles(ctx, p);
    },
  );

  app.post(
    '/projects/:p/roles',
    {
      schema: {
        tags,
        params: ProjectParams,
        body: S.CreateRole,
        response: { 201: S.Role, ...PROJECT_ERRORS, ...errors(409) },
      },
    },
    async (req, reply) => {
      const access = await authorizePerson(req, req.params.p, 'project_manage');
      return reply.code(201).send(await roles.createRole(ctx, access, req.body));
    },
  );

  app.patch(
    '/projects/:p/roles/:r',
    {
      schema: {
        tags,
        params: S.RoleParams,
        body: S.PatchRole,
        response: { 200: S.Role, ...PROJECT_ERRORS, ...errors(409) },
      },
    },
    async (req) => {
      const access = await authorizePerson(req, req.params.p, 'project_manage');
      return roles.updateRole(ctx, access, req.params.r, req.body);
    },
  );

  app.delete(
    '/projects/:p/roles/:r',
    {
      schema: {
        tags,
        description: 'Deletes the role, the templates that use it and their keys',
        params: S.RoleParams,
        response: { 200: S.RevokedKeys, ...PROJECT_ERRORS, ...errors(409) },
      },
    },
    async (req) => roles.deleteRole(ctx, await authorizePerson(req, req.params.p, 'project_manage'), req.params.r),
  );
};
