// Package routes of the data plane (SPEC §5), wire-compatible with rndflow ServerProxy:
// every answer is 200 with JSON, ids in the path/query may be strings, unknown body properties
// (e.g. the client's misspelled `felds`) are ignored, a wrong type is a 400.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Access } from '../../auth/permissions.js';
import { authorize } from '../../auth/plugin.js';
import { IdParam, MAX_PAGE_SIZE } from '../../lib/http.js';
import { resolveLayer } from '../layers/service.js';
import * as packages from './service.js';

/** Ids in JSON bodies: a number, or a string of digits (values read from secrets are strings). */
const IdLike = Type.Union([IdParam, Type.String({ pattern: '^[1-9][0-9]{0,9}$' })]);
const Flag = Type.Union([Type.Boolean(), Type.Integer({ minimum: 0, maximum: 1 })]);
const JsonObject = Type.Unsafe<Record<string, unknown>>({ type: 'object' });

const FileRef = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 1000 }),
  content_hash: Type.String({ pattern: '^[0-9a-fA-F]{64}$' }),
  size: Type.Optional(Type.Integer({ minimum: 0 })),
  type: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Null()])),
  is_executable: Type.Optional(Flag),
  is_binary: Type.Optional(Flag),
});

const PackageBody = Type.Object({
  label: Type.Optional(Type.Union([Type.String({ maxLength: 1000 }), Type.Null()])),
  fields: Type.Optional(Type.Union([JsonObject, Type.Null()])),
  files: Type.Optional(Type.Array(FileRef, { maxItems: 1000 })),
  parent_ids: Type.Optional(Type.Array(IdLike, { maxItems: 1000 })),
  data_layer_id: Type.Optional(IdLike),
});

const SearchBody = Type.Object({
  master_id: Type.Optional(Type.Union([IdLike, Type.Null()])),
  label: Type.Optional(Type.Union([Type.String({ maxLength: 1000 }), Type.Null()])),
  after_id: Type.Optional(
    Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: '^[0-9]{1,10}$' }), Type.Null()]),
  ),
  data_layer_id: Type.Optional(Type.Union([IdLike, Type.Null()])),
});

const NodeParams = Type.Object({ p: IdParam, n: IdParam });
const PackageParams = Type.Object({ p: IdParam, n: IdParam, id: IdParam });
const LayerQuery = Type.Object({ data_layer_id: Type.Optional(IdParam) });
const SearchQuery = Type.Object({
  data_layer_id: Type.Optional(IdParam),
  page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }),
  /** larger values are capped at 100, not refused */
  page_size: Type.Integer({ minimum: 1, default: 10 }),
});

type NodeParams = { p: number; n: number };
type PackageParams = { p: number; n: number; id: number };

const toId = (v: number | string | null | undefined): number | undefined =>
  v === null || v === undefined ? undefined : Number(v);

/** Python's requests sends a body for these; be lenient with a missing one. */
const emptyBodyIsObject = async (req: FastifyRequest) => {
  if (req.body === undefined || req.body === null) req.body = {};
};

export const packageRoutes: FastifyPluginAsync = async (app) => {
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
        params: NodeParams,
        querystring: LayerQuery,
        body: PackageBody,
      },
      preValidation: emptyBodyIsObject,
    },
    async (req) => {
      const { p, n } = req.params as NodeParams;
      const access = await authorize(req, p, 'package_create', n);
      const body = req.body as {
        label?: string | null;
        fields?: Record<string, unknown> | null;
        files?: packages.FileInput[];
        parent_ids?: (number | string)[];
        data_layer_id?: number | string;
      };
      const layer = await nodeAndLayer(
        access,
        n,
        (req.query as { data_layer_id?: number }).data_layer_id,
        toId(body.data_layer_id),
      );
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
        params: NodeParams,
        querystring: SearchQuery,
        body: SearchBody,
      },
      preValidation: emptyBodyIsObject,
    },
    async (req) => {
      const { p, n } = req.params as NodeParams;
      const access = await authorize(req, p, 'package_view', n);
      const query = req.query as { data_layer_id?: number; page: number; page_size: number };
      const body = req.body as {
        master_id?: number | string | null;
        label?: string | null;
        after_id?: number | string | null;
        data_layer_id?: number | string | null;
      };
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
    { schema: { tags, security, summary: 'One package with its fields and files', params: PackageParams } },
    async (req) => {
      const { p, n, id } = req.params as PackageParams;
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
        params: PackageParams,
      },
    },
    async (req) => {
      const { p, n, id } = req.params as PackageParams;
      const access = await authorize(req, p, 'package_view', n);
      return packages.listFiles(ctx, access, n, id);
    },
  );
};
