// Issued-keys statistics: requests and exact cost per key for a period, and chart series.
// A period is read from the cheapest rollups that cover it exactly (see period.decompose): whole
// UTC months from usage_key_months, whole days from usage_key_days, edge hours from usage_buckets.
// Cost arithmetic is integer micro-units: 64-bit integer sums in SQL (an overflow is an error,
// never a wrong figure), read back as decimal text and handled as BigInt, formatted with lib/money.
import { type RawBuilder, sql } from 'kysely';
import type { Ctx } from '../../context.js';
import { notFound } from '../../errors.js';
import { DAY_MS, HOUR_MS, toIso } from '../../lib/clock.js';
import { paging } from '../../lib/http.js';
import { formatMoney } from '../../lib/money.js';
import { effectiveCap } from '../keys/authenticator.js';
import { decompose, hourRange, type Period, type Piece, seriesBuckets } from './period.js';
import type { IssuedKeyList, IssuedKeyStatus, SeriesPoint } from './schemas.js';

export const SORTS = ['received_at', 'requests', 'total_cost', 'template_name', 'user'] as const;
export type SortField = (typeof SORTS)[number];
export const DELETED_TEMPLATE = '(deleted template)';
const MAX_POINTS = 10_000;

export interface ListQuery {
  period: Period;
  page?: number;
  page_size?: number;
  sort: SortField;
  desc: boolean;
  status?: 'active' | 'revoked' | 'all' | undefined;
  template_id?: number | undefined;
  user_id?: number | undefined;
}

interface Usage {
  requests: number;
  cost: bigint;
}

const ZERO: Usage = { requests: 0, cost: 0n };

/** SQL text of an exact integer (PostgreSQL numeric / SQLite 64-bit integer) -> bigint. */
export const toBig = (v: unknown): bigint =>
  v === null || v === undefined ? 0n : BigInt(String(v).replace(/\.0+$/, ''));

/**
 * Sums are 64-bit integers on both databases (PostgreSQL's SUM(bigint) yields numeric, which is
 * several times slower to aggregate and sort: cast back). An overflow (a key's cost beyond
 * 9.2 × 10^12 currency units in one period) raises an error; it never yields a wrong figure.
 */
const big = (x: RawBuilder<unknown>) => sql`CAST(${x} AS BIGINT)`;

function oneUnit(p: Piece): boolean {
  if (p.table === 'days') return p.to - p.from === DAY_MS;
  if (p.table !== 'months') return false;
  const d = new Date(p.from);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) === p.to;
}

function pieceSql(_ctx: Ctx, projectId: number, p: Piece, keyIds: readonly number[] | null): RawBuilder<unknown> {
  const keys = keyIds ? sql` AND key_id IN (${sql.join(keyIds)})` : sql``;
  const neg = p.sign === -1 ? sql`-` : sql``;
  if (p.table === 'hours') {
    return sql`SELECT key_id, ${neg}${big(sql`SUM(count)`)} AS requests, ${neg}${big(sql`SUM(count * price_micros)`)} AS cost
      FROM usage_buckets WHERE project_id = ${projectId} AND hour >= ${p.from} AND hour < ${p.to}${keys} GROUP BY key_id`;
  }
  const [table, col] = p.table === 'days' ? ['usage_key_days', 'day'] : ['usage_key_months', 'month'];
  if (oneUnit(p)) {
    // one row per key (primary key): no aggregation
    return sql`SELECT key_id, ${neg}requests AS requests, ${neg}cost_micros AS cost FROM ${sql.table(table)}
      WHERE project_id = ${projectId} AND ${sql.ref(col)} = ${p.from}${keys}`;
  }
  return sql`SELECT key_id, ${neg}${big(sql`SUM(requests)`)} AS requests, ${neg}${big(sql`SUM(cost_micros)`)} AS cost
    FROM ${sql.table(table)}
    WHERE project_id = ${projectId} AND ${sql.ref(col)} >= ${p.from} AND ${sql.ref(col)} < ${p.to}${keys} GROUP BY key_id`;
}

/** (key_id, requests, cost) per key for the period, as one derived table; null when the period holds no hour. */
function usageByKey(
  ctx: Ctx,
  projectId: number,
  period: Period,
  keyIds: readonly number[] | null,
): RawBuilder<unknown> | null {
  const { h0, h1 } = hourRange(period);
  const pieces = decompose(h0, h1);
  if (!pieces.length) return null;
  if (pieces.length === 1) return pieceSql(ctx, projectId, pieces[0] as Piece, keyIds);
  const union = sql.join(
    pieces.map((p) => pieceSql(ctx, projectId, p, keyIds)),
    sql` UNION ALL `,
  );
  return sql`SELECT key_id, ${big(sql`SUM(requests)`)} AS requests, ${big(sql`SUM(cost)`)} AS cost FROM (${union}) pieces GROUP BY key_id`;
}

export async function usageForKeys(
  ctx: Ctx,
  projectId: number,
  period: Period,
  keyIds: readonly number[],
): Promise<Map<number, Usage>> {
  const out = new Map<number, Usage>();
  if (!keyIds.length) return out;
  const q = usageByKey(ctx, projectId, period, keyIds);
  if (!q) return out;
  const rows = await sql<{ key_id: number; requests: unknown; cost: unknown }>`
    SELECT key_id, CAST(requests AS TEXT) AS requests, CAST(cost AS TEXT) AS cost FROM (${q}) u`.execute(ctx.k);
  for (const r of rows.rows) out.set(Number(r.key_id), { requests: Number(toBig(r.requests)), cost: toBig(r.cost) });
  return out;
}

/** Requests and cost of every key of the project in the period (all-keys totals). */
export async function projectTotals(ctx: Ctx, projectId: number, period: Period): Promise<Usage> {
  const { h0, h1 } = hourRange(period);
  if (h0 >= h1) return ZERO;
  const r = await sql<{ requests: unknown; cost: unknown }>`
    SELECT CAST(SUM(requests) AS TEXT) AS requests, CAST(SUM(cost_micros) AS TEXT) AS cost FROM usage_project_hours
    WHERE project_id = ${projectId} AND hour >= ${h0 * HOUR_MS} AND hour < ${h1 * HOUR_MS}`.execute(ctx.k);
  const row = r.rows[0];
  return { requests: Number(toBig(row?.requests)), cost: toBig(row?.cost) };
}

interface KeyRow {
  id: number;
  template_id: number;
  template_name: string;
  user_id: number;
  user_name: string;
  user_email: string;
  issued_at: number;
  revoked_at: number | null;
  expires_at: number | null;
  rolled_from: number | null;
  rolled_to: number | null;
  last_used_at: number | null;
  template_spend_cap_micros: number | null;
  manager_spend_cap_micros: number | null;
  self_spend_cap_micros: number | null;
  requests?: unknown;
  cost?: unknown;
}

export async function listIssuedKeys(ctx: Ctx, projectId: number, q: ListQuery): Promise<IssuedKeyList> {
  const { limit, offset } = paging(q);
  const { period } = q;
  const conds = [sql`k.project_id = ${projectId}`];
  if (q.status === 'active') conds.push(sql`k.revoked_at IS NULL`);
  if (q.status === 'revoked') conds.push(sql`k.revoked_at IS NOT NULL`);
  if (q.template_id !== undefined) conds.push(sql`k.template_id = ${q.template_id}`);
  if (q.user_id !== undefined) conds.push(sql`k.user_id = ${q.user_id}`);
  const where = sql.join(conds, sql` AND `);

  const countRow = await sql<{ n: unknown }>`SELECT COUNT(*) AS n FROM api_keys k WHERE ${where}`.execute(ctx.k);
  const total = Number(countRow.rows[0]?.n ?? 0);

  const dir = q.desc ? sql`DESC` : sql`ASC`;
  const templateName = sql`COALESCE(t.name, NULLIF(k.template_name, ''), ${DELETED_TEMPLATE})`;
  const byUsage = q.sort === 'requests' || q.sort === 'total_cost';
  const usage = byUsage ? usageByKey(ctx, projectId, period, null) : null;
  const orderExpr =
    q.sort === 'received_at'
      ? sql`k.issued_at`
      : q.sort === 'template_name'
        ? sql`LOWER(${templateName})`
        : q.sort === 'user'
          ? sql`LOWER(u_.name)`
          : usage === null
            ? sql`k.issued_at`
            : q.sort === 'requests'
              ? sql`COALESCE(us.requests, 0)`
              : sql`COALESCE(us.cost, 0)`;
  const usageJoin = usage ? sql` LEFT JOIN (${usage}) us ON us.key_id = k.id` : sql``;
  const usageCols = usage
    ? sql`, CAST(COALESCE(us.requests, 0) AS TEXT) AS requests, CAST(COALESCE(us.cost, 0) AS TEXT) AS cost`
    : sql``;

  const rows = (
    await sql<KeyRow>`
      SELECT k.id, k.template_id, ${templateName} AS template_name, k.user_id, u_.name AS user_name, u_.email AS user_email,
             k.issued_at, k.revoked_at, k.expires_at, k.rolled_from, k.rolled_to,
             k.last_used_at, k.template_spend_cap_micros, k.manager_spend_cap_micros, k.self_spend_cap_micros${usageCols}
      FROM api_keys k
      JOIN users u_ ON u_.id = k.user_id
      LEFT JOIN api_key_templates t ON t.id = k.template_id AND t.project_id = k.project_id${usageJoin}
      WHERE ${where}
      ORDER BY ${orderExpr} ${dir}, k.id ${dir}
      LIMIT ${limit} OFFSET ${offset}`.execute(ctx.k)
  ).rows;

  let usageOf: (r: KeyRow) => Usage;
  if (usage) usageOf = (r) => ({ requests: Number(toBig(r.requests)), cost: toBig(r.cost) });
  else {
    const m = await usageForKeys(
      ctx,
      projectId,
      period,
      rows.map((r) => Number(r.id)),
    );
    usageOf = (r) => m.get(Number(r.id)) ?? ZERO;
  }
  const totals = await projectTotals(ctx, projectId, period);
  const refused = await refusedByKey(
    ctx,
    period,
    rows.map((r) => Number(r.id)),
  );
  const currency = ctx.config.currency;
  const now = ctx.clock.now();
  return {
    total,
    page: q.page ?? 1,
    page_size: limit,
    from: toIso(period.from),
    to: toIso(period.to),
    tz: period.tz ?? 'UTC',
    currency,
    totals: { requests: totals.requests, total_cost: formatMoney(totals.cost), currency },
    items: rows.map((r) => {
      const u = usageOf(r);
      const revokedAt = r.revoked_at === null ? null : Number(r.revoked_at);
      const expiresAt = r.expires_at === null ? null : Number(r.expires_at);
      const status: IssuedKeyStatus =
        revokedAt !== null ? 'revoked' : expiresAt !== null && expiresAt <= now ? 'expired' : 'active';
      return {
        id: Number(r.id),
        template_id: Number(r.template_id),
        template_name: r.template_name,
        user: { id: Number(r.user_id), name: r.user_name, email: r.user_email },
        received_at: toIso(Number(r.issued_at)),
        requests: u.requests,
        total_cost: formatMoney(u.cost),
        currency,
        revoked_at: toIso(revokedAt),
        expires_at: toIso(expiresAt),
        status,
        rolled_from: r.rolled_from === null ? null : Number(r.rolled_from),
        rolled_to: r.rolled_to === null ? null : Number(r.rolled_to),
        last_used_at: toIso(r.last_used_at === null ? null : Number(r.last_used_at)),
        refused: refused.get(Number(r.id)) ?? 0,
        monthly_spend_cap: capText(r),
        manager_spend_cap: r.manager_spend_cap_micros === null ? null : formatMoney(Number(r.manager_spend_cap_micros)),
      };
    }),
  };
}

function capText(r: KeyRow): string | null {
  const cap = effectiveCap({
    template_spend_cap_micros: r.template_spend_cap_micros === null ? null : Number(r.template_spend_cap_micros),
    manager_spend_cap_micros: r.manager_spend_cap_micros === null ? null : Number(r.manager_spend_cap_micros),
    self_spend_cap_micros: r.self_spend_cap_micros === null ? null : Number(r.self_spend_cap_micros),
  });
  return cap === null ? null : formatMoney(cap);
}

/** Key requests not billed (refused or failed) per key, over the UTC days the period touches. */
async function refusedByKey(ctx: Ctx, period: Period, keyIds: number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (!keyIds.length) return out;
  const rows = await ctx.k
    .selectFrom('usage_key_outcomes')
    .select(['key_id', (eb) => eb.fn.sum<number>('requests').as('n')])
    .where('key_id', 'in', keyIds)
    .where('outcome', '!=', 'billed')
    .where('day', '>=', period.from - (period.from % DAY_MS))
    .where('day', '<', period.to)
    .groupBy('key_id')
    .execute();
  for (const r of rows) out.set(r.key_id, Number(r.n));
  return out;
}

// ---- series -------------------------------------------------------------------------------------

/** Groups hourly rows (sorted by hour) into the chart points of the period. */
function toPoints(starts: number[], rows: { at: number; requests: number; cost: bigint }[]) {
  const req = new Array<number>(starts.length).fill(0);
  const cost = new Array<bigint>(starts.length).fill(0n);
  let i = 0;
  for (const r of rows) {
    while (i + 1 < starts.length && (starts[i + 1] as number) <= r.at) i++;
    if (r.at < (starts[0] as number)) continue;
    req[i] = (req[i] as number) + r.requests;
    cost[i] = (cost[i] as bigint) + r.cost;
  }
  let totalReq = 0;
  let totalCost = 0n;
  const items: SeriesPoint[] = starts.map((s, j) => {
    totalReq += req[j] as number;
    totalCost += cost[j] as bigint;
    return { t: toIso(s), requests: req[j] as number, cost: formatMoney(cost[j] as bigint) };
  });
  return { items, total: { requests: totalReq, cost: formatMoney(totalCost) } };
}

async function hourlyRows(ctx: Ctx, query: RawBuilder<{ at: unknown; requests: unknown; cost: unknown }>) {
  const r = await query.execute(ctx.k);
  return r.rows.map((x) => ({ at: Number(x.at), requests: Number(toBig(x.requests)), cost: toBig(x.cost) }));
}

export async function keySeries(
  ctx: Ctx,
  projectId: number,
  keyId: number,
  period: Period,
  granularity: 'hour' | 'day',
) {
  const key = await ctx.k
    .selectFrom('api_keys')
    .select('id')
    .where('id', '=', keyId)
    .where('project_id', '=', projectId)
    .executeTakeFirst();
  if (!key) throw notFound('Issued key');
  const starts = seriesBuckets(period, granularity, MAX_POINTS);
  const { h0, h1 } = hourRange(period);
  const utcDays = granularity === 'day' && period.tz === null && period.from % DAY_MS === 0 && period.to % DAY_MS === 0;
  const rows = utcDays
    ? await hourlyRows(
        ctx,
        sql`SELECT day AS at, CAST(requests AS TEXT) AS requests, CAST(cost_micros AS TEXT) AS cost FROM usage_key_days
            WHERE key_id = ${keyId} AND day >= ${period.from} AND day < ${period.to} ORDER BY day`,
      )
    : await hourlyRows(
        ctx,
        sql`SELECT hour AS at, CAST(SUM(count) AS TEXT) AS requests, CAST(SUM(count * price_micros) AS TEXT) AS cost FROM usage_buckets
            WHERE key_id = ${keyId} AND hour >= ${h0 * HOUR_MS} AND hour < ${h1 * HOUR_MS} GROUP BY hour ORDER BY hour`,
      );
  return { key_id: keyId, ...seriesEnvelope(ctx, period, granularity), ...toPoints(starts, rows) };
}

export async function projectSeries(ctx: Ctx, projectId: number, period: Period, granularity: 'hour' | 'day') {
  const starts = seriesBuckets(period, granularity, MAX_POINTS);
  const { h0, h1 } = hourRange(period);
  const rows = await hourlyRows(
    ctx,
    sql`SELECT hour AS at, CAST(requests AS TEXT) AS requests, CAST(cost_micros AS TEXT) AS cost FROM usage_project_hours
        WHERE project_id = ${projectId} AND hour >= ${h0 * HOUR_MS} AND hour < ${h1 * HOUR_MS} ORDER BY hour`,
  );
  return { key_id: null, ...seriesEnvelope(ctx, period, granularity), ...toPoints(starts, rows) };
}

/**
 * One key's requests by outcome and by operation. These analytics are counted per UTC day, so
 * the period is widened to the UTC days it touches (days_from/days_to say which). Only billed
 * requests cost anything: their cost is the key's exact bill for the period itself.
 */
/** One key's requests per outcome or per operation, summed over the whole UTC days [d0, d1). */
function daySums(
  ctx: Ctx,
  table: 'usage_key_outcomes' | 'usage_key_operations',
  by: 'outcome' | 'operation',
  keyId: number,
  d0: number,
  d1: number,
) {
  return ctx.k
    .selectFrom(table)
    .select([sql<string>`${sql.ref(by)}`.as('name'), (eb) => eb.fn.sum<number>('requests').as('n')])
    .where('key_id', '=', keyId)
    .where('day', '>=', d0)
    .where('day', '<', d1)
    .groupBy(sql.ref(by))
    .execute();
}

export async function keyBreakdown(ctx: Ctx, projectId: number, keyId: number, period: Period) {
  const key = await ctx.k
    .selectFrom('api_keys')
    .select('id')
    .where('id', '=', keyId)
    .where('project_id', '=', projectId)
    .executeTakeFirst();
  if (!key) throw notFound('Issued key');
  const d0 = period.from - (period.from % DAY_MS);
  const d1 = period.to % DAY_MS === 0 ? period.to : period.to - (period.to % DAY_MS) + DAY_MS;
  const [outcomes, operations, bill] = await Promise.all([
    daySums(ctx, 'usage_key_outcomes', 'outcome', keyId, d0, d1),
    daySums(ctx, 'usage_key_operations', 'operation', keyId, d0, d1),
    usageForKeys(ctx, projectId, period, [keyId]),
  ]);
  const billed = bill.get(keyId) ?? ZERO;
  const byCount = <T extends { n: number }>(a: T, b: T) => Number(b.n) - Number(a.n);
  const outcomeItems = outcomes.sort(byCount).map((r) => ({
    outcome: r.name,
    requests: Number(r.n),
    cost: formatMoney(r.name === 'billed' ? billed.cost : 0n),
  }));
  return {
    key_id: keyId,
    from: toIso(period.from),
    to: toIso(period.to),
    tz: period.tz ?? 'UTC',
    currency: ctx.config.currency,
    days_from: toIso(d0),
    days_to: toIso(d1),
    outcomes: outcomeItems,
    operations: operations.sort(byCount).map((r) => ({ operation: r.name, requests: Number(r.n) })),
    total: { requests: outcomeItems.reduce((s, o) => s + o.requests, 0), cost: formatMoney(billed.cost) },
  };
}

function seriesEnvelope(ctx: Ctx, period: Period, granularity: 'hour' | 'day') {
  return {
    from: toIso(period.from),
    to: toIso(period.to),
    tz: period.tz ?? 'UTC',
    granularity,
    currency: ctx.config.currency,
  };
}
