import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authorize } from '../../auth/plugin.js';
import { errors, NoContent, PROJECT_ERRORS, ProjectParams } from '../../lib/http.js';
import * as S from './schemas.js';
import * as nodes from './service.js';

export const nodeRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { ctx } = app;
  const tags = ['graph'];

  app.get(
    '/projects/:p/nodes',
    {
      schema: {
        tags,
        params: ProjectParams,
        querystring: S.NodeSearch,
        response: { 200: S.NodeList, ...PROJECT_ERRORS },
      },
    },
    async (req) => {
      const { p } = req.params;
      await authorize(req, p);
      return nodes.listNodes(ctx, p, req.query.search);
    },
  );

  app.post(
    '/projects/:p/nodes',
    { schema: { tags, params: ProjectParams, body: S.CreateNode, response: { 201: S.Node, ...PROJECT_ERRORS } } },
    async (req, reply) => {
      const access = await authorize(req, req.params.p, 'graph_edit');
      return reply.code(201).send(await nodes.createNode(ctx, access, req.body));
    },
  );

  app.patch(
    '/projects/:p/nodes/:n',
    { schema: { tags, params: S.NodeParams, body: S.PatchNode, response: { 200: S.Node, ...PROJECT_ERRORS } } },
    async (req) => {
      const access = await authorize(req, req.params.p, 'graph_edit');
      return nodes.updateNode(ctx, access, req.params.n, req.body);
    },
  );

  app.delete(
    '/projects/:p/nodes/:n',
    { schema: { tags, params: S.NodeParams, response: { 204: NoContent, ...PROJECT_ERRORS } } },
    async (req, reply) => {
      const access = await authorize(req, req.params.p, 'graph_edit');
      await nodes.deleteNode(ctx, access, req.params.n);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/projects/:p/links',
    { schema: { tags, params: ProjectParams, response: { 200: S.LinkList, ...PROJECT_ERRORS } } },
    async (req) => {
      const { p } = req.params;
      await authorize(req, p);
      return nodes.listLinks(ctx, p);
    },
  );

  app.post(
    '/projects/:p/links',
    {
      schema: {
        tags,
        params: ProjectParams,
        body: S.CreateLink,
        response: { 201: S.Link, ...PROJECT_ERRORS, ...errors(409) },
      },
    },
    async (req, reply) => {
      const access = await authorize(req, req.params.p, 'graph_edit');
      const { from_node_id, to_node_id } = req.body;
      return reply.code(201).send(await nodes.createLink(ctx, access, from_node_id, to_node_id));
    },
  );

  app.delete(
    '/projects/:p/links/:l',
    { schema: { tags, params: S.LinkParams, response: { 204: NoContent, ...PROJECT_ERRORS } } },
    async (req, reply) => {
      const access = await authorize(req, req.params.p, 'graph_edit');
      await nodes.deleteLink(ctx, access, req.params.l);
      return reply.code(204).send(null);
    },
  );
};
