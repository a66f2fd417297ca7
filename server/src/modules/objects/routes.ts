// PUT /projects/:p/objects/:sha256[?data_layer_id=] (bearer/session): null when the layer already
// holds the object, else a signed, expiring upload URL bound to that layer. The layer is the one
// named, else the caller's default (GET data_layers/last: a key holder's personal layer), which is
// where the Python client, sending no layer, posts its packages. The raw transfers themselves live
// at /api/objects/:sha256?project=&layer=&exp=&sig= and need no Authorization header: the
// signature is the credential (lib/signed-url.ts). Raw PUT takes any Content-Type, up to
// KEYPORT_MAX_OBJECT_BYTES; both directions stream, so an object is never held whole in memory.

import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authorize } from '../../auth/plugin.js';
import { AppError } from '../../errors.js';
import { errors, JSON_TYPE, PROJECT_ERRORS } from '../../lib/http.js';
import { objectUrl, verifyObjectSignature } from '../../lib/signed-url.js';
import { resolveLayer } from '../layers/service.js';
import { sendObject } from './download.js';
import * as S from './schemas.js';
import * as objects from './service.js';

export const objectRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { ctx } = app;
  const tags = ['data plane'];

  app.put(
    '/projects/:p/objects/:sha256',
    {
      schema: {
        tags,
        security: [{ apiKey: [] }, { session: [] }],
        summary: 'null if the data layer holds the object, else a signed upload URL taking a raw PUT of the bytes',
        params: S.ObjectParams,
        querystring: S.LayerQuery,
        response: { 200: S.UploadLink, ...PROJECT_ERRORS },
      },
    },
    async (req, reply) => {
      const { p } = req.params;
      const sha256 = req.params.sha256.toLowerCase();
      const access = await authorize(req, p);
      objects.requireUploader(access);
      const layer = await resolveLayer(ctx, access, req.query.data_layer_id, undefined);
      // Not held: a link, whether or not the bytes are stored for some other layer (no oracle).
      const held = await objects.layerHoldsObject(ctx, layer.id, sha256);
      const link = held ? null : objectUrl(ctx, 'PUT', sha256, { projectId: p, layerId: layer.id });
      // The answer is a bare JSON string or null, serialized here: Fastify sends a string payload
      // as it is (unquoted, and as text/plain unless told otherwise).
      return reply.type(JSON_TYPE).send(JSON.stringify(link));
    },
  );

  await app.register(rawTransfers);
};

/** The hash in the path, lower-cased; a malformed one can have no valid signature. */
function pathHash(raw: string): string {
  const sha256 = raw.toLowerCase();
  if (!objects.SHA256_RE.test(sha256)) {
    throw new AppError('INVALID_SIGNATURE', 'The link is invalid or has expired; ask the API for a new one');
  }
  return sha256;
}

/** Its own encapsulated context: no body parsing here, every Content-Type arrives as the raw stream. */
const rawTransfers: FastifyPluginAsyncTypebox = async (app) => {
  const { ctx } = app;
  const limit = ctx.config.maxObjectBytes;
  const tags = ['data plane'];
  const security: Record<string, string[]>[] = []; // the signed query is the credential
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

  app.get(
    '/objects/:sha256',
    {
      schema: {
        tags,
        security,
        summary: 'Raw download (signed URL from …/packages/:id/files)',
        description:
          'A byte stream, not JSON: 200 with the object as application/octet-stream, or 206 with one ' +
          'range (`Range: bytes=a-b`, `bytes=a-`, `bytes=-n`; If-Range honoured; 416 beyond the end). ' +
          'Accept-Ranges, Content-Length and ETag (the sha256) on every answer; If-None-Match answers 304. ' +
          'Cacheable privately for 5 minutes. Needs no Authorization header; a bad, expired or foreign ' +
          'signature answers 403, an object the signed layer does not hold 404.',
        params: S.RawParams,
        querystring: S.SignedQuery,
        response: { 200: S.RawBytes, 206: S.RawBytes, ...errors(400, 403, 404, 503) },
      },
    },
    async (req, reply) => {
      const sha256 = pathHash(req.params.sha256);
      const scope = verifyObjectSignature(ctx, 'GET', sha256, req.query);
      const found = await objects.findObject(ctx, scope, sha256);
      return sendObject(ctx, req, reply, sha256, found);
    },
  );

  app.put(
    '/objects/:sha256',
    {
      schema: {
        tags,
        security,
        summary: 'Raw upload of the bytes (signed URL from PUT …/objects/:sha256)',
        description:
          'The body is the raw bytes with any Content-Type, streamed into the object store, up to ' +
          'KEYPORT_MAX_OBJECT_BYTES (413 beyond); they must hash to the sha256 in the path (400 ' +
          'HASH_MISMATCH, nothing stored). Needs no Authorization header: a bad or expired signature ' +
          'answers 403 before the body is read.',
        params: S.RawParams,
        querystring: S.SignedQuery,
        response: { 200: S.Stored, ...errors(400, 403, 404, 413, 503) },
      },
      // Refuse before the body is read: unsigned or announced-too-large uploads cost nothing.
      onRequest: async (req, reply) => {
        verifyObjectSignature(ctx, 'PUT', pathHash(req.params.sha256), req.query);
        if (Number(req.headers['content-length'] ?? 0) > limit) {
          reply.header('connection', 'close');
          throw new AppError('PAYLOAD_TOO_LARGE', `Objects are limited to ${limit} bytes`);
        }
      },
    },
    async (req, reply) => {
      const sha256 = pathHash(req.params.sha256);
      const scope = verifyObjectSignature(ctx, 'PUT', sha256, req.query);
      const body = req.body instanceof Readable ? req.body : Readable.from([]);
      try {
        return await objects.receiveObject(ctx, scope, sha256, body);
      } catch (err) {
        // the rest of a refused body is not worth reading: answer, then close the connection
        if (!body.readableEnded) reply.header('connection', 'close');
        throw err;
      }
    },
  );
};
