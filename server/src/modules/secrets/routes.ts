// Secrets API. Reading names needs project_view; values and writes need
// project_manage and a person (never a key); the runner view needs code_edit on the node.
//   GET    /projects/:p/secrets[?reveal=1]      {total, items}; reveal=1 adds `value` (project_manage, audited)
//   POST   /projects/:p/secrets                 {name, description?, type?, value, node_ids?}
//   GET    /projects/:p/secrets/:s              metadata, never the value
//   GET    /projects/:p/secrets/:s/value        {id, name, value} (project_manage, audited 'secret.revealed')
//   PATCH  /projects/:p/secrets/:s   DELETE /projects/:p/secrets/:s
//   POST   /projects/:p/secrets/import-api-key  {key_id, prefix}   (see import.ts)
//   GET    /projects/:p/nodes/:n/secrets        {NAME: value} granted to node n (registry value = JSON text)
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authorize, authorizePerson, requireUser } from '../../auth/plugin.js';
import { errors, NoContent, PROJECT_ERRORS, ProjectParams, paging } from '../../lib/http.js';
import { importApiKey } from './import.js';
import * as S from './schemas.js';
import * as secrets from './service.js';

export const secretRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { ctx } = app;
  const tags = ['secrets'];

  app.get(
    '/projects/:p/secrets',
    {
      schema: {
        tags,
        params: ProjectParams,
        querystring: S.ListQuery,
        response: { 200: S.SecretList, ...PROJECT_ERRORS },
      },
    },
    async (req, reply) => {
      const { p } = req.params;
      const reveal = req.query.reveal === '1' || req.query.reveal === 'true';
      const access = reveal ? await authorizePerson(req, p, 'project_manage') : await authorize(req, p);
      if (reveal) reply.header('cache-control', 'no-store');
      return secrets.listSecrets(ctx, access, { ...paging(req.query), reveal });
    },
  );

  app.post(
    '/projects/:p/secrets',
    {
      schema: {
        tags,
        params: ProjectParams,
        body: S.CreateSecret,
        response: { 201: S.Secret, ...PROJECT_ERRORS, ...errors(409) },
      },
    },
    async (req, reply) => {
      const access = await authorizePerson(req, req.params.p, 'project_manage');
      return reply.code(201).send(await secrets.createSecret(ctx, access, req.body));
    },
  );

  app.get(
    '/projects/:p/secrets/:s',
    { schema: { tags, params: S.SecretParams, response: { 200: S.Secret, ...PROJECT_ERRORS } } },
    async (req) => {
      const { p, s } = req.params;
      await authorize(req, p);
      return secrets.getSecret(ctx, p, s);
    },
  );

  app.get(
    '/projects/:p/secrets/:s/value',
    {
      schema: {
        tags,
        description: 'The value of one secret (project managers; audited as secret.revealed)',
        params: S.SecretParams,
        response: { 200: S.RevealedSecret, ...PROJECT_ERRORS },
      },
    },
    async (req, reply) => {
      const { p, s } = req.params;
      const access = await authorizePerson(req, p, 'project_manage');
      reply.header('cache-control', 'no-store');
      return secrets.revealSecret(ctx, access, s);
    },
  );

  app.patch(
    '/projects/:p/secrets/:s',
    {
      schema: {
        tags,
        params: S.SecretParams,
        body: S.PatchSecret,
        response: { 200: S.Secret, ...PROJECT_ERRORS, ...errors(409) },
      },
    },
    async (req) => {
      const { p, s } = req.params;
      const access = await authorizePerson(req, p, 'project_manage');
      return secrets.updateSecret(ctx, access, s, req.body);
    },
  );

  app.delete(
    '/projects/:p/secrets/:s',
    { schema: { tags, params: S.SecretParams, response: { 204: NoContent, ...PROJECT_ERRORS } } },
    async (req, reply) => {
      const { p, s } = req.params;
      const access = await authorizePerson(req, p, 'project_manage');
      await secrets.deleteSecret(ctx, access, s);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/projects/:p/secrets/import-api-key',
    {
      schema: {
        tags,
        description: 'Imports a key the caller holds as <prefix>_token and <prefix>_<field> secrets, all or nothing',
        params: ProjectParams,
        body: S.ImportKey,
        response: { 201: S.ImportedSecrets, ...PROJECT_ERRORS, ...errors(409) },
      },
    },
    async (req, reply) => {
      // a person imports a key they hold; a program holding a key cannot import keys
      const user = requireUser(req);
      const access = await authorizePerson(req, req.params.p, 'project_manage');
      return reply.code(201).send(await importApiKey(ctx, access, user.userId, req.body));
    },
  );

  app.get(
    '/projects/:p/nodes/:n/secrets',
    {
      schema: {
        tags,
        description: 'The runner view: {NAME: value} of the secrets granted to the node (audited)',
        params: S.NodeParams,
        response: { 200: S.RunnerSecrets, ...PROJECT_ERRORS },
      },
    },
    async (req, reply) => {
      const { p, n } = req.params;
      // whoever may change the code that runs on a node can read what it is given anyway: code_edit,
      // not code_view (reading code must not yield plaintext credentials)
      const access = await authorize(req, p, 'code_edit', n);
      reply.header('cache-control', 'no-store');
      return secrets.nodeSecrets(ctx, access, n);
    },
  );
};
