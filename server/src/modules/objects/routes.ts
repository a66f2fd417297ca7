// PUT /projects/:p/objects/:sha256[?data_layer_id=] (bearer/session): null when the layer already
// holds the object, else a signed, expiring upload URL bound to that layer. The layer is the one
// named, else the caller's default (GET data_layers/last: a key holder's personal layer), which is
// where the Python client, sending no layer, posts its packages. The raw transfers themselves live
// at /api/objects/:sha256?project=&layer=&exp=&sig= and need no Authorization header: the
// signature is the credential (lib/signed-url.ts). Raw PUT takes any Content-Type, up to
// KEYPORT_MAX_OBJECT_BYTES.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { authorize } from '../../auth/plugin.js';
import { AppError } from '../../errors.js';
import { IdParam } from '../../lib/http.js';
import { objectUrl, verifyObjectSignature } from '../../lib/signed-url.js';
import { resolveLayer } from '../layers/service.js';
import * as objects from './service.js';

const ObjectParams = Type.Object({ p: IdParam, sha256: Type.String({ pattern: '^[0-9a-fA-F]{64}$' }) });
const LayerQuery = Type.Object({ data_layer_id: Type.Optional(IdParam) });

export const objectRoutes: FastifyPluginAsync = async (app) => {
  const { ctx } = app;
  const tags = ['data plane'];

  app.put(
    '/projects/:p/objects/:sha256',
    {
      schema: {
        tags,
        security: [{ apiKey: [] }, { session: [] }],
        summary: 'null if the data layer holds the object, else a signed upload URL taking a raw PUT of the bytes',
        params: ObjectParams,
        querystring: LayerQuery,
      },
    },
    async (req, reply) => {
      const { p, sha256: raw } = req.params as { p: number; sha256: string };
      const sha256 = raw.toLowerCase();
      const access = await authorize(req, p);
      objects.requireUploader(access);
      const layer = await resolveLayer(ctx, access, (req.query as { data_layer_id?: number }).data_layer_id, undefined);
      // Not held: a link, whether or not the bytes are stored for some other layer (no oracle).
      const held = await objects.layerHoldsObject(ctx, layer.id, sha256);
      const link = held ? null : objectUrl(ctx, 'PUT', sha256, { projectId: p, layerId: layer.id });
      return reply.type('application/json; charset=utf-8').send(JSON.stringify(link));
    },
  );

  await app.register(rawTransfers);
};

/** The hash in the path, lower-cased; a malformed one can have no valid signature. */
function pathHash(req: FastifyRequest): string {
  const sha256 = String((req.params as { sha256?: string }).sha256 ?? '').toLowerCase();
  if (!objects.SHA256_RE.test(sha256)) {
    throw new AppError('INVALID_SIGNATURE', 'The link is invalid or has expired; ask the API for a new one');
  }
  return sha256;
}

/** Its own encapsulated context: no JSON parsing here, every Content-Type arrives as raw bytes. */
const rawTransfers: FastifyPluginAsync = async (app) => {
  const { ctx } = app;
  const limit = ctx.config.maxObjectBytes;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limit }, (_req, body, done) => done(null, body));

  app.get(
    '/objects/:sha256',
    { schema: { tags: ['data plane'], summary: 'Raw download (signed URL from …/packages/:id/files)', hide: false } },
    async (req: FastifyRequest, reply: FastifyReply) => {
      const sha256 = pathHash(req);
      const scope = verifyObjectSignature(ctx, 'GET', sha256, req.query as Record<string, unknown>);
      const data = await objects.loadObject(ctx, scope, sha256);
      return reply
        .header('cache-control', 'private, max-age=300')
        .header('etag', `"${sha256}"`)
        .type('application/octet-stream')
        .send(data);
    },
  );

  app.put(
    '/objects/:sha256',
    {
      bodyLimit: limit,
      schema: { tags: ['data plane'], summary: 'Raw upload of the bytes (signed URL from PUT …/objects/:sha256)' },
      // Refuse before the body is read: unsigned uploads cost nothing.
      onRequest: async (req) => {
        verifyObjectSignature(ctx, 'PUT', pathHash(req), req.query as Record<string, unknown>);
      },
    },
    async (req: FastifyRequest) => {
      const sha256 = pathHash(req);
      const scope = verifyObjectSignature(ctx, 'PUT', sha256, req.query as Record<string, unknown>);
      const body = req.body;
      const data = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
      return objects.storeObject(ctx, scope, sha256, data);
    },
  );
};
