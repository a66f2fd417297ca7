// A @fastify/rate-limit store kept in the database, used on PostgreSQL so that the login, sign-up
// and key-request throttles hold across every instance (in-memory counters would let N instances
// allow N × each limit). One upsert per throttled request — these routes write to the database
// anyway. The hot path (per-key rate limit, quota) never uses it.
//
// Fixed windows like the library's own stores: the first hit opens a window of `timeWindow` ms,
// later hits count in it, the first hit after it opens a new one. Keys are stored as SHA-256
// hashes: no client IP or user id sits in the table as such.
import { createHash } from 'node:crypto';
import type { FastifyRateLimitStore } from '@fastify/rate-limit';
import { sql } from 'kysely';
import type { Ctx } from '../context.js';

type Result = { current: number; ttl: number };
type Callback = (err: Error | null, res?: Result) => void;

/** Windows ended this long ago are swept (at most once per SWEEP_EVERY_MS, by any incr). */
const SWEEP_AFTER_MS = 3_600_000;
const SWEEP_EVERY_MS = 600_000;

export function sharedRateLimitStore(ctx: Pick<Ctx, 'k' | 'clock' | 'log'>) {
  let lastSweep = 0;

  const sweep = (now: number) => {
    if (now - lastSweep < SWEEP_EVERY_MS) return;
    lastSweep = now;
    void sql`DELETE FROM rate_limit_hits WHERE window_start < ${now - SWEEP_AFTER_MS}`
      .execute(ctx.k)
      .catch((err) => ctx.log.warn({ err }, 'rate limit: sweep failed'));
  };

  return class DatabaseRateLimitStore implements FastifyRateLimitStore {
    /** `ns` separates routes (the library makes one child store per throttled route). */
    constructor(
      _globalOptions?: unknown,
      private readonly ns = 'rl:',
    ) {}

    incr(key: string, cb: Callback, timeWindow: number): void {
      const id = createHash('sha256').update(`${this.ns}${key}`).digest('base64url');
      const now = ctx.clock.now();
      sql<{ count: number | string; window_start: number | string }>`
        INSERT INTO rate_limit_hits (key, count, window_start) VALUES (${id}, 1, ${now})
        ON CONFLICT (key) DO UPDATE SET
          count = CASE WHEN rate_limit_hits.window_start + ${timeWindow} <= ${now} THEN 1
                       ELSE rate_limit_hits.count + 1 END,
          window_start = CASE WHEN rate_limit_hits.window_start + ${timeWindow} <= ${now} THEN ${now}
                              ELSE rate_limit_hits.window_start END
        RETURNING count, window_start`
        .execute(ctx.k)
        .then(
          (r) => {
            const row = r.rows[0];
            if (!row) return cb(new Error('rate limit: upsert returned no row'));
            cb(null, { current: Number(row.count), ttl: Math.max(0, Number(row.window_start) + timeWindow - now) });
          },
          (err: Error) => cb(err),
        );
      sweep(now);
    }

    // The library passes its merged route parameters (typed as RouteOptions), `routeInfo` among them.
    child(opts: unknown): DatabaseRateLimitStore {
      const info = (opts as { routeInfo?: { method?: string | string[]; url?: string } }).routeInfo;
      return new DatabaseRateLimitStore(undefined, `${this.ns}${String(info?.method ?? '')} ${info?.url ?? ''}:`);
    }
  };
}
