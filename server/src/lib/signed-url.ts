// Signed, expiring URLs for raw object transfers (download of package files, upload of new
// objects). They are usable without an Authorization header, so the signature is the only thing
// that grants access:
//   <base>/api/objects/<sha256>?project=<id>&exp=<epoch seconds>&sig=<base64url HMAC-SHA256>
// The HMAC key is derived from the master key with HKDF-SHA256 (info "signed-url"); the MAC
// binds the method (GET or PUT), the object hash, the project and the expiry, so a download link
// cannot be turned into an upload link, moved to another object/project or extended.
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Ctx } from '../context.js';
import { AppError } from '../errors.js';
import type { MasterKey } from './master-key.js';

export type SignedMethod = 'GET' | 'PUT';

const keys = new WeakMap<MasterKey, Buffer>();

function signingKey(master: MasterKey): Buffer {
  let k = keys.get(master);
  if (!k) {
    k = Buffer.from(hkdfSync('sha256', master.key, Buffer.alloc(0), 'signed-url', 32));
    keys.set(master, k);
  }
  return k;
}

function mac(master: MasterKey, method: SignedMethod, sha256: string, projectId: number, exp: number): Buffer {
  return createHmac('sha256', signingKey(master))
    .update(`keyport-object-v1\n${method}\n${sha256}\n${projectId}\n${exp}`)
    .digest();
}

export interface SignedQuery {
  project: number;
  exp: number;
  sig: string;
}

/** Query parameters for a signed transfer of one object, valid for the configured TTL. */
export function signObject(ctx: Ctx, method: SignedMethod, sha256: string, projectId: number): SignedQuery {
  const exp = Math.floor(ctx.clock.now() / 1000) + ctx.config.signedUrlTtlSeconds;
  return { project: projectId, exp, sig: mac(ctx.master, method, sha256, projectId, exp).toString('base64url') };
}

/** Throws 403 INVALID_SIGNATURE unless the query is a valid, unexpired signature for this transfer. */
export function verifyObjectSignature(
  ctx: Ctx,
  method: SignedMethod,
  sha256: string,
  q: { project?: unknown; exp?: unknown; sig?: unknown },
): number {
  const invalid = () =>
    new AppError('INVALID_SIGNATURE', 'The link is invalid or has expired; ask the API for a new one');
  const project = Number(q.project);
  const exp = Number(q.exp);
  if (!Number.isSafeInteger(project) || project < 1 || !Number.isSafeInteger(exp) || typeof q.sig !== 'string')
    throw invalid();
  const given = Buffer.from(q.sig, 'base64url');
  const want = mac(ctx.master, method, sha256, project, exp);
  if (given.length !== want.length || !timingSafeEqual(given, want)) throw invalid();
  if (exp * 1000 < ctx.clock.now()) throw invalid();
  return project;
}

const HOST_RE = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * Base URL for absolute links handed to clients. KEYPORT_PUBLIC_URL wins when it was set; when it
 * was left at its default (`http://localhost:<PORT>`) the link is built from the request itself
 * (protocol + Host header, or X-Forwarded-Proto/Host with KEYPORT_TRUST_PROXY), so a server on a
 * random port, or reached under another name, still hands out links that work for the caller.
 */
export function publicBase(ctx: Ctx, req: FastifyRequest): string {
  const configured = ctx.config.publicUrl;
  if (configured !== `http://localhost:${ctx.config.port}`) return configured;
  const host = req.host;
  if (!host || !HOST_RE.test(host)) return configured;
  const proto = req.protocol === 'https' ? 'https' : 'http';
  return `${proto}://${host}`;
}

export function objectUrl(
  ctx: Ctx,
  req: FastifyRequest,
  method: SignedMethod,
  sha256: string,
  projectId: number,
): string {
  const s = signObject(ctx, method, sha256, projectId);
  return `${publicBase(ctx, req)}/api/objects/${sha256}?project=${s.project}&exp=${s.exp}&sig=${s.sig}`;
}
