import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { authorize } from '../../auth/plugin.js';
import { IdParam, ProjectParams } from '../../lib/http.js';
import * as members from './service.js';

const RoleIds = Type.Array(IdParam, { maxItems: 100 });

export const memberRoutes: FastifyPluginAsync = async (app) => {
  const { ctx } = app;
  const tags = ['members'];

  app.get('/projects/:p/members', { schema: { tags, params: ProjectParams } }, async (req) => {
    const { p } = req.params as ProjectParams;
    await authorize(req, p);
    return members.listMembers(ctx, p);
  });

  app.put(
    '/projects/:p/members/:user_id',
    {
      schema: {
        tags,
        params: Type.Object({ p: IdParam, user_id: IdParam }),
        body: Type.Object({ role_ids: RoleIds }),
      },
    },
    async (req) => {
      const { p, user_id } = req.params as { p: number; user_id: number };
      const access = await authorize(req, p, 'project_manage');
      return members.setMemberRoles(ctx, access, user_id, (req.body as { role_ids: number[] }).role_ids);
    },
  );

  app.post(
    '/projects/:p/members',
    {
      schema: {
        tags,
        params: ProjectParams,
        body: Type.Object({ email: Type.String({ format: 'email', maxLength: 254 }), role_ids: RoleIds }),
      },
    },
    async (req, reply) => {
      const access = await authorize(req, (req.params as ProjectParams).p, 'project_manage');
      const { email, role_ids } = req.body as { email: string; role_ids: number[] };
      return reply.code(201).send(await members.addMemberByEmail(ctx, access, email, role_ids));
    },
  );
};
