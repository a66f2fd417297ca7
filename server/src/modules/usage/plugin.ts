// Wires the UsageMeter into the app: an onRequest admission hook for key requests (refused while
// the journal cannot be written; monthly quota), one onSend hook (count + hold the response until
// the count is in the journal), replay on start, drain on close, Prometheus metrics on app.metrics.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { MonthlyLimits } from '../../auth/key-auth.js';
import { AppError } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import { formatMoney } from '../../lib/money.js';
import { UsageAlerts } from './alerts.js';
import { nextMonthOf } from './flush.js';
import { isBilled, UsageMeter } from './meter.js';
import { OutcomeCounter, outcomeOf } from './outcomes.js';
import { CAP_REACHED, NO_QUOTA, QuotaTracker } from './quota.js';

declare module 'fastify' {
  interface FastifyInstance {
    usage: UsageMeter;
    quota: QuotaTracker;
    outcomes: OutcomeCounter;
    alerts: UsageAlerts;
  }
  interface FastifyRequest {
    /** a monthly-quota reservation is held for this request (released unless it is billed) */
    quotaHeld: boolean;
  }
}

const JOURNAL_RETRY_S = '5';

const meteringUnavailable = () =>
  new AppError(
    'UNAVAILABLE',
    'Usage metering cannot record requests right now (its journal is not writable); retry shortly',
  );

/** method -> route template -> "METHOD template": the same string each time, built once */
const operationNames = new Map<string, Map<string, string>>();

/** The operation a key request called: method and route template (ids never enter the statistics). */
function operationOf(req: FastifyRequest): string {
  const url = req.routeOptions.url ?? '(no route)';
  let byUrl = operationNames.get(req.method);
  if (byUrl === undefined) {
    byUrl = new Map();
    operationNames.set(req.method, byUrl);
  }
  let name = byUrl.get(url);
  if (name === undefined) {
    name = `${req.method} ${url}`;
    byUrl.set(url, name);
  }
  return name;
}

/** Seconds until the next UTC month, when a used-up quota starts again. */
function secondsToNextMonth(now: number): number {
  return Math.max(1, Math.ceil((nextMonthOf(now) - now) / 1000));
}

/** The quota/cap answer for an admitted or refused key request (a function, not a closure per request). */
function admitted(
  req: FastifyRequest,
  reply: FastifyReply,
  done: (err?: Error) => void,
  limits: MonthlyLimits,
  left: number,
  clock: Clock,
): void {
  const limit = limits.quota;
  if (limit !== null) {
    reply.header('x-quota-limit', limits.quotaText as string);
    reply.header('x-quota-remaining', String(Math.max(0, left === NO_QUOTA ? limit : left)));
  }
  if (left >= 0) {
    req.quotaHeld = true;
    done();
    return;
  }
  reply.header('retry-after', String(secondsToNextMonth(clock.now())));
  if (left === CAP_REACHED) {
    req.keyRefusal = '429_cap';
    done(
      new AppError('SPEND_CAP_REACHED', 'This API key has reached its monthly spend cap', {
        monthly_spend_cap: formatMoney(limits.capMicros ?? 0),
      }),
    );
    return;
  }
  req.keyRefusal = '429_quota';
  done(
    new AppError('QUOTA_EXCEEDED', `This API key has used its monthly quota of ${limit} requests`, {
      monthly_quota: limit,
    }),
  );
}

export const usagePlugin = fp(
  async (app: FastifyInstance) => {
    const { ctx } = app;
    const quota = new QuotaTracker(ctx.k, ctx.clock);
    const meter = new UsageMeter(ctx, {
      flushMs: Math.min(1000, ctx.config.usageFlushMs),
      dataDir: ctx.config.dataDir,
      quota,
    });
    const outcomes = new OutcomeCounter(ctx);
    const alerts = new UsageAlerts(ctx);
    quota.onThreshold = (keyId, lineageId, month, t) => alerts.report(keyId, lineageId, month, t);
    app.decorate('usage', meter);
    app.decorate('outcomes', outcomes);
    app.decorate('alerts', alerts);
    app.decorate('quota', quota);
    app.decorateRequest('quotaHeld', false);
    registerMetrics(app, meter);
    const clock = ctx.clock;

    // Admission of key requests, after authentication and the per-key rate limit and before the
    // body is parsed or the route runs: a refused request has no effect and is not billed.
    app.addHook('onRequest', (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
      const a = req.actor;
      if (a === null || a.kind !== 'key') return done();
      if (meter.refusing) {
        reply.header('retry-after', JOURNAL_RETRY_S);
        return done(meteringUnavailable());
      }
      const limits = app.keyAuth.monthlyLimits(a.keyId);
      if (limits === null) return done();
      const r = quota.admit(a.keyId, limits, a.priceMicros);
      if (typeof r === 'number') return admitted(req, reply, done, limits, r, clock);
      r.then(
        (left) => admitted(req, reply, done, limits, left, clock),
        () => {
          reply.header('retry-after', '1');
          done(new AppError('UNAVAILABLE', 'The quota of this API key cannot be checked right now; retry shortly'));
        },
      );
    });

    app.addHook(
      'onSend',
      (req: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, p: unknown) => void) => {
        const a = req.actor;
        if (a === null || a.kind !== 'key') {
          if (a === null && reply.statusCode === 401 && req.headers.authorization !== undefined)
            meter.stats.rejected += 1;
          done(null, payload);
          return;
        }
        const now = clock.now();
        outcomes.record(a.keyId, a.projectId, now, outcomeOf(reply.statusCode, req.keyRefusal), operationOf(req));
        if (!isBilled(reply.statusCode)) {
          if (req.quotaHeld) quota.release(a.keyId, a.priceMicros);
          meter.stats.unbilled += 1;
          done(null, payload);
          return;
        }
        meter.record(a, now);
        meter.whenDurable(done, payload);
      },
    );

    meter.start();
    outcomes.start();
    app.addHook('onClose', async () => {
      await outcomes.stop();
      await alerts.drain();
    });
    // onClose runs after the HTTP server stopped taking requests and finished the ones in flight.
    app.addHook('onClose', async () => meter.close());
  },
  { name: 'keyport-usage' },
);

function registerMetrics(app: FastifyInstance, meter: UsageMeter): void {
  const registers = [app.metrics];
  const { stats } = meter;
  new Counter({
    name: 'keyport_key_requests_total',
    help: 'Requests carrying an API key, by outcome: billed (2xx/3xx), unbilled (4xx/5xx after authentication), rejected (401 by authentication)',
    labelNames: ['outcome'],
    registers,
    collect() {
      this.reset();
      this.inc({ outcome: 'billed' }, stats.billed);
      this.inc({ outcome: 'unbilled' }, stats.unbilled);
      this.inc({ outcome: 'rejected' }, stats.rejected);
    },
  });
  new Gauge({
    name: 'keyport_usage_buffered_buckets',
    help: 'Distinct (key, hour, price) buckets held in memory, not yet in the database',
    registers,
    collect() {
      this.set(meter.bufferedBuckets);
    },
  });
  new Gauge({
    name: 'keyport_usage_buffered_requests',
    help: 'Counted requests not yet in the database (memory and spilled journal segments)',
    registers,
    collect() {
      this.set(meter.bufferedRequests);
    },
  });
  new Gauge({
    name: 'keyport_usage_spilled_batches',
    help: 'Batches waiting for the database that live only in the local journal (memory bound reached)',
    registers,
    collect() {
      this.set(meter.spilledBatches);
    },
  });
  new Gauge({
    name: 'keyport_usage_flush_lag_seconds',
    help: 'Age of the oldest count not yet written to the database',
    registers,
    collect() {
      this.set(meter.lagMs(app.ctx.clock.now()) / 1000);
    },
  });
  new Gauge({
    name: 'keyport_usage_last_flush_duration_seconds',
    help: 'Duration of the last successful batch transaction',
    registers,
    collect() {
      this.set(stats.lastFlushMs / 1000);
    },
  });
  new Counter({
    name: 'keyport_usage_flushes_total',
    help: 'Batches applied to the database (including replays found already applied)',
    registers,
    collect() {
      this.reset();
      this.inc(stats.flushes);
    },
  });
  new Counter({
    name: 'keyport_usage_flush_failures_total',
    help: 'Failed flush attempts (database unavailable); counts are kept and retried',
    registers,
    collect() {
      this.reset();
      this.inc(stats.flushFailures);
    },
  });
  new Counter({
    name: 'keyport_usage_journal_errors_total',
    help: 'Failed journal writes (counts kept in memory; crash safety degraded)',
    registers,
    collect() {
      this.reset();
      this.inc(stats.journalErrors);
    },
  });
  const duration = new Histogram({
    name: 'keyport_usage_flush_duration_seconds',
    help: 'Duration of batch transactions writing usage counts',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  meter.onFlushed = (ms) => duration.observe(ms / 1000);
}
