import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { authorize, authorizePerson } from '../../auth/plugin.js';
import { IdParam, NameText, ProjectParams } from '../../lib/http.js';
import * as roles from './service.js';

const Price = Type.Union([Type.String({ maxLength: 32 }), Type.Number({ minimum: 0 })]);
const Permissions = Type.Object({
  project: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 64 })),
  nodes: Type.Optional(Type.Record(Type.String(), Type.Array(Type.String({ maxLength: 64 }), { maxItems: 16 }))),
});
const CreateRole = Type.Object({
  name: NameText(100),
  description: Type.Optional(Type.String({ maxLength: 2000 })),
  price_per_request: Type.Optional(Price),
  is_public: Type.Optional(Type.Boolean()),
  permissions: Type.Optional(Permissions),
});
const PatchRole = Type.Partial(CreateRole);
const RoleParams = Type.Object({ p: IdParam, r: IdParam });

export const roleRoutes: FastifyPluginAsync = async (app) => {
  const { ctx } = app;
  const tags = ['roles'];

  app.get('/projects/:p/roles', { schema: { tags, params: ProjectParams } }, async (req) => {
    const { p } = req.params as ProjectParams;
    await authorize(req, p);
    return roles.listRoles(ctx, p);
  });

  app.post('/projects/:p/roles', { schema: { tags, params: ProjectParams, body: CreateRole } }, async (req, reply) => {
    const access = await authorizePerson(req, (req.params as ProjectParams).p, 'project_manage');
    return reply.code(201).send(await roles.createRole(ctx, access, req.body as roles.RoleInput & { name: string }));
  });

  app.patch('/projects/:p/roles/:r', { schema: { tags, params: RoleParams, body: PatchRole } }, async (req) => {
    const { p, r } = req.params as { p: number; r: number };
    const access = await authorizePerson(req, p, 'project_manage');
    return roles.updateRole(ctx, access, r, req.body as roles.RoleInput);
  });

  app.delete('/projects/:p/roles/:r', { schema: { tags, params: RoleParams } }, async (req) => {
    const { p, r } = req.params as { p: number; r: number };
    const access = await authorizePerson(req, p, 'project_manage');
    return roles.deleteRole(ctx, access, r);
  });
};
