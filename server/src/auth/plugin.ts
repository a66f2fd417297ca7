// Authentication for /api: `Authorization: Bearer <key>` (programs) or the session cookie (people).
// Cookie-authenticated state changes must carry the session's CSRF token in `X-CSRF-Token`.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError, forbidden, notFound } from '../errors.js';
import { safeEqual } from '../lib/crypto.js';
import { resolveSession } from '../modules/accounts/service.js';
import { loadAccess } from './access.js';
import type { KeyAuthenticator } from './key-auth.js';
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

const invalidKey = () => new AppError('INVALID_KEY', 'The API key is missing, invalid, expired or revoked');

export const authPlugin = fp(async (app: FastifyInstance) => {
  app.decorateRequest('actor', null);

  app.addHook('onRequest', async (req: FastifyRequest, _reply: FastifyReply) => {
    if (!req.url.startsWith('/api/')) return;
    const authz = req.headers.authorization;
    if (authz !== undefined) {
      if (authz.length > MAX_TOKEN_LENGTH + 7 || !authz.startsWith('Bearer ')) throw invalidKey();
      const token = authz.slice(7).trim();
      try {
        req.actor = await app.keyAuth.authenticate(token);
      } catch {
        throw invalidKey();
      }
      return;
    }
    const q = req.query as Record<string, unknown> | undefined;
    if (q && QUERY_KEY_PARAMS.some((k) => k in q) && !req.url.startsWith('/api/objects/')) {
      throw new AppError('INVALID_KEY', 'Pass the API key in the Authorization header, never in the URL');
    }
    const cookie = req.cookies?.[SESSION_COOKIE];
    if (!cookie) return;
    const session = await resolveSession(app.ctx, cookie);
    if (!session) return;
    if (!SAFE_METHODS.has(req.method)) {
      const sent = req.headers[CSRF_HEADER];
      if (typeof sent !== 'string' || !safeEqual(sent, session.csrf_token)) {
        throw new AppError('CSRF_FAILED', 'Missing or wrong X-CSRF-Token header for a signed-in change');
      }
    }
    req.actor = { kind: 'user', userId: session.user_id, sessionId: session.id };
  });
});

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
