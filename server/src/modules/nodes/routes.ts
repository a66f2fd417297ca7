import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { authorize } from '../../auth/plugin.js';
import { IdParam, NameText, ProjectParams } from '../../lib/http.js';
import * as nodes from './service.js';

const Kind = Type.Union([Type.Literal('input'), Type.Literal('compute'), Type.Literal('output')]);
const CreateNode = Type.Object({ name: NameText(200), kind: Kind });
const PatchNode = Type.Partial(CreateNode);
const NodeParams = Type.Object({ p: IdParam, n: IdParam });
const LinkParams = Type.Object({ p: IdParam, l: IdParam });
const CreateLink = Type.Object({ from_node_id: IdParam, to_node_id: IdParam });
type NodeParams = { p: number; n: number };

export const nodeRoutes: FastifyPluginAsync = async (app) => {
  const { ctx } = app;
  const tags = ['graph'];

  app.get(
    '/projects/:p/nodes',
    {
      schema: {
        tags,
        params: ProjectParams,
        querystring: Type.Object({ search: Type.Optional(Type.String({ maxLength: 200 })) }),
      },
    },
    async (req) => {
      const { p } = req.params as ProjectParams;
      await authorize(req, p);
      return nodes.listNodes(ctx, p, (req.query as { search?: string }).search);
    },
  );

  app.post('/projects/:p/nodes', { schema: { tags, params: ProjectParams, body: CreateNode } }, async (req, reply) => {
    const access = await authorize(req, (req.params as ProjectParams).p, 'graph_edit');
    return reply
      .code(201)
      .send(await nodes.createNode(ctx, access, req.body as { name: string; kind: nodes.NodeKind }));
  });

  app.patch('/projects/:p/nodes/:n', { schema: { tags, params: NodeParams, body: PatchNode } }, async (req) => {
    const { p, n } = req.params as NodeParams;
    const access = await authorize(req, p, 'graph_edit');
    return nodes.updateNode(ctx, access, n, req.body as { name?: string; kind?: nodes.NodeKind });
  });

  app.delete('/projects/:p/nodes/:n', { schema: { tags, params: NodeParams } }, async (req, reply) => {
    const { p, n } = req.params as NodeParams;
    const access = await authorize(req, p, 'graph_edit');
    await nodes.deleteNode(ctx, access, n);
    return reply.code(204).send();
  });

  app.get('/projects/:p/links', { schema: { tags, params: ProjectParams } }, async (req) => {
    const { p } = req.params as ProjectParams;
    await authorize(req, p);
    return nodes.listLinks(ctx, p);
  });

  app.post('/projects/:p/links', { schema: { tags, params: ProjectParams, body: CreateLink } }, async (req, reply) => {
    const access = await authorize(req, (req.params as ProjectParams).p, 'graph_edit');
    const { from_node_id, to_node_id } = req.body as { from_node_id: number; to_node_id: number };
    return reply.code(201).send(await nodes.createLink(ctx, access, from_node_id, to_node_id));
  });

  app.delete('/projects/:p/links/:l', { schema: { tags, params: LinkParams } }, async (req, reply) => {
    const { p, l } = req.params as { p: number; l: number };
    const access = await authorize(req, p, 'graph_edit');
    await nodes.deleteLink(ctx, access, l);
    return reply.code(204).send();
  });
};
