import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { invalidKey } from '../../auth/key-auth.js';
import type { Access } from '../../auth/permissions.js';
import { authorizePerson, requireActor, requireUser } from '../../auth/plugin.js';
import { errors, JSON_TYPE, NoContent, OptionalReason, PROJECT_ERRORS } from '../../lib/http.js';
import { renewKey } from '../requests/service.js';
import { parsePeriod } from '../usage/period.js';
import { BreakdownQuery, KeyBreakdown, KeySeries, SeriesQuery } from '../usage/schemas.js';
import { DEFAULT_GRACE_SECONDS } from './roll.js';
import * as S from './schemas.js';
import * as keys from './service.js';

/** 400 two Authorization headers, 401 a bad key, 429 the key's rate limit or quota. */
const KEY_ERRORS = errors(400, 401, 429, 503);
/** 401 signed out, 403 an API key. */
const ME_ERRORS = errors(400, 401, 403, 503);
/** ... and for one key: 404 not mine, 409 revoked or expired. */
const MY_KEY_ERRORS = errors(400, 401, 403, 404, 409, 503);

function requireAccess(access: Access | null): Access {
  if (!access) throw invalidKey();
  return access;
}

const graceOf = (body: { grace_seconds?: number | undefined } | null) => body?.grace_seconds ?? DEFAULT_GRACE_SECONDS;

export const keyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { ctx } = app;
  const tags = ['api keys'];

  app.get(
    '/auth/whoami',
    { schema: { tags, security: [{ apiKey: [] }], response: { 200: S.WhoAmI, ...KEY_ERRORS } } },
    // not async: with the key's role cached the answer needs no promise
    (req, reply) => {
      const actor = requireActor(req);
      if (actor.kind !== 'key') throw invalidKey();
      const access = app.keyAuth.access(actor, actor.projectId);
      if (access instanceof Promise) return access.then((a) => keys.whoami(actor, requireAccess(a)));
      // The text made by this route's serializer the first time, sent as it is: Fastify does not
      // serialise a string it is told is JSON (the reply's type is the body's, hence the cast).
      const json = keys.whoamiJson(actor, requireAccess(access), (body) => String(reply.serialize(body)));
      reply.type(JSON_TYPE).send(json as never);
    },
  );

  app.delete(
    '/projects/:p/issued-keys/:k',
    {
      schema: {
        tags,
        params: S.IssuedKeyParams,
        body: OptionalReason,
        response: { 200: S.Revoked, ...PROJECT_ERRORS },
      },
    },
    async (req) => {
      const { p, k } = req.params;
      const access = await authorizePerson(req, p, 'api_keys_manage');
      return keys.revokeKey(ctx, access, k, req.body?.reason);
    },
  );

  app.post(
    '/projects/:p/issued-keys/:k/roll',
    {
      schema: {
        tags,
        summary: 'Roll a key: a successor for its holder; the old key works until the grace ends',
        params: S.IssuedKeyParams,
        body: S.RollBody,
        // 409: revoked, expired or already rolled
        response: { 200: S.IssuedRolled, ...PROJECT_ERRORS, ...errors(409) },
      },
    },
    async (req) => {
      const { p, k } = req.params;
      const access = await authorizePerson(req, p, 'api_keys_manage');
      return keys.rollIssuedKey(ctx, access, k, graceOf(req.body));
    },
  );

  app.patch(
    '/projects/:p/issued-keys/:k',
    {
      schema: {
        tags,
        summary: "Set one key's monthly spend cap (replaces the template's; null: the template's again)",
        params: S.IssuedKeyParams,
        body: S.CapBody,
        response: { 204: NoContent, ...PROJECT_ERRORS, ...errors(409) },
      },
    },
    async (req, reply) => {
      const { p, k } = req.params;
      const access = await authorizePerson(req, p, 'api_keys_manage');
      await keys.setSpendCap(ctx, access.actor, { projectId: p }, k, req.body.monthly_spend_cap);
      return reply.code(204).send(null);
    },
  );

  app.patch(
    '/me/api-keys/:k',
    {
      schema: {
        tags,
        summary: 'Set my own, lower monthly spend cap on my key (null: none of my own)',
        params: S.MyKeyParams,
        body: S.CapBody,
        response: { 204: NoContent, ...MY_KEY_ERRORS },
      },
    },
    async (req, reply) => {
      const user = requireUser(req);
      await keys.setSpendCap(ctx, user, { userId: user.userId }, req.params.k, req.body.monthly_spend_cap);
      return reply.code(204).send(null);
    },
  );

  app.get('/me/api-keys', { schema: { tags, response: { 200: S.MyKeyList, ...ME_ERRORS } } }, async (req) =>
    keys.myKeys(ctx, requireUser(req).userId),
  );

  app.delete(
    '/me/api-keys/:k',
    {
      schema: {
        tags,
        summary: 'Revoke my own key (its managers are told)',
        params: S.MyKeyParams,
        body: OptionalReason,
        response: { 200: S.Revoked, ...MY_KEY_ERRORS },
      },
    },
    async (req) => keys.revokeMyKey(ctx, requireUser(req), req.params.k, req.body?.reason),
  );

  app.post(
    '/me/api-keys/:k/roll',
    {
      schema: {
        tags,
        summary: 'Roll my key: a new token now; the old one works until the grace ends',
        params: S.MyKeyParams,
        body: S.RollBody,
        response: { 200: S.MyRolled, ...MY_KEY_ERRORS },
      },
    },
    async (req, reply) => {
      const user = requireUser(req);
      reply.header('cache-control', 'no-store');
      return keys.rollMyKey(ctx, user, req.params.k, graceOf(req.body));
    },
  );

  app.post(
    '/me/api-keys/:k/renew',
    {
      schema: {
        tags,
        summary: 'Ask the managers to renew my key; approval rolls it over to a key with a new lifetime',
        params: S.MyKeyParams,
        response: { 201: S.RenewalRequest, ...MY_KEY_ERRORS },
      },
    },
    async (req, reply) => {
      reply.code(201);
      return renewKey(ctx, requireUser(req), req.params.k);
    },
  );

  app.get(
    '/me/api-keys/:k/usage',
    {
      schema: {
        tags,
        summary: 'Requests and cost of my key per hour or day',
        params: S.MyKeyParams,
        querystring: SeriesQuery,
        response: { 200: KeySeries, ...MY_KEY_ERRORS },
      },
    },
    async (req) => {
      const q = req.query;
      return keys.myKeyUsage(
        ctx,
        requireUser(req).userId,
        req.params.k,
        parsePeriod(q, ctx.clock.now()),
        q.granularity,
      );
    },
  );

  app.get(
    '/me/api-keys/:k/breakdown',
    {
      schema: {
        tags,
        summary: 'Requests of my key by outcome and by operation in a period (whole UTC days)',
        params: S.MyKeyParams,
        querystring: BreakdownQuery,
        response: { 200: KeyBreakdown, ...MY_KEY_ERRORS },
      },
    },
    async (req) =>
      keys.myKeyBreakdown(ctx, requireUser(req).userId, req.params.k, parsePeriod(req.query, ctx.clock.now())),
  );

  app.get(
    '/me/api-keys/:k/token',
    { schema: { tags, params: S.MyKeyParams, response: { 200: S.Token, ...MY_KEY_ERRORS } } },
    async (req, reply) => {
      const user = requireUser(req);
      reply.header('cache-control', 'no-store');
      return keys.myToken(ctx, user, req.params.k);
    },
  );
};

/** Public keys for offline verification (outside /api, at the well-known path). */
export const jwksRoute: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/.well-known/jwks.json',
    // 400: the URL guard in front of every route refuses NUL characters
    { schema: { tags: ['api keys'], response: { 200: S.Jwks, ...errors(400) } } },
    async (_req, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      return app.ctx.signing.jwks();
    },
  );
};
