// Answers a raw download from the object's store: the whole object (verified on the way out, see
// DownloadCheck), one range of it (206), 304 for a matching If-None-Match, 416 past the end.
// The store's stream goes straight to the socket: memory stays flat whatever the size.
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Ctx } from '../../context.js';
import { AppError } from '../../errors.js';
import { DownloadCheck } from './hashing.js';
import { notModified, parseRange, rangeStillApplies } from './range.js';
import type { StoredObject } from './service.js';
import { objectStores } from './stores/index.js';
import { type ByteRange, NotStoredError } from './stores/store.js';

export async function sendObject(
  ctx: Ctx,
  req: FastifyRequest,
  reply: FastifyReply,
  sha256: string,
  obj: StoredObject,
): Promise<FastifyReply> {
  const etag = `"${sha256}"`;
  reply.header('accept-ranges', 'bytes').header('etag', etag).header('cache-control', 'private, max-age=300');
  if (notModified(req.headers['if-none-match'], etag)) return reply.code(304).send();
  const ifRange = req.headers['if-range'] as string | undefined;
  const answer = rangeStillApplies(ifRange, etag) ? parseRange(req.headers.range, obj.size) : { kind: 'full' as const };
  if (answer.kind === 'unsatisfiable') {
    return reply.code(416).header('content-range', `bytes */${obj.size}`).send();
  }
  const range = answer.kind === 'partial' ? answer.range : undefined;
  const body = req.method === 'HEAD' ? null : await open(ctx, sha256, obj, range);
  reply.type('application/octet-stream').header('content-length', range ? range.end - range.start + 1 : obj.size);
  if (range) reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${obj.size}`);
  // an empty stream, not an empty body: Fastify's HEAD handling then keeps our Content-Length
  if (body === null) return reply.send(Readable.from([]));
  if (range) return reply.send(body);
  const check = new DownloadCheck(sha256, () =>
    ctx.log.error({ sha256, store: obj.store }, 'stored bytes do not hash to the object name; download cut short'),
  );
  body.on('error', (err) => check.destroy(err));
  return reply.send(body.pipe(check));
}

async function open(ctx: Ctx, sha256: string, obj: StoredObject, range: ByteRange | undefined): Promise<Readable> {
  try {
    return await objectStores(ctx).get(obj.store).get(obj.key, range);
  } catch (err) {
    if (!(err instanceof NotStoredError)) throw err;
    ctx.log.error({ sha256, store: obj.store }, 'object row without bytes in its store');
    throw new AppError('UNAVAILABLE', 'The object is unavailable');
  }
}
