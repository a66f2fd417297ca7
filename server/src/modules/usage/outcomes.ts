// Analytics of key requests, apart from billing: per key and UTC day, requests by outcome and by
// operation (method and route template), and when each key was last used. Counted in memory on
// the hot path (a numeric Map key, an array slot, a Map increment), written every few seconds by
// additive upserts, so several instances add up. A crash loses at most the last few seconds of these statistics, never a bill:
// billing has its own journal (meter.ts).
import { sql } from 'kysely';
import type { Ctx } from '../../context.js';
import { BulkStatement } from '../../db/bulk-statement.js';
import { backgroundTransaction } from '../../db/dialect.js';
import { DAY_MS } from '../../lib/clock.js';

export type Outcome = 'billed' | '403' | '404' | '429_quota' | '429_cap' | '429_rate' | '4xx' | '5xx';
export const OUTCOMES: readonly Outcome[] = ['billed', '403', '404', '429_quota', '429_cap', '429_rate', '4xx', '5xx'];

export function outcomeOf(status: number, refusal: '429_quota' | '429_cap' | '429_rate' | null): Outcome {
  if (status < 400) return 'billed';
  if (status === 403 || status === 404) return status === 403 ? '403' : '404';
  if (status === 429) return refusal ?? '429_rate';
  return status < 500 ? '4xx' : '5xx';
}

/** Per key and UTC day: requests by outcome (indexed like OUTCOMES) and by operation. */
interface KeyDay {
  keyId: number;
  projectId: number;
  day: number;
  outcomes: number[];
  operations: Map<string, number>;
}

const CHUNK = 500;
const DAYS = 131_072; // 2^17 days ≈ year 2328; keyId * 2^17 + day number stays below 2^53
const outcomeIndex = new Map(OUTCOMES.map((o, i) => [o, i]));

type OutcomeRow = { key_id: number; project_id: number; day: number; outcome: string; requests: number };
type OperationRow = { key_id: number; project_id: number; day: number; operation: string; requests: number };

/** Adds requests to per key, day and `by` rows (inserted when new). */
function perDayUpsert<R extends Record<string, unknown>>(
  table: 'usage_key_outcomes' | 'usage_key_operations',
  by: 'outcome' | 'operation',
) {
  return new BulkStatement<R>(
    ['key_id', 'project_id', 'day', by, 'requests'],
    (k, rows) =>
      k
        .insertInto(table)
        .values(rows)
        .onConflict((oc) =>
          oc
            .columns(['key_id', 'day', by])
            .doUpdateSet({ requests: sql`${sql.ref(`${table}.requests`)} + excluded.requests` }),
        ),
    CHUNK,
  );
}

const outcomeUpsert = perDayUpsert<OutcomeRow>('usage_key_outcomes', 'outcome');
const operationUpsert = perDayUpsert<OperationRow>('usage_key_operations', 'operation');

/**
 * Moves keys' last_used_at forward, never back (another instance may have written a later time):
 * one statement per chunk of keys, joined to a VALUES list (column1, column2 on both databases).
 * The IN list lets SQLite find the keys by primary key; without it, it scans every key.
 */
const lastUsedUpdate = new BulkStatement<{ id: number; at: number }>(
  (rows) => [...rows.flatMap((r) => [r.id, r.at]), ...rows.map((r) => r.id)],
  (k, rows) => ({
    compile: () =>
      sql`UPDATE api_keys SET last_used_at = v.column2
        FROM (VALUES ${sql.join(rows.map((r) => sql`(CAST(${r.id} AS BIGINT), CAST(${r.at} AS BIGINT))`))}) AS v
        WHERE api_keys.id = v.column1 AND api_keys.id IN (${sql.join(rows.map((r) => r.id))})
          AND (api_keys.last_used_at IS NULL OR api_keys.last_used_at < v.column2)`.compile(k),
  }),
  CHUNK,
);

export class OutcomeCounter {
  /** by keyId * DAYS + day number: numbers, so the hot path builds no string key */
  private counts = new Map<number, KeyDay>();
  private lastUsed = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly ctx: Ctx,
    private readonly intervalMs = 2000,
  ) {}

  record(keyId: number, projectId: number, now: number, outcome: Outcome, operation: string): void {
    const dayNo = Math.floor(now / DAY_MS);
    const c = this.entry(keyId, projectId, dayNo);
    const i = outcomeIndex.get(outcome) as number;
    c.outcomes[i] = (c.outcomes[i] as number) + 1;
    c.operations.set(operation, (c.operations.get(operation) ?? 0) + 1);
    this.lastUsed.set(keyId, now);
  }

  private entry(keyId: number, projectId: number, dayNo: number): KeyDay {
    const id = keyId * DAYS + dayNo;
    let c = this.counts.get(id);
    if (c === undefined) {
      c = { keyId, projectId, day: dayNo * DAY_MS, outcomes: OUTCOMES.map(() => 0), operations: new Map() };
      this.counts.set(id, c);
    }
    return c;
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
    const counts = this.counts;
    const lastUsed = this.lastUsed;
    this.counts = new Map();
    this.lastUsed = new Map();
    const outcomeRows: OutcomeRow[] = [];
    const operationRows: OperationRow[] = [];
    for (const c of counts.values()) {
      const base = { key_id: c.keyId, project_id: c.projectId, day: c.day };
      c.outcomes.forEach((n, i) => {
        if (n > 0) outcomeRows.push({ ...base, outcome: OUTCOMES[i] as Outcome, requests: n });
      });
      for (const [operation, n] of c.operations) operationRows.push({ ...base, operation, requests: n });
    }
    try {
      await backgroundTransaction(this.ctx.k, async (trx) => {
        await outcomeUpsert.run(trx, outcomeRows);
        await operationUpsert.run(trx, operationRows);
        await lastUsedUpdate.run(
          trx,
          [...lastUsed].sort((a, b) => a[0] - b[0]).map(([id, at]) => ({ id, at })),
        );
      });
    } catch (err) {
      for (const c of counts.values()) {
        const into = this.entry(c.keyId, c.projectId, c.day / DAY_MS);
        c.outcomes.forEach((n, i) => {
          into.outcomes[i] = (into.outcomes[i] as number) + n;
        });
        for (const [op, n] of c.operations) into.operations.set(op, (into.operations.get(op) ?? 0) + n);
      }
      for (const [k, at] of lastUsed) if ((this.lastUsed.get(k) ?? 0) < at) this.lastUsed.set(k, at);
      throw err;
    }
  }
}
