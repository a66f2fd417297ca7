// Applies one batch of usage counts in one transaction: the batch id first (a retried or replayed
// batch that already committed changes nothing), then idempotent additive upserts into the hourly
// buckets and the three rollups. Rows are sorted by primary key so concurrent instances on
// PostgreSQL lock rows in the same order (no deadlocks between flushers).
import { type Kysely, sql } from 'kysely';
import { BulkStatement } from '../../db/bulk-statement.js';
import { backgroundTransaction } from '../../db/dialect.js';
import type { Database } from '../../db/schema.js';
import { DAY_MS, HOUR_MS } from '../../lib/clock.js';
import { usageDb } from './db.js';
import type { BucketDelta } from './journal.js';

/** Exact integers as bind values: numbers while safe, decimal strings beyond 2^53. */
const big = (v: bigint): number =>
  v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : (v.toString() as unknown as number);

/** Start (UTC ms) of the calendar month holding `t` (ms): the key of usage_key_months. */
export function monthOf(hourMs: number): number {
  const d = new Date(hourMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** The start of the UTC month after the one `ms` falls in. */
export function nextMonthOf(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

interface Roll {
  a: number;
  b: number;
  projectId: number;
  requests: bigint;
  cost: bigint;
}

function rollup(into: Map<string, Roll>, a: number, b: number, projectId: number, n: bigint, c: bigint) {
  const k = `${a}:${b}`;
  const e = into.get(k);
  if (e) {
    e.requests += n;
    e.cost += c;
  } else into.set(k, { a, b, projectId, requests: n, cost: c });
}

const byAB = (x: Roll, y: Roll) => x.a - y.a || x.b - y.b;

type HourRow = { key_id: number; project_id: number; hour: number; price_micros: number; count: number };
const hourUpsert = new BulkStatement<HourRow>(['key_id', 'project_id', 'hour', 'price_micros', 'count'], (k, rows) =>
  usageDb(k)
    .insertInto('usage_buckets')
    .values(rows)
    .onConflict((oc) =>
      oc.columns(['key_id', 'hour', 'price_micros']).doUpdateSet({ count: sql`usage_buckets.count + excluded.count` }),
    ),
);

type RollupTable = 'usage_key_days' | 'usage_key_months' | 'usage_project_hours';

/** Adds requests and cost to rollup rows (inserted when new), identified by the `key` columns. */
function rollupUpsert(table: RollupTable, columns: readonly string[], key: readonly string[]) {
  return new BulkStatement<Record<string, number>>(columns, (k, rows) =>
    k
      .insertInto(table)
      .values(rows)
      .onConflict((oc) =>
        oc.columns(key).doUpdateSet({
          requests: sql`${sql.ref(`${table}.requests`)} + excluded.requests`,
          cost_micros: sql`${sql.ref(`${table}.cost_micros`)} + excluded.cost_micros`,
        }),
      ),
  );
}

const dayUpsert = rollupUpsert(
  'usage_key_days',
  ['key_id', 'project_id', 'day', 'requests', 'cost_micros'],
  ['key_id', 'day'],
);
const monthUpsert = rollupUpsert(
  'usage_key_months',
  ['key_id', 'project_id', 'month', 'requests', 'cost_micros'],
  ['key_id', 'month'],
);
const projectHourUpsert = rollupUpsert(
  'usage_project_hours',
  ['project_id', 'hour', 'requests', 'cost_micros'],
  ['project_id', 'hour'],
);

/** Rows of a per-key rollup, in primary-key order (see the file's head). */
const keyRollupRows = (m: Map<string, Roll>, period: 'day' | 'month') =>
  [...m.values()].sort(byAB).map((r) => ({
    key_id: r.a,
    project_id: r.projectId,
    [period]: r.b,
    requests: big(r.requests),
    cost_micros: big(r.cost),
  }));

export async function applyBatch(
  k: Kysely<Database>,
  batchId: string,
  deltas: readonly BucketDelta[],
  now: number,
): Promise<'applied' | 'duplicate'> {
  const hours = deltas
    .filter((d) => d.count > 0)
    .map((d) => ({
      key_id: d.keyId,
      project_id: d.projectId,
      hour: d.hour * HOUR_MS,
      price_micros: d.price,
      count: d.count,
    }))
    .sort((x, y) => x.key_id - y.key_id || x.hour - y.hour || x.price_micros - y.price_micros);
  const days = new Map<string, Roll>();
  const months = new Map<string, Roll>();
  const projectHours = new Map<string, Roll>();
  for (const h of hours) {
    const n = BigInt(h.count);
    const c = n * BigInt(h.price_micros);
    rollup(days, h.key_id, h.hour - (h.hour % DAY_MS), h.project_id, n, c);
    rollup(months, h.key_id, monthOf(h.hour), h.project_id, n, c);
    rollup(projectHours, h.project_id, h.hour, h.project_id, n, c);
  }

  return backgroundTransaction(usageDb(k), async (trx) => {
    const mark = await trx
      .insertInto('usage_batches')
      .values({ batch_id: batchId, applied_at: now })
      .onConflict((oc) => oc.column('batch_id').doNothing())
      .executeTakeFirst();
    if (Number(mark.numInsertedOrUpdatedRows ?? 0n) === 0) return 'duplicate' as const;

    await hourUpsert.run(trx, hours);
    await dayUpsert.run(trx, keyRollupRows(days, 'day'));
    await monthUpsert.run(trx, keyRollupRows(months, 'month'));
    await projectHourUpsert.run(
      trx,
      [...projectHours.values()].sort(byAB).map((r) => ({
        project_id: r.a,
        hour: r.b,
        requests: big(r.requests),
        cost_micros: big(r.cost),
      })),
    );
    return 'applied' as const;
  });
}

/** Forget batch ids older than the retention (a journal segment is replayed within minutes, not weeks). */
export async function pruneBatches(k: Kysely<Database>, olderThan: number): Promise<void> {
  await k.deleteFrom('usage_batches').where('applied_at', '<', olderThan).execute();
}
