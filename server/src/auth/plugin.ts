// Authentication for /api: `Authorization: Bearer <key>` (programs) or the session cookie (people).
// Cookie-authenticated state changes must carry the session's CSRF token in `X-CSRF-Token`.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { isDatabaseUnavailable } from '../db/errors.js';
import { AppError, forbidden, notFound } from '../errors.js';
import { safeEqual } from '../lib/crypto.js';
import { resolveSession } from '../modules/accounts/service.js';
import { loadAccess } from './access.js';
import { cookieValue } from './cookies.js';
import { invalidKey, type KeyActor, type KeyAuthenticator } from './key-auth.js';
import { type Access, type Actor, can, type Permission } from './permissions.js';

export const SESSION_COOKIE = 'keyport_session';
export const CSRF_HEADER = 'x-csrf-token';
/** A JWT of ours is ~300 bytes; anything far larger is refused before parsing. */
const MAX_TOKEN_LENGTH = 4096;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const QUERY_KEY_PARAMS = ['access_token', 'token', 'api_key', 'apikey', 'key'];

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null;
  }
  interface FastifyInstance {
    keyAuth: KeyAuthenticator;
  }
}

/** How many Authorization headers the request carried (rawHeaders: name, value, name, value …). */
function authorizationHeaders(raw: string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 13 && name.toLowerCase() === 'authorization') n++;
  }
  return n;
}

export const authPlugin = fp(async (app: FastifyInstance) => {
  app.decorateRequest('actor', null);

  // A callback hook, not an async one: with a cached key the whole check is synchronous, so the
  // request goes on without a promise or a microtask (this hook runs on every /api request).
  app.addHook('onRequest', (req: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) => {
    const url = req.url;
    // Raw object transfers carry their own credential (a signed URL); cookies and headers grant nothing there.
    if (!url.startsWith('/api/') || url.startsWith('/api/objects/')) return done();
    const authz = req.headers.authorization;
    if (authz !== undefined) {
      // Node keeps the first of several Authorization headers and drops the others: a proxy or
      // another parser may pick a different one, so a request carrying two is refused outright.
      if (authorizationHeaders(req.raw.rawHeaders) > 1) {
        return done(new AppError('VALIDATION_FAILED', 'Send one Authorization header'));
      }
      // The scheme name is case-insensitive (RFC 9110 §11.1); the common spelling is checked first.
      if (authz.length > MAX_TOKEN_LENGTH + 7 || !(authz.startsWith('Bearer ') || /^bearer /i.test(authz))) {
        return done(invalidKey());
      }
      let result: KeyActor | Promise<KeyActor>;
      try {
        result = app.keyAuth.authenticate(authz.slice(7).trim());
      } catch {
        return done(invalidKey());
      }
      if (typeof (result as Promise<KeyActor>).then === 'function') {
        (result as Promise<KeyActor>).then(
          (actor) => {
            req.actor = actor;
            done();
          },
          // a key that cannot be checked now is not a bad key: 503 (retry), not 401 (give up)
          (err) => done(isDatabaseUnavailable(err) ? err : invalidKey()),
        );
        return;
      }
      req.actor = result as KeyActor;
      return done();
    }
    const q = req.query as Record<string, unknown> | undefined;
    if (q) {
      for (const k of QUERY_KEY_PARAMS) {
        if (k in q)
          return done(new AppError('INVALID_KEY', 'Pass the API key in the Authorization header, never in the URL'));
      }
    }
    const cookie = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (!cookie) return done();
    sessionActor(app, req, cookie).then(
      (actor) => {
        if (actor) req.actor = actor;
        done();
      },
      (err: Error) => done(err),
    );
  });
});

/** The signed-in user behind a session cookie (null: no valid session); state changes need the CSRF token. */
async function sessionActor(app: FastifyInstance, req: FastifyRequest, cookie: string): Promise<Actor | null> {
  const session = await resolveSession(app.ctx, cookie);
  if (!session) return null;
  if (!SAFE_METHODS.has(req.method)) {
    const sent = req.headers[CSRF_HEADER];
    if (typeof sent !== 'string' || !safeEqual(sent, session.csrf_token)) {
      throw new AppError('CSRF_FAILED', 'Missing or wrong X-CSRF-Token header for a signed-in change');
    }
  }
  return { kind: 'user', userId: session.user_id, sessionId: session.id };
}

export function requireActor(req: FastifyRequest): Actor {
  if (!req.actor) throw new AppError('UNAUTHENTICATED', 'Sign in or pass an API key');
  return req.actor;
}

export function requireUser(req: FastifyRequest): Extract<Actor, { kind: 'user' }> {
  const actor = requireActor(req);
  if (actor.kind !== 'user') throw new AppError('FORBIDDEN', 'This action needs a signed-in user, not an API key');
  return actor;
}

/**
 * The check every project route makes. Projects the caller cannot view answer 404 (their
 * existence is not revealed); a visible project without the permission answers 403.
 */
export async function authorize(
  req: FastifyRequest,
  projectId: number,
  permission: Permission = 'project_view',
  nodeId?: number,
): Promise<Access> {
  const actor = requireActor(req);
  const access = await loadAccess(req.server.ctx, req.server.keyAuth, actor, projectId);
  if (!access || !can(access, 'project_view')) throw notFound('Project');
  if (!can(access, permission, nodeId)) throw forbidden(permission);
  return access;
}

/**
 * `authorize` for changes that only people make (members, roles, prices, templates, secrets,
 * webhooks, project settings): an API key is refused whatever its role.
 */
export async function authorizePerson(
  req: FastifyRequest,
  projectId: number,
  permission: Permission = 'project_view',
): Promise<Access & { actor: Extract<Actor, { kind: 'user' }> }> {
  requireUser(req);
  return (await authorize(req, projectId, permission)) as Access & { actor: Extract<Actor, { kind: 'user' }> };
}
