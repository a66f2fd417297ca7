// Secrets API (SPEC §4, F9/F10). Reading names needs project_view; values and writes need
// project_manage and a person (never a key); the runner view needs code_edit on the node.
//   GET    /projects/:p/secrets[?reveal=1]      {total, items}; reveal=1 adds `value` (project_manage, audited)
//   POST   /projects/:p/secrets                 {name, description?, type?, value, node_ids?}
//   GET    /projects/:p/secrets/:s              metadata, never the value
//   GET    /projects/:p/secrets/:s/value        {id, name, value} (project_manage, audited 'secret.revealed')
//   PATCH  /projects/:p/secrets/:s   DELETE /projects/:p/secrets/:s
//   POST   /projects/:p/secrets/import-api-key  {key_id, prefix}   (see import.ts)
//   GET    /projects/:p/nodes/:n/secrets        {NAME: value} granted to node n (registry value = JSON text)
import type { FastifyPluginAsync } from 'fastify';
import { type Static, Type } from 'typebox';
import { authorize, authorizePerson, requireUser } from '../../auth/plugin.js';
import { IdParam, NAME_PATTERN, PagingQuery, ProjectParams, paging } from '../../lib/http.js';
import { type ImportInput, importApiKey } from './import.js';
import * as secrets from './service.js';

const Name = Type.String({ minLength: 1, maxLength: secrets.MAX_NAME_LENGTH, pattern: NAME_PATTERN });
const Registry = Type.Object({
  host: Type.String({ minLength: 1, maxLength: 255 }),
  user: Type.String({ maxLength: 255 }),
  password: Type.String({ maxLength: 4096 }),
});
const Value = Type.Union([Type.String({ maxLength: 65_536 }), Registry]);
const SecretType = Type.Union([Type.Literal('variable'), Type.Literal('registry')]);
const NodeIds = Type.Array(IdParam, { maxItems: 1000 });
const CreateSecret = Type.Object({
  name: Name,
  description: Type.Optional(Type.String({ maxLength: 2000 })),
  type: Type.Optional(SecretType),
  value: Value,
  node_ids: Type.Optional(NodeIds),
});
const PatchSecret = Type.Partial(CreateSecret);
const SecretParams = Type.Object({ p: IdParam, s: IdParam });
const ImportKey = Type.Object({
  key_id: IdParam,
  prefix: Type.String({ minLength: 1, maxLength: 64, pattern: NAME_PATTERN }),
  node_ids: Type.Optional(NodeIds),
});
const NodeParams = Type.Object({ p: IdParam, n: IdParam });
const ListQuery = Type.Intersect([
  PagingQuery,
  Type.Object({ reveal: Type.Optional(Type.String({ pattern: '^(1|0|true|false)$' })) }),
]);
type SecretParams = Static<typeof SecretParams>;

export const secretRoutes: FastifyPluginAsync = async (app) => {
  const { ctx } = app;
  const tags = ['secrets'];

  app.get(
    '/projects/:p/secrets',
    { schema: { tags, params: ProjectParams, querystring: ListQuery } },
    async (req, reply) => {
      const { p } = req.params as ProjectParams;
      const q = req.query as PagingQuery & { reveal?: string };
      const reveal = q.reveal === '1' || q.reveal === 'true';
      const access = reveal ? await authorizePerson(req, p, 'project_manage') : await authorize(req, p);
      if (reveal) reply.header('cache-control', 'no-store');
      return secrets.listSecrets(ctx, access, { ...paging(q), reveal });
    },
  );

  app.post(
    '/projects/:p/secrets',
    { schema: { tags, params: ProjectParams, body: CreateSecret } },
    async (req, reply) => {
      const access = await authorizePerson(req, (req.params as ProjectParams).p, 'project_manage');
      return reply.code(201).send(await secrets.createSecret(ctx, access, req.body as secrets.SecretInput));
    },
  );

  app.get('/projects/:p/secrets/:s', { schema: { tags, params: SecretParams } }, async (req) => {
    const { p, s } = req.params as SecretParams;
    await authorize(req, p);
    return secrets.getSecret(ctx, p, s);
  });

  app.get('/projects/:p/secrets/:s/value', { schema: { tags, params: SecretParams } }, async (req, reply) => {
    const { p, s } = req.params as SecretParams;
    const access = await authorizePerson(req, p, 'project_manage');
    reply.header('cache-control', 'no-store');
    return secrets.revealSecret(ctx, access, s);
  });

  app.patch('/projects/:p/secrets/:s', { schema: { tags, params: SecretParams, body: PatchSecret } }, async (req) => {
    const { p, s } = req.params as SecretParams;
    const access = await authorizePerson(req, p, 'project_manage');
    return secrets.updateSecret(ctx, access, s, req.body as secrets.SecretPatch);
  });

  app.delete('/projects/:p/secrets/:s', { schema: { tags, params: SecretParams } }, async (req, reply) => {
    const { p, s } = req.params as SecretParams;
    const access = await authorizePerson(req, p, 'project_manage');
    await secrets.deleteSecret(ctx, access, s);
    return reply.code(204).send();
  });

  app.post(
    '/projects/:p/secrets/import-api-key',
    { schema: { tags, params: ProjectParams, body: ImportKey } },
    async (req, reply) => {
      // a person imports a key they hold; a program holding a key cannot import keys
      const user = requireUser(req);
      const access = await authorizePerson(req, (req.params as ProjectParams).p, 'project_manage');
      return reply.code(201).send(await importApiKey(ctx, access, user.userId, req.body as ImportInput));
    },
  );

  app.get('/projects/:p/nodes/:n/secrets', { schema: { tags, params: NodeParams } }, async (req, reply) => {
    const { p, n } = req.params as Static<typeof NodeParams>;
    // whoever may change the code that runs on a node can read what it is given anyway: code_edit,
    // not code_view (reading code must not yield plaintext credentials)
    const access = await authorize(req, p, 'code_edit', n);
    reply.header('cache-control', 'no-store');
    return secrets.nodeSecrets(ctx, access, n);
  });
};
