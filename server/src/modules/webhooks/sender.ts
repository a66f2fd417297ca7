// The webhook worker: delivers due rows of the queue, at least once, with the same webhook-id on
// every attempt. A row is claimed by one instance at a time (conditional UPDATE on locked_until,
// as the mail outbox does), so several instances never send it at once; a crashed instance's
// claim runs out and another one retries it. After each attempt: retry with backoff, keep a
// bounded log, and disable an endpoint that has failed without a success for three days.
import type { Ctx } from '../../context.js';
import { DAY_MS, HOUR_MS } from '../../lib/clock.js';
import { loadDataKey } from '../../lib/data-keys.js';
import { allowedHosts, type Resolve, systemResolve, type UrlPolicy } from './address-guard.js';
import { disableFailingEndpoint } from './service.js';
import { openWebhookSecret, signatureHeaders } from './signing.js';
import { type AttemptResult, postWebhook } from './transport.js';

/** Waits after the 1st, 2nd, … failed attempt; 10 h after every later one. */
export const RETRY_DELAYS_MS = [5_000, 60_000, 300_000, 1_800_000, 2 * HOUR_MS, 5 * HOUR_MS, 10 * HOUR_MS];
/** Attempts per delivery (about 3.6 days of retries) before it is given up as failed. */
export const MAX_ATTEMPTS = 15;
/** An endpoint failing every attempt for this long is disabled. */
export const DISABLE_AFTER_MS = 3 * DAY_MS;
export const DELIVERY_TIMEOUT_MS = 10_000;
/** Finished deliveries kept per endpoint (pending ones are always kept). */
export const KEEP_DELIVERIES = 100;
/** Well above the timeout, so a claim never runs out while its attempt is still going. */
const LOCK_MS = 60_000;
const BATCH = 25;
/** Attempts in flight per instance: one slow receiver does not hold up the others. */
const CONCURRENCY = 5;

export const retryDelay = (attempts: number): number =>
  RETRY_DELAYS_MS[attempts - 1] ?? (RETRY_DELAYS_MS[RETRY_DELAYS_MS.length - 1] as number);

export interface SenderOptions {
  intervalMs?: number;
  timeoutMs?: number;
  /** DNS resolution (tests give names fixed addresses) */
  resolve?: Resolve;
}

interface Due {
  id: number;
  endpoint_id: number;
  project_id: number;
  msg_id: string;
  payload: string;
  attempts: number;
  url: string;
  secret_enc: string;
}

export class WebhookSender {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly resolve: Resolve;
  private readonly policy: UrlPolicy;

  constructor(
    private readonly ctx: Ctx,
    opts: SenderOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? 1000;
    this.timeoutMs = opts.timeoutMs ?? DELIVERY_TIMEOUT_MS;
    this.resolve = opts.resolve ?? systemResolve;
    this.policy = {
      allowHttp: ctx.config.webhookAllowHttp,
      allowHosts: allowedHosts(ctx.config.webhookAllowHosts),
    };
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for the pass in progress; tick() still works afterwards. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One pass over due deliveries; resolves to how many attempts this instance made. */
  tick(): Promise<number> {
    if (!this.running) this.running = this.deliverDue().finally(() => (this.running = null));
    return this.running;
  }

  private async deliverDue(): Promise<number> {
    const now = this.ctx.clock.now();
    const due: Due[] = await this.ctx.k
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
      .select(['d.id', 'd.endpoint_id', 'd.project_id', 'd.msg_id', 'd.payload', 'd.attempts', 'e.url', 'e.secret_enc'])
      .where('d.status', '=', 'pending')
      .where('d.next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('d.locked_until', 'is', null), eb('d.locked_until', '<', now)]))
      .where('e.enabled', '=', 1)
      .orderBy('d.next_attempt_at')
      .orderBy('d.id')
      .limit(BATCH)
      .execute()
      .catch(() => []); // database unavailable: the next pass tries again
    let made = 0;
    const queue = [...due];
    const lane = async () => {
      for (let row = queue.shift(); row; row = queue.shift()) if (await this.attempt(row)) made++;
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, lane));
    return made;
  }

  /** Claims the row and makes one attempt; false when another instance had it. */
  private async attempt(row: Due): Promise<boolean> {
    const { k, clock } = this.ctx;
    const now = clock.now();
    const lock = now + LOCK_MS;
    const claim = await k
      .updateTable('webhook_deliveries')
      .set({ locked_until: lock })
      .where('id', '=', row.id)
      .where('status', '=', 'pending')
      .where('attempts', '=', row.attempts) // unchanged since we read it: no stale retry
      .where('next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now)]))
      .executeTakeFirst()
      .catch(() => null);
    if (Number(claim?.numUpdatedRows ?? 0) !== 1) return false;
    const startedAt = clock.now();
    let result: AttemptResult;
    try {
      const dk = await loadDataKey(k, this.ctx, row.project_id);
      if (!dk) throw new Error('the project has no data key');
      const secret = openWebhookSecret(this.ctx, dk, row.endpoint_id, row.secret_enc);
      const headers = signatureHeaders(secret, row.msg_id, Math.floor(startedAt / 1000), row.payload);
      result = await postWebhook(row.url, headers, row.payload, {
        policy: this.policy,
        resolve: this.resolve,
        timeoutMs: this.timeoutMs,
      });
    } catch (err) {
      result = { statusCode: null, latencyMs: 0, error: err instanceof Error ? err.message.slice(0, 300) : 'failed' };
    }
    // if this write fails the claim runs out and the row is tried again: at least once
    await this.record(row, lock, startedAt, result).catch((err: Error) =>
      this.ctx.log.warn({ err, delivery_id: row.id }, 'webhook attempt not recorded'),
    );
    return true;
  }

  private async record(row: Due, lock: number, startedAt: number, r: AttemptResult): Promise<void> {
    const ctx = this.ctx;
    await ctx.k.transaction().execute(async (trx) => {
      const now = ctx.clock.now();
      const attempts = row.attempts + 1;
      const ok = r.error === null;
      const status = ok ? 'delivered' : attempts >= MAX_ATTEMPTS ? 'failed' : 'pending';
      const done = await trx
        .updateTable('webhook_deliveries')
        .set({
          status,
          attempts,
          locked_until: null,
          next_attempt_at: status === 'pending' ? now + retryDelay(attempts) : now,
          last_status_code: r.statusCode,
          last_latency_ms: r.latencyMs,
          last_error: r.error,
          last_attempt_at: startedAt,
          delivered_at: ok ? now : null,
        })
        .where('id', '=', row.id)
        .where('locked_until', '=', lock)
        .executeTakeFirst();
      // the endpoint was deleted meanwhile (rows gone), or our claim ran out and another took over
      if (Number(done.numUpdatedRows) !== 1) return;
      await trx
        .insertInto('webhook_attempts')
        .values({
          delivery_id: row.id,
          attempt: attempts,
          started_at: startedAt,
          status_code: r.statusCode,
          latency_ms: r.latencyMs,
          error: r.error,
        })
        .execute();
      if (ok) {
        await trx
          .updateTable('webhook_endpoints')
          .set({ failing_since: null })
          .where('id', '=', row.endpoint_id)
          .execute();
      } else {
        await trx
          .updateTable('webhook_endpoints')
          .set({ failing_since: startedAt })
          .where('id', '=', row.endpoint_id)
          .where('failing_since', 'is', null)
          .execute();
        const e = await trx
          .selectFrom('webhook_endpoints')
          .select(['failing_since', 'enabled'])
          .where('id', '=', row.endpoint_id)
          .executeTakeFirst();
        if (e?.enabled === 1 && e.failing_since !== null && now - e.failing_since >= DISABLE_AFTER_MS) {
          await disableFailingEndpoint(trx, ctx, row.project_id, row.endpoint_id);
        }
      }
      if (status !== 'pending') await prune(trx, row.endpoint_id);
    });
  }
}

/** Keeps the newest KEEP_DELIVERIES finished deliveries of an endpoint (their attempts go with them). */
async function prune(q: Ctx['k'], endpointId: number): Promise<void> {
  const cutoff = await q
    .selectFrom('webhook_deliveries')
    .select('id')
    .where('endpoint_id', '=', endpointId)
    .where('status', '!=', 'pending')
    .orderBy('id', 'desc')
    .limit(1)
    .offset(KEEP_DELIVERIES)
    .executeTakeFirst();
  if (!cutoff) return;
  await q
    .deleteFrom('webhook_deliveries')
    .where('endpoint_id', '=', endpointId)
    .where('status', '!=', 'pending')
    .where('id', '<=', cutoff.id)
    .execute();
}
