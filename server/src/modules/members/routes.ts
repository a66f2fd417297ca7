// Members and invitations. Membership is changed by people only, never by an API key.
//   GET    /projects/:p/members                 names and roles (emails for managers only)
//   PUT    /projects/:p/members/:user_id        {role_ids}: an existing member's roles ([] removes)
//   POST   /projects/:p/members                 {email, role_ids}: invite (same answer for any address)
//   GET    /projects/:p/invitations             pending invitations (managers)
//   DELETE /projects/:p/invitations/:i          cancel one
//   GET    /me/invitations                      invitations to my address
//   POST   /me/invitations/:i/accept|decline
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authorize, authorizePerson, requireUser } from '../../auth/plugin.js';
import { errors, NoContent, PROJECT_ERRORS, ProjectParams } from '../../lib/http.js';
import * as invitations from './invitations.js';
import * as S from './schemas.js';
import * as members from './service.js';

/** Invitations are rare; a bound per person keeps the endpoint from being a mail cannon or a probe. */
const INVITE_LIMIT = { max: 30, timeWindow: '10 minutes' };
const ME_ERRORS = errors(400, 401, 403, 404, 409, 503);

export const memberRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { ctx } = app;
  const tags = ['members'];

  app.get(
    '/projects/:p/members',
    { schema: { tags, params: ProjectParams, response: { 200: S.MemberList, ...PROJECT_ERRORS } } },
    async (req) => members.listMembers(ctx, await authorize(req, req.params.p)),
  );

  app.put(
    '/projects/:p/members/:user_id',
    {
      schema: {
        tags,
        params: S.MemberParams,
        body: S.SetRoles,
        response: { 200: S.MemberRoles, ...PROJECT_ERRORS, ...errors(409) },
      },
    },
    async (req) => {
      const access = await authorizePerson(req, req.params.p, 'project_manage');
      return members.setMemberRoles(ctx, access, req.params.user_id, req.body.role_ids);
    },
  );

  app.post(
    '/projects/:p/members',
    {
      schema: {
        tags,
        description: 'Invites an address; the answer is the same whether or not an account holds it',
        params: ProjectParams,
        body: S.Invite,
        response: { 201: S.Invitation, ...PROJECT_ERRORS, ...errors(409) },
      },
      config: {
        rateLimit: {
          ...INVITE_LIMIT,
          keyGenerator: (req) => (req.actor?.kind === 'user' ? `inv:user:${req.actor.userId}` : `inv:ip:${req.ip}`),
        },
      },
    },
    async (req, reply) => {
      const access = await authorizePerson(req, req.params.p, 'project_manage');
      return reply.code(201).send(await invitations.invite(ctx, access, req.body.email, req.body.role_ids));
    },
  );

  app.get(
    '/projects/:p/invitations',
    { schema: { tags, params: ProjectParams, response: { 200: S.ProjectInvitationList, ...PROJECT_ERRORS } } },
    async (req) => invitations.listProjectInvitations(ctx, await authorizePerson(req, req.params.p, 'project_manage')),
  );

  app.delete(
    '/projects/:p/invitations/:i',
    { schema: { tags, params: S.InvitationParams, response: { 204: NoContent, ...PROJECT_ERRORS } } },
    async (req, reply) => {
      await invitations.cancelInvitation(ctx, await authorizePerson(req, req.params.p, 'project_manage'), req.params.i);
      return reply.code(204).send(null);
    },
  );

  app.get('/me/invitations', { schema: { tags, response: { 200: S.MyInvitationList, ...ME_ERRORS } } }, async (req) =>
    invitations.listMyInvitations(ctx, requireUser(req).userId),
  );

  app.post(
    '/me/invitations/:i/accept',
    { schema: { tags, params: S.MyInvitationParams, response: { 200: S.Accepted, ...ME_ERRORS } } },
    async (req) => invitations.acceptInvitation(ctx, requireUser(req).userId, req.params.i),
  );
  app.post(
    '/me/invitations/:i/decline',
    { schema: { tags, params: S.MyInvitationParams, response: { 200: S.Declined, ...ME_ERRORS } } },
    async (req) => invitations.declineInvitation(ctx, requireUser(req).userId, req.params.i),
  );
};
