// PUT /projects/:p/objects/:sha256 (bearer/session): null when the project already has the
// object, else a signed, expiring upload URL. The raw transfers themselves live at
// /api/objects/:sha256?project=&exp=&sig= and need no Authorization header: the signature is the
// credential (lib/signed-url.ts). Raw PUT takes any Content-Type, up to KEYPORT_MAX_OBJECT_BYTES.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { authorize } from '../../auth/plugin.js';
import { AppError } from '../../errors.js';
import { IdParam } from '../../lib/http.js';
import { objectUrl, verifyObjectSignature } from '../../lib/signed-url.js';
import * as objects from './service.js';

const ObjectParams = Type.Object({ p: IdParam, sha256: Type.String({ pattern: '^[0-9a-fA-F]{64}$' }) });

export const objectRoutes: FastifyPluginAsync = async (app) => {
  const { ctx } = app;
  const tags = ['data plane'];

  app.put(
    '/projects/:p/objects/:sha256',
    {
      schema: {
        tags,
        security: [{ apiKey: [] }, { session: [] }],
        summary: 'null if the project has the object, else a signed upload URL taking a raw PUT of the bytes',
        params: ObjectParams,
      },
    },
    async (req, reply) => {
      const { p, sha256: raw } = req.params as { p: number; sha256: string };
      const sha256 = raw.toLowerCase();
      const access = await authorize(req, p);
      objects.requireUploader(access);
      const link = (await objects.projectHasObject(ctx, p, sha256)) ? null : objectUrl(ctx, req, 'PUT', sha256, p);
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
      const project = verifyObjectSignature(ctx, 'GET', sha256, req.query as Record<string, unknown>);
      const data = await objects.loadObject(ctx, project, sha256);
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
      const project = verifyObjectSignature(ctx, 'PUT', sha256, req.query as Record<string, unknown>);
      const body = req.body;
      const data = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
      return objects.storeObject(ctx, project, sha256, data);
    },
  );
};
