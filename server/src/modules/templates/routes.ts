import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { authorize, authorizePerson } from '../../auth/plugin.js';
import { IdParam, NAME_PATTERN, NameText, ProjectParams } from '../../lib/http.js';
import * as templates from './service.js';

const CreateTemplate = Type.Object({
  name: NameText(100),
  role_id: IdParam,
  description: Type.Optional(Type.String({ maxLength: 2000 })),
  lifetime_days: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 3650 }), Type.Null()])),
  /** billed requests per key per UTC month; null = unlimited */
  monthly_quota: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000_000_000 }), Type.Null()])),
});
const PatchTemplate = Type.Partial(CreateTemplate);
const FieldName = Type.String({ minLength: 1, maxLength: 64, pattern: NAME_PATTERN });
const CreateField = Type.Object({
  name: FieldName,
  description: Type.Optional(Type.String({ maxLength: 2000 })),
  value: Type.Optional(Type.String({ maxLength: 4000 })),
  position: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
});
const PatchField = Type.Partial(CreateField);
const TemplateParams = Type.Object({ p: IdParam, t: IdParam });
const FieldParams = Type.Object({ p: IdParam, t: IdParam, f: IdParam });
type TP = { p: number; t: number };
type FP = TP & { f: number };

export const templateRoutes: FastifyPluginAsync = async (app) => {
  const { ctx } = app;
  const tags = ['api key templates'];

  app.get('/projects/:p/api-key-templates', { schema: { tags, params: ProjectParams } }, async (req) => {
    const { p } = req.params as ProjectParams;
    await authorize(req, p, 'project_manage');
    return templates.listTemplates(ctx, p);
  });

  app.post(
    '/projects/:p/api-key-templates',
    { schema: { tags, params: ProjectParams, body: CreateTemplate } },
    async (req, reply) => {
      const access = await authorizePerson(req, (req.params as ProjectParams).p, 'project_manage');
      const t = await templates.createTemplate(
        ctx,
        access,
        req.body as templates.TemplateInput & { name: string; role_id: number },
      );
      return reply.code(201).send(t);
    },
  );

  app.get('/projects/:p/api-key-templates/:t', { schema: { tags, params: TemplateParams } }, async (req) => {
    const { p, t } = req.params as TP;
    await authorize(req, p, 'project_manage');
    return templates.getTemplate(ctx, p, t);
  });

  app.patch(
    '/projects/:p/api-key-templates/:t',
    { schema: { tags, params: TemplateParams, body: PatchTemplate } },
    async (req) => {
      const { p, t } = req.params as TP;
      const access = await authorizePerson(req, p, 'project_manage');
      return templates.updateTemplate(ctx, access, t, req.body as templates.TemplateInput);
    },
  );

  app.delete('/projects/:p/api-key-templates/:t', { schema: { tags, params: TemplateParams } }, async (req) => {
    const { p, t } = req.params as TP;
    const access = await authorizePerson(req, p, 'project_manage');
    return templates.deleteTemplate(ctx, access, t);
  });

  app.post(
    '/projects/:p/api-key-templates/:t/fields',
    { schema: { tags, params: TemplateParams, body: CreateField } },
    async (req, reply) => {
      const { p, t } = req.params as TP;
      const access = await authorizePerson(req, p, 'project_manage');
      return reply
        .code(201)
        .send(await templates.addField(ctx, access, t, req.body as templates.FieldInput & { name: string }));
    },
  );

  app.patch(
    '/projects/:p/api-key-templates/:t/fields/:f',
    { schema: { tags, params: FieldParams, body: PatchField } },
    async (req) => {
      const { p, t, f } = req.params as FP;
      const access = await authorizePerson(req, p, 'project_manage');
      return templates.updateField(ctx, access, t, f, req.body as templates.FieldInput);
    },
  );

  app.delete(
    '/projects/:p/api-key-templates/:t/fields/:f',
    { schema: { tags, params: FieldParams } },
    async (req, reply) => {
      const { p, t, f } = req.params as FP;
      const access = await authorizePerson(req, p, 'project_manage');
      await templates.deleteField(ctx, access, t, f);
      return reply.code(204).send();
    },
  );
};
