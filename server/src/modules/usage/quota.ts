// Monthly quota per key (a template's `monthly_quota`): at most N billed requests per key per UTC
// calendar month, counted over the key's lineage (a rolled key and its successors share one count,
// so rolling never resets it). Over quota the request is refused before the route runs: 429
// QUOTA_EXCEEDED, not billed (docs/metering.md).
//
// used = db + pending, per lineage and month:
//   db       the month's count in usage_key_months, loaded on the key's first request of the month
//            and refreshed every REFRESH_MS inside the meter's flush round (so a refresh never
//            interleaves with a commit of this instance); a lineage idle since the previous
//            refresh is dropped instead and loaded again at its next request
//   pending  requests admitted here and not yet committed: reserved at admission (concurrent
//            requests cannot all slip under the limit), released when the answer is not billed,
//            moved into `db` when the flusher commits the batch holding them
// One instance is exact. With several instances each sees the others' requests at the next
// refresh, so a key may exceed its quota by what other instances served in the last REFRESH_MS.
import type { Kysely } from 'kysely';
import type { MonthlyLimits } from '../../auth/key-auth.js';
import { BulkStatement } from '../../db/bulk-statement.js';
import type { Database } from '../../db/schema.js';
import type { Clock } from '../../lib/clock.js';
import { HOUR_MS } from '../../lib/clock.js';
import { usageDb } from './db.js';
import { monthOf, nextMonthOf } from './flush.js';
import type { BucketDelta } from './journal.js';

interface Entry {
  month: number;
  db: number;
  /** micro-units, as `db` */
  dbCost: number;
  pending: number;
  pendingCost: number;
  /** thresholds already reported by this instance this month (ALERT_* bits) */
  alerted: number;
  loading: Promise<void> | null;
  usedAt: number;
}

interface LoadBatch {
  month: number;
  entries: Map<number, Entry>;
  done: Promise<void>;
}

export const REFRESH_MS = 10_000;
/** admit() answers: the month's quota is used up / the request would take the cost above the cap */
export const QUOTA_EXCEEDED = -1;
export const CAP_REACHED = -2;
/** admit() answer when the key has no quota (only a cap) */
export const NO_QUOTA = Number.MAX_SAFE_INTEGER;

export type Threshold = { metric: 'quota' | 'cap'; percent: 80 | 100 };
const QUOTA_ALERTS = 1 | 2;
const CAP_ALERTS = 4 | 8;
const ALERTS: readonly (Threshold & { bit: number })[] = [
  { metric: 'quota', percent: 80, bit: 1 },
  { metric: 'quota', percent: 100, bit: 2 },
  { metric: 'cap', percent: 80, bit: 4 },
  { metric: 'cap', percent: 100, bit: 8 },
];
/** Told once per instance, lineage, month and threshold; the alerts module makes it once overall. */
export type ThresholdListener = (keyId: number, lineageId: number, month: number, t: Threshold) => void;
/** Entries kept; idle ones (nothing pending) are dropped first. */
const MAX_ENTRIES = 100_000;
const CHUNK = 500;

/**
 * Billed requests and cost of each lineage (named by its first key's id) in the UTC month starting
 * at `month`, summed over every key of the lineage; lineages without any are absent.
 */
export async function monthCounts(
  k: Kysely<Database>,
  lineageIds: number[],
  month: number,
): Promise<Map<number, { requests: number; cost: number }>> {
  // Index lookups only, in two steps: the lineages' later keys by lineage_id, then the month rows
  // of all their keys by primary key. One query with an OR (or a join on lineage_id) lets the
  // planner scan the whole month instead, which grows with every key used.
  const lineageOf = new Map<number, number>(lineageIds.map((id) => [id, id]));
  for (const r of await laterKeys.run(k, lineageIds.map(asRow))) lineageOf.set(r.id, r.lineage_id as number);
  const out = new Map<number, { requests: number; cost: number }>();
  for (const r of await monthRows.run(k, [...lineageOf.keys()].map(asRow), [month])) {
    const lineage = lineageOf.get(r.key_id) as number;
    const sum = out.get(lineage) ?? { requests: 0, cost: 0 };
    sum.requests += Number(r.requests);
    sum.cost += Number(r.cost_micros);
    out.set(lineage, sum);
  }
  return out;
}

const asRow = (id: number) => ({ id });
const laterKeys = new BulkStatement<{ id: number }, { id: number; lineage_id: number | null }>(
  ['id'],
  (k, rows) =>
    usageDb(k)
      .selectFrom('api_keys')
      .select(['id', 'lineage_id'])
      .where(
        'lineage_id',
        'in',
        rows.map((r) => r.id),
      ),
  CHUNK,
);
const monthRows = new BulkStatement<
  { id: number },
  { key_id: number; requests: number | string | bigint; cost_micros: number | string | bigint }
>(
  ['id'],
  (k, rows, [month]) =>
    usageDb(k)
      .selectFrom('usage_key_months')
      .select(['key_id', 'requests', 'cost_micros'])
      .where('month', '=', month as number)
      .where(
        'key_id',
        'in',
        rows.map((r) => r.id),
      ),
  CHUNK,
);

export class QuotaTracker {
  /** by lineage */
  private readonly entries = new Map<number, Entry>();
  /** key -> lineage, for the keys admitted here (committed batches name keys) */
  private readonly lineageOf = new Map<number, number>();
  private lastRefresh = 0;
  private monthStart = 0;
  private monthEnd = 0;
  /** lineages first seen since the last read began, read together by the next one */
  private loading: LoadBatch | null = null;
  /** the read of counts in flight (settled when none): the next one waits for it */
  private lastLoad: Promise<void> = Promise.resolve();

  /** set by the alerts module */
  onThreshold: ThresholdListener | null = null;

  constructor(
    private readonly k: Kysely<Database>,
    private readonly clock: Clock,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * Reserves one request of `keyId`, at `price` micro-units, against its lineage's monthly quota
   * and spend cap: the quota's requests left after this one when admitted (NO_QUOTA without one;
   * call release() if the answer is not billed), QUOTA_EXCEEDED or CAP_REACHED when refused. A
   * promise on the lineage's first request of a month (its counts are read from the database).
   */
  admit(keyId: number, limits: MonthlyLimits, price: number): number | Promise<number> {
    const { lineageId } = limits;
    const now = this.clock.now();
    const month = this.monthAt(now);
    if (this.lineageOf.get(keyId) !== lineageId) this.lineageOf.set(keyId, lineageId);
    let e = this.entries.get(lineageId);
    if (e === undefined || e.month !== month) {
      if (this.entries.size >= MAX_ENTRIES) this.prune(now);
      const fresh: Entry = {
        month,
        db: 0,
        dbCost: 0,
        pending: 0,
        pendingCost: 0,
        alerted: 0,
        loading: null,
        usedAt: now,
      };
      fresh.loading = this.load(lineageId, fresh);
      this.entries.set(lineageId, fresh);
      e = fresh;
    }
    const entry = e;
    entry.usedAt = now;
    if (entry.loading) return entry.loading.then(() => this.reserve(keyId, entry, limits, price));
    return this.reserve(keyId, entry, limits, price);
  }

  /** monthOf(now), recomputed only when `now` leaves the month of the previous call */
  private monthAt(now: number): number {
    if (now < this.monthStart || now >= this.monthEnd) {
      this.monthStart = monthOf(now);
      this.monthEnd = nextMonthOf(now);
    }
    return this.monthStart;
  }

  /**
   * Reads a lineage's month counts together with every other lineage first seen before the read
   * starts: at the end of this event-loop turn, or when the read in flight ends. Many new keys
   * at once (a fleet starting up) cost a few queries, not one each.
   */
  private load(lineageId: number, fresh: Entry): Promise<void> {
    let batch = this.loading;
    if (batch === null || batch.month !== fresh.month) {
      const b: LoadBatch = { month: fresh.month, entries: new Map(), done: Promise.resolve() };
      b.done = this.lastLoad
        .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
        .then(() => {
          if (this.loading === b) this.loading = null;
          return monthCounts(this.k, [...b.entries.keys()], b.month);
        })
        .then(
          (counts) => {
            for (const [id, e] of b.entries) {
              e.db = counts.get(id)?.requests ?? 0;
              e.dbCost = counts.get(id)?.cost ?? 0;
              e.loading = null;
            }
          },
          (err) => {
            // unknown count: do not admit on a guess; the next request tries again
            for (const [id, e] of b.entries) if (this.entries.get(id) === e) this.entries.delete(id);
            throw err;
          },
        );
      this.loading = b;
      this.lastLoad = b.done.catch(() => {});
      batch = b;
    }
    batch.entries.set(lineageId, fresh);
    return batch.done;
  }

  private reserve(keyId: number, e: Entry, limits: MonthlyLimits, price: number): number {
    const { quota, capMicros } = limits;
    const used = e.db + e.pending;
    let answer: number;
    if (quota !== null && used >= quota) answer = QUOTA_EXCEEDED;
    else if (capMicros !== null && e.dbCost + e.pendingCost + price > capMicros) answer = CAP_REACHED;
    else {
      e.pending += 1;
      e.pendingCost += price;
      answer = quota === null ? NO_QUOTA : quota - used - 1;
    }
    // every threshold needs at least 80 % of a limit (or a refusal by the cap): below that, nothing to check
    const near =
      (quota !== null && (e.db + e.pending) * 5 >= quota * 4) ||
      (capMicros !== null && ((e.dbCost + e.pendingCost) * 5 >= capMicros * 4 || answer === CAP_REACHED));
    const applicable = (quota !== null ? QUOTA_ALERTS : 0) | (capMicros !== null ? CAP_ALERTS : 0);
    if (near && this.onThreshold !== null && (e.alerted & applicable) !== applicable)
      this.checkThresholds(keyId, e, limits, answer);
    return answer;
  }

  /** 80 %: the used share reached it; 100 %: the quota is used up, or the cap refused a request. */
  private checkThresholds(keyId: number, e: Entry, limits: MonthlyLimits, answer: number): void {
    const requests = e.db + e.pending;
    const cost = e.dbCost + e.pendingCost;
    for (const a of ALERTS) {
      if ((e.alerted & a.bit) !== 0) continue;
      const limit = a.metric === 'quota' ? limits.quota : limits.capMicros;
      if (limit === null) continue;
      const reached =
        a.percent === 80
          ? (a.metric === 'quota' ? requests : cost) * 5 >= limit * 4
          : a.metric === 'quota'
            ? requests >= limit
            : answer === CAP_REACHED || cost >= limit;
      if (!reached) continue;
      e.alerted |= a.bit;
      this.onThreshold?.(keyId, limits.lineageId, e.month, a);
    }
  }

  /** An admitted request was not billed (not 2xx/3xx): give its reservation back. */
  release(keyId: number, price: number): void {
    const e = this.entries.get(this.lineageOf.get(keyId) ?? keyId);
    if (e !== undefined && e.pending > 0) {
      e.pending -= 1;
      e.pendingCost = Math.max(0, e.pendingCost - price);
    }
  }

  /** A batch of this instance committed: its counts move from pending to db. */
  committed(deltas: readonly BucketDelta[]): void {
    if (this.entries.size === 0) return;
    for (const d of deltas) {
      const e = this.entries.get(this.lineageOf.get(d.keyId) ?? d.keyId);
      if (e === undefined || e.loading || monthOf(d.hour * HOUR_MS) !== e.month) continue;
      e.pending = Math.max(0, e.pending - d.count);
      e.pendingCost = Math.max(0, e.pendingCost - d.count * d.price);
      e.db += d.count;
      e.dbCost += d.count * d.price;
    }
  }

  /**
   * Re-reads the month's counts (other instances' requests, replayed journals). Must not run
   * concurrently with a commit of this instance: the meter calls it inside its flush round.
   */
  async refreshIfDue(): Promise<void> {
    const now = this.clock.now();
    if (this.entries.size === 0 || now - this.lastRefresh < REFRESH_MS) return;
    const since = this.lastRefresh;
    this.lastRefresh = now;
    const month = monthOf(now);
    const ids: number[] = [];
    for (const [id, e] of this.entries) {
      if (e.loading) continue;
      // Only lineages used since the last refresh are re-read: the cost follows the active keys,
      // not every key seen this month. An idle one is dropped and read afresh at its next request.
      if (e.month === month && (e.usedAt >= since || e.pending > 0)) ids.push(id);
      else if (e.pending === 0) this.entries.delete(id);
    }
    const counts = await monthCounts(this.k, ids, month);
    for (const id of ids) {
      const e = this.entries.get(id);
      if (e && e.month === month && !e.loading) {
        e.db = counts.get(id)?.requests ?? 0;
        e.dbCost = counts.get(id)?.cost ?? 0;
      }
    }
  }

  /** Drops entries idle for an hour with nothing pending, then the oldest, to stay bounded. */
  private prune(now: number): void {
    for (const [id, e] of this.entries) {
      if (e.pending === 0 && !e.loading && now - e.usedAt > HOUR_MS) this.entries.delete(id);
    }
    for (const [keyId, lineage] of this.lineageOf) if (!this.entries.has(lineage)) this.lineageOf.delete(keyId);
    let n = this.entries.size - MAX_ENTRIES + 1;
    for (const [id, e] of this.entries) {
      if (n <= 0) break;
      if (e.pending === 0 && !e.loading) {
        this.entries.delete(id);
        n -= 1;
      }
    }
  }
}
