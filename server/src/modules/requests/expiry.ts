// Pending requests expire after KEYPORT_REQUEST_TTL_DAYS. Every instance scans; each request is
// moved by the guarded status update (status = 'pending') whose row count picks one winner, and
// the notice, mail and webhook are written in that same transaction: sent once across instances.
import type { Ctx } from '../../context.js';
import { DAY_MS } from '../../lib/clock.js';
import { expireRequest } from './service.js';

const BATCH = 200;

/** Requests still pending past the TTL, oldest first; answers how many this instance expired. */
export async function expireDue(ctx: Ctx): Promise<number> {
  const cutoff = ctx.clock.now() - ctx.config.requestTtlDays * DAY_MS;
  const due = await ctx.k
    .selectFrom('key_requests')
    .select('id')
    .where('status', '=', 'pending')
    .where('created_at', '<=', cutoff)
    .orderBy('created_at')
    .limit(BATCH)
    .execute();
  let expired = 0;
  for (const r of due) if (await expireRequest(ctx, r.id)) expired += 1;
  return expired;
}
