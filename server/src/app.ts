// buildApp(deps): plugins, modules, one error handler. Dependencies come in so tests can swap them.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import { Counter, Registry } from 'prom-client';
import { Type } from 'typebox';
import { cookiePlugin } from './auth/cookies.js';
import type { KeyAuthenticator } from './auth/key-auth.js';
import { keyRateLimitPlugin } from './auth/key-rate-limit.js';
import { authPlugin } from './auth/plugin.js';
import type { Config } from './config.js';
import type { Ctx, Logger } from './context.js';
import type { Db } from './db/dialect.js';
import { isDatabaseUnavailable, uniqueViolation } from './db/errors.js';
import { AppError, errorBody, type ValidationIssue, validationError } from './errors.js';
import { type Clock, systemClock } from './lib/clock.js';
import { randomToken, safeEqual } from './lib/crypto.js';
import { EventBus } from './lib/events.js';
import { ErrorResponse, errors, NAME_TEXT_PATTERN } from './lib/http.js';
import { registerInputGuards, urlRefusal } from './lib/input-guards.js';
import type { MasterKey } from './lib/master-key.js';
import { relaxDefaults } from './lib/openapi.js';
import { PgEventTransport } from './lib/pg-events.js';
import { lazyChildLogger, type RequestLog } from './lib/request-logger.js';
import { sharedRateLimitStore } from './lib/shared-rate-limit.js';
import { validatorCompiler } from './lib/validation.js';
import { registerModules } from './modules/index.js';
import { KeyDirectory } from './modules/keys/authenticator.js';
import { backfillTokenDigests } from './modules/keys/digest-backfill.js';
import { KeyReminders } from './modules/keys/reminders.js';
import { jwksRoute } from './modules/keys/routes.js';
import { SigningKeys } from './modules/keys/signing.js';
import { OutboxSender } from './modules/notifications/mailer.js';
import { ObjectCollector } from './modules/objects/gc.js';
import { objectStores } from './modules/objects/stores/index.js';
import { ApprovalJobs } from './modules/requests/jobs.js';
import { usagePlugin } from './modules/usage/plugin.js';
import { WebhookSender } from './modules/webhooks/sender.js';

export interface AppDeps {
  config: Config;
  db: Db;
  master: MasterKey;
  clock?: Clock;
  events?: EventBus;
  /** pino options or a stream for tests that capture logs; false disables logging. */
  logger?: FastifyServerOptions['logger'];
  /** Where the built web UI lives; defaults to web/dist next to the server package. */
  webDist?: string | null;
  /** how often the outbox sender looks for due mail (tests use a short interval) */
  mailIntervalMs?: number;
  /** how often keys about to expire are looked for (reminders) */
  reminderIntervalMs?: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    ctx: Ctx;
    metrics: Registry;
    reminders: KeyReminders;
    /** request expiry and the daily request digest (tests stop its timer and drive tick()) */
    approvalJobs: ApprovalJobs;
    /** header value (x-keyport-quiet) that keeps a request out of the request log */
    quietLogToken: string;
    /** the webhook delivery worker (tests stop its timer and drive tick() themselves) */
    webhooks: WebhookSender;
  }
}

const here = path.dirname(fileURLToPath(import.meta.url));
export const DEFAULT_WEB_DIST = path.resolve(here, '../../web/dist');

/** Never log credentials: no Authorization/Cookie headers, no query strings (signed URLs). */
export const LOG_REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
];

export function loggerOptions(level: string, stream?: NodeJS.WritableStream): FastifyServerOptions['logger'] {
  return {
    level,
    redact: { paths: LOG_REDACT, censor: '[redacted]' },
    serializers: {
      req: (req: { method: string; url: string; ip?: string }) => ({
        method: req.method,
        url: req.url.split('?')[0],
        ip: req.ip,
      }),
      // Errors are logged by type and message only: no stack traces, no SQL, no values.
      err: (err: Error & { code?: string }) => ({ type: err.name, code: err.code, message: err.message }),
    },
    ...(stream ? { stream } : {}),
  } as unknown as FastifyServerOptions['logger'];
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, db } = deps;
  // In-process pollers (the demo worker) carry this to keep their once-a-second requests out of the
  // request log; unguessable, so no outside caller can hide its requests from the log with it.
  const quietLogToken = randomToken(16);
  let infoEnabled = true;
  const app = Fastify({
    logger: deps.logger ?? loggerOptions(config.logLevel),
    // Below info the per-request lines are never written: say so up front, so Fastify does not
    // build their arguments for every request.
    logController: new LogController({
      disableRequestLogging: (req) => !infoEnabled || req.headers['x-keyport-quiet'] === quietLogToken,
    }),
    childLoggerFactory: lazyChildLogger as never,
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    // Node's own limit; a 1 MB Authorization header is refused before any of our code runs.
    routerOptions: { maxParamLength: 200 },
  }).withTypeProvider<TypeBoxTypeProvider>();

  infoEnabled = (app.log as Partial<RequestLog>).isLevelEnabled?.('info') ?? true;
  const base = {
    config,
    db,
    k: db.kysely,
    clock: deps.clock ?? systemClock,
    master: deps.master,
    events: deps.events ?? new EventBus(),
    log: app.log as unknown as Logger,
  };
  const ctx: Ctx = { ...base, signing: await SigningKeys.load(base as Ctx) };
  const keyDirectory = new KeyDirectory(ctx);
  await keyDirectory.start();
  app.addHook('onClose', async () => keyDirectory.stop());
  let closing = false;
  const backfill = backfillTokenDigests(ctx, () => closing).catch((err) =>
    ctx.log.warn({ err }, 'token digest backfill stopped'),
  );
  app.addHook('onClose', async () => {
    closing = true;
    await backfill;
  });
  if (db.dialect === 'postgres') {
    // Several instances on one PostgreSQL: invalidations reach every instance (docs/scale-out.md).
    const transport = await PgEventTransport.start(ctx);
    ctx.events.transport = transport;
    app.addHook('onClose', async () => transport.stop());
  }
  if (config.smtpUrl) {
    const sender = new OutboxSender(ctx, config.smtpUrl, deps.mailIntervalMs ?? 1000);
    sender.start();
    app.addHook('onClose', () => sender.stop());
  }
  const collector = new ObjectCollector(ctx); // unreferenced file objects, one instance at a time
  collector.start();
  app.addHook('onClose', async () => {
    await collector.stop();
    await objectStores(ctx).close();
  });
  app.setValidatorCompiler(validatorCompiler);
  app.decorate('ctx', ctx);
  app.decorate('metrics', new Registry());
  // tokens this instance had not verified before (or evicted from its cache), by how they were checked
  for (const [name, help, stat] of [
    ['keyport_key_signature_checks_total', 'API-key tokens checked by their Ed25519 signature', 'signatureChecks'],
    [
      'keyport_key_digest_checks_total',
      'API-key tokens recognised by the digest kept at issue (no signature check needed)',
      'digestChecks',
    ],
  ] as const)
    new Counter({
      name,
      help,
      registers: [app.metrics],
      collect() {
        this.reset();
        this.inc(keyDirectory.stats[stat]);
      },
    });
  app.decorate('keyAuth', keyDirectory as KeyAuthenticator);
  app.decorate('quietLogToken', quietLogToken);
  const reminders = new KeyReminders(ctx, deps.reminderIntervalMs);
  reminders.start();
  app.decorate('reminders', reminders);
  app.addHook('onClose', () => reminders.stop());
  const approvalJobs = new ApprovalJobs(ctx, deps.reminderIntervalMs);
  approvalJobs.start();
  app.decorate('approvalJobs', approvalJobs);
  app.addHook('onClose', () => approvalJobs.stop());
  const webhooks = new WebhookSender(ctx);
  webhooks.start();
  app.decorate('webhooks', webhooks);
  app.addHook('onClose', () => webhooks.stop());

  app.setErrorHandler((err: FastifyError | AppError, req, reply) => {
    if (err instanceof AppError) return reply.code(err.status).send(errorBody(err));
    const fe = err as FastifyError;
    if (fe.validation) {
      const issue = fe.validation[0] as ValidationIssue | undefined;
      return reply
        .code(400)
        .send(errorBody(validationError(issue, fe.validationContext, fe.message, NAME_TEXT_PATTERN)));
    }
    const mapped = mapFastifyError(fe);
    if (mapped) return reply.code(mapped.status).send(errorBody(mapped));
    const taken = uniqueViolation(fe);
    if (taken) return reply.code(409).send(errorBody(new AppError(taken.code, taken.message)));
    if (isDatabaseUnavailable(fe)) {
      // Transient (database down, restarting, overloaded): tell the client to retry, not "bug".
      // The serializer logs type, code and message only: never the SQL or its parameters.
      req.log.warn({ err: fe }, 'database unavailable');
      return reply
        .code(503)
        .header('retry-after', '1')
        .send(errorBody(new AppError('UNAVAILABLE', 'The database is unavailable; retry shortly')));
    }
    req.log.error({ err: fe }, 'unhandled error');
    return reply.code(500).send(errorBody(new AppError('INTERNAL', 'Internal error')));
  });

  app.addSchema(ErrorResponse); // referenced by every route's documented error answers
  registerInputGuards(app); // JSON depth bound, no NUL in JSON strings (lib/input-guards.ts)
  // The first hook of every request, one callback for two things: the security headers (set now,
  // they stay on whatever answer follows, a refusal by a later hook included) and the refusal of
  // NUL in URLs.
  app.addHook('onRequest', (req, reply, done) => {
    const url = req.url;
    setSecurityHeaders(url, reply);
    done(urlRefusal(url));
  });
  await app.register(cookiePlugin); // session cookies, parsed only where read
  // before any plugin that adds routes, so every request carries the `actor` decoration
  await app.register(authPlugin);
  await app.register(rateLimit, {
    global: false,
    // PostgreSQL means possibly several instances: keep the throttle counters in the database
    ...(db.dialect === 'postgres' ? { store: sharedRateLimitStore(ctx) } : {}),
    errorResponseBuilder: (_req, context) =>
      new AppError('RATE_LIMITED', `Too many requests; retry in ${Math.ceil(context.ttl / 1000)} s`),
  });
  await app.register(swagger, {
    // shared schemas keep their own names in components.schemas (ErrorResponse, not def-0)
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
    transformObject: (doc) => ('openapiObject' in doc ? relaxDefaults(doc.openapiObject) : doc.swaggerObject),
    openapi: {
      info: { title: 'Keyport API', version: '0.1.0', description: 'API keys for project platforms' },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          session: { type: 'apiKey', in: 'cookie', name: 'keyport_session' },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });
  await app.register(keyRateLimitPlugin); // per-key rate limit (off unless KEYPORT_KEY_RATE_LIMIT)
  await app.register(usagePlugin); // metering: counts key requests (modules/usage)

  await app.register(
    async (api) => {
      // needs no database; 400/401 come from the guards in front of every /api route (a NUL in
      // the URL, a bad Authorization header)
      const health = Type.Object({ status: Type.Literal('ok') });
      // answered synchronously, like whoami with a cached key: no promise per request
      api.get('/health', { schema: { tags: ['meta'], response: { 200: health, ...errors(400, 401) } } }, () => ({
        status: 'ok' as const,
      }));
      api.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
      await registerModules(api);
    },
    { prefix: '/api' },
  );
  await app.register(jwksRoute);
  const metricsAuth = config.metricsToken ? `Bearer ${config.metricsToken}` : null;
  app.get('/metrics', { schema: { hide: true } }, async (req, reply) => {
    if (metricsAuth !== null && !safeEqual(req.headers.authorization ?? '', metricsAuth)) {
      throw new AppError('UNAUTHENTICATED', 'GET /metrics needs Authorization: Bearer <KEYPORT_METRICS_TOKEN>');
    }
    return reply.type(app.metrics.contentType).send(await app.metrics.metrics());
  });

  await serveWeb(app, deps.webDist === undefined ? DEFAULT_WEB_DIST : deps.webDist);
  return app;
}

function mapFastifyError(err: FastifyError): AppError | null {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('PAYLOAD_TOO_LARGE', 'Request body is too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', 'Unsupported Content-Type');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AppError('MALFORMED_JSON', 'Request body is not valid JSON');
  }
  if (err instanceof SyntaxError) return new AppError('MALFORMED_JSON', 'Request body is not valid JSON');
  if (err.statusCode === 429) return new AppError('RATE_LIMITED', 'Too many requests');
  if (err.statusCode === 404) return new AppError('NOT_FOUND', 'Not found');
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return new AppError('VALIDATION_FAILED', 'Bad request');
  }
  return null;
}

const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
};

const SECURITY_HEADER_LIST = Object.entries(SECURITY_HEADERS);

/** API answers get the one header they need; the UI and the API docs page the whole set (docs without CSP). */
function setSecurityHeaders(url: string, reply: FastifyReply): void {
  const docs = url.startsWith('/api/docs');
  if (url.startsWith('/api/') && !docs) reply.header('x-content-type-options', 'nosniff');
  else for (const [h, v] of SECURITY_HEADER_LIST) if (!docs || h !== 'content-security-policy') reply.header(h, v);
}

/** The built UI on the same port; unknown non-API GETs get index.html (client-side routing). */
async function serveWeb(app: FastifyInstance, dist: string | null) {
  const hasUi = dist !== null && fs.existsSync(path.join(dist, 'index.html'));
  if (hasUi) {
    await app.register(fastifyStatic, { root: dist, wildcard: false, index: ['index.html'] });
  }
  app.setNotFoundHandler((req, reply) => {
    // HEAD like GET (same status and headers; Node sends no body for HEAD)
    const read = req.method === 'GET' || req.method === 'HEAD';
    if (hasUi && read && !req.url.startsWith('/api/') && req.url !== '/metrics') {
      return reply.type('text/html').sendFile('index.html');
    }
    return reply
      .code(404)
      .send(errorBody(new AppError('NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0]}`)));
  });
}
