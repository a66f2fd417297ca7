// Shapes of object uploads and the raw, signed transfers.
import { Type } from 'typebox';
import { IdParam, Nullable } from '../../lib/http.js';

export const ObjectParams = Type.Object({ p: IdParam, sha256: Type.String({ pattern: '^[0-9a-fA-F]{64}$' }) });
export const LayerQuery = Type.Object({ data_layer_id: Type.Optional(IdParam) });
/** JSON `null`, or a JSON string holding the upload URL (what ServerProxy.upload_project_file reads). */
export const UploadLink = Nullable(
  Type.String({ description: 'signed, expiring URL taking a raw PUT of the bytes; null: the layer holds the object' }),
);

// Raw transfers: the path and the signature are checked by the handler, not by the validator, so a
// malformed hash or signature answers 403 INVALID_SIGNATURE like any other bad link (never 400).
export const RawParams = Type.Object({ sha256: Type.String({ description: 'sha256 of the bytes, hex' }) });
export const SignedQuery = Type.Object({
  project: Type.Optional(Type.Unknown({ description: 'project id (signed)' })),
  layer: Type.Optional(Type.Unknown({ description: 'data layer id (signed)' })),
  exp: Type.Optional(Type.Unknown({ description: 'expiry, epoch seconds (signed)' })),
  sig: Type.Optional(Type.Unknown({ description: 'base64url HMAC-SHA256' })),
});
/** The bytes themselves: a binary body, never serialized (Fastify sends a Buffer as it is). */
export const RawBytes = {
  description: 'The object bytes',
  content: { 'application/octet-stream': { schema: Type.Unsafe<Buffer>({ type: 'string', format: 'binary' }) } },
};
export const Stored = Type.Object({ content_hash: Type.String(), size: Type.Integer() });
