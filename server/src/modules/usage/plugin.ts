// Wires the UsageMeter into the app: one onSend hook (count + hold the response until the count is
// in the journal), replay on start, drain on close, Prometheus metrics on app.metrics.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge, Histogram } from 'prom-client';
import { isBilled, UsageMeter } from './meter.js';

declare module 'fastify' {
  interface FastifyInstance {
    usage: UsageMeter;
  }
}

export const usagePlugin = fp(
  async (app: FastifyInstance) => {
    const { ctx } = app;
    const meter = new UsageMeter(ctx, {
      flushMs: Math.min(1000, ctx.config.usageFlushMs),
      dataDir: ctx.config.dataDir,
    });
    app.decorate('usage', meter);
    registerMetrics(app, meter);
    const clock = ctx.clock;

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
        if (!isBilled(reply.statusCode)) {
          meter.stats.unbilled += 1;
          done(null, payload);
          return;
        }
        meter.record(a, clock.now());
        meter.whenDurable(() => done(null, payload));
      },
    );

    meter.start();
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
    help: 'Requests carrying an API key, by outcome: billed, unbilled (5xx/429 after authentication), rejected (401 by authentication)',
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
