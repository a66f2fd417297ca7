// Package routes of the data plane, wire-compatible with rndflow ServerProxy:
// every answer is 200 with JSON, ids in the path/query may be strings, unknown body properties
// (e.g. the client's misspelled `felds`) are ignored, a wrong type is a 400.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { Access } from '../../auth/permissions.js';
import { authorize } from '../../auth/plugin.js';
import { MAX_PAGE_SIZE, PROJECT_ERRORS } from '../../lib/http.js';
import { resolveLayer } from '../layers/service.js';
import * as S from './schemas.js';
import * as packages from './service.js';

const toId = (v: number | string | null | undefined): number | undefined =>
  v === null || v === undefined ? undefined : Number(v);

/** Python's requests sends a body for these; be lenient with a missing one. */
const emptyBodyIsObject = async (req: FastifyRequest) => {
  if (req.body === undefined || req.body === null) req.body = {};
};

export const packageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { ctx } = app;

  /** The node must be in the project and the layer visible: both checked at once (one round trip
   * less on PostgreSQL), the node's 404 reported first as if they had run in turn. */
  async function nodeAndLayer(access: Access, n: number, fromQuery?: number, fromBody?: number) {
    const [node, layer] = await Promise.allSettled([
      packages.requireNodeIn(ctx, access.projectId, n),
      resolveLayer(ctx, access, fromQuery, fromBody),
    ]);
    if (node.status === 'rejected') throw node.reason;
    if (layer.status === 'rejected') throw layer.reason;
    return layer.value;
  }
  const tags = ['data plane'];
  const security: Record<string, string[]>[] = [{ apiKey: [] }, { session: [] }];

  app.post(
    '/projects/:p/nodes/:n/packages',
    {
      schema: {
        tags,
        security,
        summary: 'Create a package in a node (needs package_create on the node); answers 200',
        params: S.NodeParams,
        querystring: S.LayerQuery,
        body: S.PackageBody,
        response: { 200: S.Package, ...PROJECT_ERRORS },
      },
      preValidation: emptyBodyIsObject,
    },
    async (req) => {
      const { p, n } = req.params;
      const access = await authorize(req, p, 'package_create', n);
      const body = req.body;
      const layer = await nodeAndLayer(access, n, req.query.data_layer_id, toId(body.data_layer_id));
      return packages.createPackage(ctx, access, n, layer, {
        label: body.label,
        fields: body.fields,
        files: body.files,
        parent_ids: body.parent_ids?.map(Number),
      });
    },
  );

  app.post(
    '/projects/:p/nodes/:n/packages/search',
    {
      schema: {
        tags,
        security,
        summary: 'Search packages of a node by master_id / label / after_id (needs package_view)',
        params: S.NodeParams,
        querystring: S.SearchQuery,
        body: S.SearchBody,
        response: { 200: S.PackagePage, ...PROJECT_ERRORS },
      },
      preValidation: emptyBodyIsObject,
    },
    async (req) => {
      const { p, n } = req.params;
      const access = await authorize(req, p, 'package_view', n);
      const { query, body } = req;
      const layer = await nodeAndLayer(access, n, query.data_layer_id, toId(body.data_layer_id));
      const limit = Math.min(MAX_PAGE_SIZE, query.page_size);
      return packages.searchPackages(
        ctx,
        n,
        layer.id,
        { master_id: toId(body.master_id), after_id: toId(body.after_id), label: body.label ?? undefined },
        limit,
        (query.page - 1) * limit,
      );
    },
  );

  app.get(
    '/projects/:p/nodes/:n/packages/:id',
    {
      schema: {
        tags,
        security,
        summary: 'One package with its fields and files',
        params: S.PackageParams,
        response: { 200: S.Package, ...PROJECT_ERRORS },
      },
    },
    async (req) => {
      const { p, n, id } = req.params;
      const access = await authorize(req, p, 'package_view', n);
      return packages.getPackage(ctx, access, n, id);
    },
  );

  app.get(
    '/projects/:p/nodes/:n/packages/:id/files',
    {
      schema: {
        tags,
        security,
        summary: 'Files of a package; content = signed, expiring download URL usable without auth',
        params: S.PackageParams,
        response: { 200: S.FileLinks, ...PROJECT_ERRORS },
      },
    },
    async (req) => {
      const { p, n, id } = req.params;
      const access = await authorize(req, p, 'package_view', n);
      return packages.listFiles(ctx, access, n, id);
    },
  );
};
