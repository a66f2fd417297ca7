// Analytics of key requests, apart from billing: per key and UTC day, requests by outcome and by
// operation (method and route template), and when each key was last used. Counted in memory on
// the hot path (two Map increments), written every few seconds by additive upserts, so several
// instances add up. A crash loses at most the last few seconds of these statistics, never a bill:
// billing has its own journal (meter.ts).
import type { Ctx } from '../../context.js';
import { DAY_MS } from '../../lib/clock.js';

export type Outcome = 'billed' | '403' | '404' | '429_quota' | '429_cap' | '429_rate' | '4xx' | '5xx';
export const OUTCOMES: readonly Outcome[] = ['billed', '403', '404', '429_quota', '429_cap', '429_rate', '4xx', '5xx'];

export function outcomeOf(status: number, refusal: '429_quota' | '429_cap' | '429_rate' | null): Outcome {
  if (status < 400) return 'billed';
  if (status === 403 || status === 404) return status === 403 ? '403' : '404';
  if (status === 429) return refusal ?? '429_rate';
  return status < 500 ? '4xx' : '5xx';
}

interface Count {
  keyId: number;
  projectId: number;
  day: number;
  value: string;
  n: number;
}

const CHUNK = 500;

export class OutcomeCounter {
  private outcomes = new Map<string, Count>();
  private operations = new Map<string, Count>();
  private lastUsed = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly ctx: Ctx,
    private readonly intervalMs = 2000,
  ) {}

  record(keyId: number, projectId: number, now: number, outcome: Outcome, operation: string): void {
    const day = now - (now % DAY_MS);
    bump(this.outcomes, keyId, projectId, day, outcome);
    bump(this.operations, keyId, projectId, day, operation);
    this.lastUsed.set(keyId, now);
  }

  start(): void {
    this.timer = setInterval(() => void this.flush().catch(() => {}), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush().catch(() => {});
  }

  /** Writes what was counted since the last flush; on failure the counts are merged back for the next one. */
  flush(): Promise<void> {
    if (!this.running) this.running = this.write().finally(() => (this.running = null));
    return this.running;
  }

  private async write(): Promise<void> {
    if (this.lastUsed.size === 0) return;
    const outcomes = this.outcomes;
    const operations = this.operations;
    const lastUsed = this.lastUsed;
    this.outcomes = new Map();
    this.operations = new Map();
    this.lastUsed = new Map();
    try {
      await this.ctx.k.transaction().execute(async (trx) => {
        const o = [...outcomes.values()];
        for (let i = 0; i < o.length; i += CHUNK)
          await trx
            .insertInto('usage_key_outcomes')
            .values(
              o.slice(i, i + CHUNK).map((c) => ({
                key_id: c.keyId,
                project_id: c.projectId,
                day: c.day,
                outcome: c.value,
                requests: c.n,
              })),
            )
            .onConflict((oc) =>
              oc.columns(['key_id', 'day', 'outcome']).doUpdateSet((eb) => ({
                requests: eb('usage_key_outcomes.requests', '+', eb.ref('excluded.requests')),
              })),
            )
            .execute();
        const p = [...operations.values()];
        for (let i = 0; i < p.length; i += CHUNK)
          await trx
            .insertInto('usage_key_operations')
            .values(
              p.slice(i, i + CHUNK).map((c) => ({
                key_id: c.keyId,
                project_id: c.projectId,
                day: c.day,
                operation: c.value,
                requests: c.n,
              })),
            )
            .onConflict((oc) =>
              oc.columns(['key_id', 'day', 'operation']).doUpdateSet((eb) => ({
                requests: eb('usage_key_operations.requests', '+', eb.ref('excluded.requests')),
              })),
            )
            .execute();
        // last_used_at only moves forward (another instance may have written a later time)
        for (const [keyId, at] of lastUsed)
          await trx
            .updateTable('api_keys')
            .set({ last_used_at: at })
            .where('id', '=', keyId)
            .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)]))
            .execute();
      });
    } catch (err) {
      for (const c of outcomes.values()) bump(this.outcomes, c.keyId, c.projectId, c.day, c.value, c.n);
      for (const c of operations.values()) bump(this.operations, c.keyId, c.projectId, c.day, c.value, c.n);
      for (const [k, at] of lastUsed) if ((this.lastUsed.get(k) ?? 0) < at) this.lastUsed.set(k, at);
      throw err;
    }
  }
}

function bump(m: Map<string, Count>, keyId: number, projectId: number, day: number, value: string, n = 1): void {
  const id = `${keyId}|${day}|${value}`;
  const c = m.get(id);
  if (c !== undefined) c.n += n;
  else m.set(id, { keyId, projectId, day, value, n });
}
