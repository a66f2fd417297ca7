// Members and invitations (F12, F23). Membership is changed by people only, never by an API key.
//   GET    /projects/:p/members                 names and roles (emails for managers only)
//   PUT    /projects/:p/members/:user_id        {role_ids}: an existing member's roles ([] removes)
//   POST   /projects/:p/members                 {email, role_ids}: invite (same answer for any address)
//   GET    /projects/:p/invitations             pending invitations (managers)
//   DELETE /projects/:p/invitations/:i          cancel one
//   GET    /me/invitations                      invitations to my address
//   POST   /me/invitations/:i/accept|decline
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { authorize, authorizePerson, requireUser } from '../../auth/plugin.js';
import { IdParam, ProjectParams } from '../../lib/http.js';
import * as invitations from './invitations.js';
import * as members from './service.js';

const RoleIds = Type.Array(IdParam, { maxItems: 100 });
/** Invitations are rare; a bound per person keeps the endpoint from being a mail cannon or a probe. */
const INVITE_LIMIT = { max: 30, timeWindow: '10 minutes' };

export const memberRoutes: FastifyPluginAsync = async (app) => {
  const { ctx } = app;
  const tags = ['members'];

  app.get('/projects/:p/members', { schema: { tags, params: ProjectParams } }, async (req) => {
    const { p } = req.params as ProjectParams;
    return members.listMembers(ctx, await authorize(req, p));
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
      const access = await authorizePerson(req, p, 'project_manage');
      return members.setMemberRoles(ctx, access, user_id, (req.body as { role_ids: number[] }).role_ids);
    },
  );

  app.post(
    '/projects/:p/members',
    {
      schema: {
        tags,
        params: ProjectParams,
        body: Type.Object({
          email: Type.String({ format: 'email', maxLength: 254 }),
          role_ids: Type.Array(IdParam, { minItems: 1, maxItems: 100 }),
        }),
      },
      config: {
        rateLimit: {
          ...INVITE_LIMIT,
          keyGenerator: (req) => (req.actor?.kind === 'user' ? `inv:user:${req.actor.userId}` : `inv:ip:${req.ip}`),
        },
      },
    },
    async (req, reply) => {
      const access = await authorizePerson(req, (req.params as ProjectParams).p, 'project_manage');
      const { email, role_ids } = req.body as { email: string; role_ids: number[] };
      return reply.code(201).send(await invitations.invite(ctx, access, email, role_ids));
    },
  );

  app.get('/projects/:p/invitations', { schema: { tags, params: ProjectParams } }, async (req) => {
    const access = await authorizePerson(req, (req.params as ProjectParams).p, 'project_manage');
    return invitations.listProjectInvitations(ctx, access);
  });

  app.delete(
    '/projects/:p/invitations/:i',
    { schema: { tags, params: Type.Object({ p: IdParam, i: IdParam }) } },
    async (req, reply) => {
      const { p, i } = req.params as { p: number; i: number };
      await invitations.cancelInvitation(ctx, await authorizePerson(req, p, 'project_manage'), i);
      return reply.code(204).send();
    },
  );

  app.get('/me/invitations', { schema: { tags } }, async (req) =>
    invitations.listMyInvitations(ctx, requireUser(req).userId),
  );

  const Decide = { schema: { tags, params: Type.Object({ i: IdParam }) } };
  app.post('/me/invitations/:i/accept', Decide, async (req) =>
    invitations.decideInvitation(ctx, requireUser(req).userId, (req.params as { i: number }).i, true),
  );
  app.post('/me/invitations/:i/decline', Decide, async (req) =>
    invitations.decideInvitation(ctx, requireUser(req).userId, (req.params as { i: number }).i, false),
  );
};
