import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authorize, authorizePerson } from '../../auth/plugin.js';
import { errors, NoContent, PROJECT_ERRORS, ProjectParams } from '../../lib/http.js';
import { RevokedKeys } from '../roles/schemas.js';
import * as S from './schemas.js';
import * as templates from './service.js';

export const templateRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { ctx } = app;
  const tags = ['api key templates'];

  app.get(
    '/projects/:p/api-key-templates',
    { schema: { tags, params: ProjectParams, response: { 200: S.TemplateList, ...PROJECT_ERRORS } } },
    async (req) => {
      const { p } = req.params;
      // read-only: delegated approvers see what they approve
      await authorize(req, p, 'api_keys_manage');
      return templates.listTemplates(ctx, p);
    },
  );

  app.post(
    '/projects/:p/api-key-templates',
    {
      schema: {
        tags,
        params: ProjectParams,
        body: S.CreateTemplate,
        response: { 201: S.Template, ...PROJECT_ERRORS, ...errors(409) },
      },
    },
    async (req, reply) => {
      const access = await authorizePerson(req, req.params.p, 'project_manage');
      return reply.code(201).send(await templates.createTemplate(ctx, access, req.body));
    },
  );

  app.get(
    '/projects/:p/api-key-templates/:t',
    { schema: { tags, params: S.TemplateParams, response: { 200: S.Template, ...PROJECT_ERRORS } } },
    async (req) => {
      const { p, t } = req.params;
      // read-only: delegated approvers see what they approve
      await authorize(req, p, 'api_keys_manage');
      return templates.getTemplate(ctx, p, t);
    },
  );

  app.patch(
    '/projects/:p/api-key-templates/:t',
    {
      schema: {
        tags,
        params: S.TemplateParams,
        body: S.PatchTemplate,
        response: { 200: S.Template, ...PROJECT_ERRORS, ...errors(409) },
      },
    },
    async (req) => {
      const access = await authorizePerson(req, req.params.p, 'project_manage');
      return templates.updateTemplate(ctx, access, req.params.t, req.body);
    },
  );

  app.delete(
    '/projects/:p/api-key-templates/:t',
    {
      schema: {
        tags,
        description: 'Deletes the template and revokes every key issued from it',
        params: S.TemplateParams,
        response: { 200: RevokedKeys, ...PROJECT_ERRORS },
      },
    },
    async (req) => {
      const access = await authorizePerson(req, req.params.p, 'project_manage');
      return templates.deleteTemplate(ctx, access, req.params.t);
    },
  );

  app.post(
    '/projects/:p/api-key-templates/:t/fields',
    {
      schema: {
        tags,
        params: S.TemplateParams,
        body: S.CreateField,
        response: { 201: S.Field, ...PROJECT_ERRORS, ...errors(409) },
      },
    },
    async (req, reply) => {
      const access = await authorizePerson(req, req.params.p, 'project_manage');
      return reply.code(201).send(await templates.addField(ctx, access, req.params.t, req.body));
    },
  );

  app.patch(
    '/projects/:p/api-key-templates/:t/fields/:f',
    {
      schema: {
        tags,
        params: S.FieldParams,
        body: S.PatchField,
        response: { 200: S.Field, ...PROJECT_ERRORS, ...errors(409) },
      },
    },
    async (req) => {
      const { p, t, f } = req.params;
      const access = await authorizePerson(req, p, 'project_manage');
      return templates.updateField(ctx, access, t, f, req.body);
    },
  );

  app.delete(
    '/projects/:p/api-key-templates/:t/fields/:f',
    { schema: { tags, params: S.FieldParams, response: { 204: NoContent, ...PROJECT_ERRORS } } },
    async (req, reply) => {
      const { p, t, f } = req.params;
      const access = await authorizePerson(req, p, 'project_manage');
      await templates.deleteField(ctx, access, t, f);
      return reply.code(204).send(null);
    },
  );
};
