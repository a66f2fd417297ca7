// Per-key rate limit (OWASP API4): a token bucket per API key, KEYPORT_KEY_RATE_LIMIT requests
// per minute (0 = off, the default). The bucket holds one minute's worth, so a key may burst up
// to the limit and then runs at limit/60 requests per second.
//
// - Runs right after authentication (onRequest), before body parsing and the route: a throttled
//   request costs no database work.
// - Answers 429 RATE_LIMITED with Retry-After (seconds until the next request is allowed).
// - Throttled requests are NOT billed: metering (modules/usage) skips 429 answers.
// - The limit is per instance: behind N instances a key gets at most N × the limit.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../errors.js';
import type { Clock } from '../lib/clock.js';

interface Bucket {
  tokens: number;
  at: number;
}

/** Most buckets kept; full (idle) buckets are dropped first when the bound is reached. */
const MAX_BUCKETS = 100_000;

export class KeyRateLimiter {
  private readonly buckets = new Map<number, Bucket>();
  private readonly perMs: number;

  constructor(
    readonly perMinute: number,
    private readonly clock: Clock,
  ) {
    this.perMs = perMinute / 60_000;
  }

  /** 0 when the request may go, else the seconds to wait (for Retry-After). */
  take(keyId: number): number {
    const now = this.clock.now();
    let b = this.buckets.get(keyId);
    if (b === undefined) {
      if (this.buckets.size >= MAX_BUCKETS) this.prune(now);
      b = { tokens: this.perMinute, at: now };
      this.buckets.set(keyId, b);
    } else if (now > b.at) {
      b.tokens = Math.min(this.perMinute, b.tokens + (now - b.at) * this.perMs);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000));
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Drops buckets that have refilled completely (they hold nothing a new bucket would not). */
  private prune(now: number): void {
    for (const [id, b] of this.buckets) {
      if (b.tokens + (now - b.at) * this.perMs >= this.perMinute) this.buckets.delete(id);
    }
    // still full of active keys: drop the oldest entries rather than grow without bound
    if (this.buckets.size >= MAX_BUCKETS) {
      let n = this.buckets.size - MAX_BUCKETS + 1;
      for (const id of this.buckets.keys()) {
        if (n-- <= 0) break;
        this.buckets.delete(id);
      }
    }
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    keyRateLimit: KeyRateLimiter | null;
  }
  interface FastifyRequest {
    /** which limit refused this key request, for the outcome statistics (null: none did) */
    keyRefusal: '429_quota' | '429_cap' | '429_rate' | null;
  }
}

/** Register after authPlugin (its onRequest hook sets req.actor). No hook at all when off. */
export const keyRateLimitPlugin = fp(
  async (app: FastifyInstance) => {
    const perMinute = app.ctx.config.keyRateLimitPerMinute;
    const limiter = perMinute > 0 ? new KeyRateLimiter(perMinute, app.ctx.clock) : null;
    app.decorate('keyRateLimit', limiter);
    app.decorateRequest('keyRefusal', null); // set here and by the quota/cap admission (modules/usage)
    if (!limiter) return;
    app.addHook('onRequest', (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
      const actor = req.actor;
      if (actor === null || actor.kind !== 'key') return done();
      const wait = limiter.take(actor.keyId);
      if (wait === 0) return done();
      req.keyRefusal = '429_rate';
      reply.header('retry-after', String(wait));
      done(
        new AppError('RATE_LIMITED', `This API key is limited to ${perMinute} requests per minute; retry in ${wait} s`),
      );
    });
  },
  { name: 'keyport-key-rate-limit' },
);
