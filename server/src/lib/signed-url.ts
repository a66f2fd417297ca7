// Signed, expiring URLs for raw object transfers (download of package files, upload of new
// objects). They are usable without an Authorization header, so the signature is the only thing
// that grants access:
//   <KEYPORT_PUBLIC_URL>/api/objects/<sha256>?project=<id>&layer=<id>&exp=<epoch seconds>&sig=<base64url HMAC-SHA256>
// The HMAC key is derived from the master key with HKDF-SHA256 (info "signed-url"); the MAC
// binds the method (GET or PUT), the object hash, the project, the data layer and the expiry, so
// a download link cannot be turned into an upload link, moved to another object/project/layer or
// extended. The origin comes from configuration only, never from the request's Host header: a
// link must not point wherever a forged Host says.
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { Ctx } from '../context.js';
import { AppError } from '../errors.js';
import type { MasterKey } from './master-key.js';

export type SignedMethod = 'GET' | 'PUT';

/** Where a transfer belongs: uploads make the object held by this layer, downloads need it held there. */
export interface ObjectScope {
  projectId: number;
  layerId: number;
}

const keys = new WeakMap<MasterKey, Buffer>();

function signingKey(master: MasterKey): Buffer {
  let k = keys.get(master);
  if (!k) {
    k = Buffer.from(hkdfSync('sha256', master.key, Buffer.alloc(0), 'signed-url', 32));
    keys.set(master, k);
  }
  return k;
}

function mac(master: MasterKey, method: SignedMethod, sha256: string, scope: ObjectScope, exp: number): Buffer {
  return createHmac('sha256', signingKey(master))
    .update(`keyport-object-v2\n${method}\n${sha256}\n${scope.projectId}\n${scope.layerId}\n${exp}`)
    .digest();
}

export interface SignedQuery {
  project: number;
  layer: number;
  exp: number;
  sig: string;
}

/** Query parameters for a signed transfer of one object, valid for the configured TTL. */
export function signObject(ctx: Ctx, method: SignedMethod, sha256: string, scope: ObjectScope): SignedQuery {
  const exp = Math.floor(ctx.clock.now() / 1000) + ctx.config.signedUrlTtlSeconds;
  return {
    project: scope.projectId,
    layer: scope.layerId,
    exp,
    sig: mac(ctx.master, method, sha256, scope, exp).toString('base64url'),
  };
}

const positiveInt = (v: number) => Number.isSafeInteger(v) && v >= 1;

/** Throws 403 INVALID_SIGNATURE unless the query is a valid, unexpired signature for this transfer. */
export function verifyObjectSignature(
  ctx: Ctx,
  method: SignedMethod,
  sha256: string,
  q: { project?: unknown; layer?: unknown; exp?: unknown; sig?: unknown },
): ObjectScope {
  const invalid = () =>
    new AppError('INVALID_SIGNATURE', 'The link is invalid or has expired; ask the API for a new one');
  const scope = { projectId: Number(q.project), layerId: Number(q.layer) };
  const exp = Number(q.exp);
  if (!positiveInt(scope.projectId) || !positiveInt(scope.layerId) || !Number.isSafeInteger(exp)) throw invalid();
  if (typeof q.sig !== 'string') throw invalid();
  const given = Buffer.from(q.sig, 'base64url');
  const want = mac(ctx.master, method, sha256, scope, exp);
  if (given.length !== want.length || !timingSafeEqual(given, want)) throw invalid();
  if (exp * 1000 < ctx.clock.now()) throw invalid();
  return scope;
}

/** Absolute signed link on the configured origin (config.publicUrl). */
export function objectUrl(ctx: Ctx, method: SignedMethod, sha256: string, scope: ObjectScope): string {
  const s = signObject(ctx, method, sha256, scope);
  return `${ctx.config.publicUrl}/api/objects/${sha256}?project=${s.project}&layer=${s.layer}&exp=${s.exp}&sig=${s.sig}`;
}
