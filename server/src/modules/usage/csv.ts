// CSV exports: issued keys of a period, requests and cost per key per day, and the audit log.
// Figures come from the JSON API's own code (stats.ts), so a spreadsheet's sums equal it to the
// micro-unit. RFC 4180 through csv-stringify: CRLF records, a header row, quotes where needed, and
// cells a spreadsheet would run as a formula (= + - @ tab CR first) made inert with a leading '.
// A UTF-8 byte order mark leads the file: without it Excel reads Cyrillic names as ANSI.
import { Readable } from 'node:stream';
import { type Options, stringify } from 'csv-stringify/sync';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { Ctx } from '../../context.js';
import { AppError } from '../../errors.js';
import { MAX_PAGE_SIZE } from '../../lib/http.js';
import { addDays, type Period, parsePeriod, startOfDay, wallOf } from './period.js';
import type { IssuedKeyList } from './schemas.js';
import { keySeries, listIssuedKeys } from './stats.js';

export type Cell = string | number | null;

/** The longest period an export covers, in (local) calendar days. */
export const MAX_EXPORT_DAYS = 400;

const OPTIONS: Options = {
  record_delimiter: 'windows',
  // a lone \n or \r inside a cell is quoted too, not only the CRLF record delimiter
  quote_record_delimiter: true,
  escape_formulas: true,
};

/** The documented 200 answer of a CSV route (OpenAPI), a text body rather than JSON. */
export const CsvFile = {
  description: 'RFC 4180 CSV (UTF-8 with a byte order mark, CRLF, a header row), sent as an attachment',
  content: { 'text/csv': { schema: Type.String() } },
};

/** from/to/tz of an export: the statistics' period rules, at most MAX_EXPORT_DAYS days long. */
export function exportPeriod(
  q: { from?: string | undefined; to?: string | undefined; tz?: string | undefined },
  now: number,
): Period {
  const period = parsePeriod(q, now);
  if (period.to > addDays(startOfDay(period.from, period.tz), MAX_EXPORT_DAYS, period.tz)) {
    throw new AppError('VALIDATION_FAILED', `to: an export covers at most ${MAX_EXPORT_DAYS} days after from`, {
      field: 'to',
    });
  }
  return period;
}

/** YYYY-MM-DD of an instant in the period's zone. */
export function localDate(t: number, tz: string | null): string {
  const w = wallOf(t, tz);
  const pad = (n: number, len = 2) => String(n).padStart(len, '0');
  return `${pad(w.y, 4)}-${pad(w.mo)}-${pad(w.d)}`;
}

/**
 * Streams header + rows as CSV. The first batch is read before anything is sent, so a refused or
 * failing query still answers with an ordinary error; later batches keep memory flat.
 */
async function csvStream(header: readonly string[], batches: AsyncIterator<Cell[][]>): Promise<Readable> {
  const first = await batches.next();
  async function* chunks() {
    yield stringify([[...header], ...(first.done ? [] : first.value)], { ...OPTIONS, bom: true });
    if (first.done) return;
    for (;;) {
      const next = await batches.next();
      if (next.done) return;
      if (next.value.length) yield stringify(next.value, OPTIONS);
    }
  }
  return Readable.from(chunks());
}

/** Answers a CSV attachment; never cached anywhere (it holds emails and money). */
export async function sendCsv(
  reply: FastifyReply,
  filename: string,
  header: readonly string[],
  batches: AsyncIterator<Cell[][]>,
): Promise<FastifyReply> {
  const body = await csvStream(header, batches);
  return reply
    .header('content-type', 'text/csv; charset=utf-8; header=present')
    .header('content-disposition', `attachment; filename="${filename.replace(/[^A-Za-z0-9._-]/g, '_')}"`)
    .header('cache-control', 'no-store')
    .send(body);
}

/** `<project>-<what>-<from>_<to>.csv`, dates local and `to` exclusive, as in the query. */
export function exportName(projectId: number, what: string, period: Period): string {
  return `project-${projectId}-${what}-${localDate(period.from, period.tz)}_${localDate(period.to, period.tz)}.csv`;
}

type IssuedKey = IssuedKeyList['items'][number];

/** Every key of the project (no paging), oldest first, through the JSON list's own query. */
async function* keyPages(ctx: Ctx, projectId: number, period: Period): AsyncGenerator<IssuedKey[]> {
  for (let page = 1; ; page++) {
    const r = await listIssuedKeys(ctx, projectId, {
      period,
      page,
      page_size: MAX_PAGE_SIZE,
      sort: 'received_at',
      desc: false,
    });
    yield r.items;
    if (r.items.length < r.page_size) return;
  }
}

export const ISSUED_KEY_COLUMNS = [
  'id',
  'template',
  'user_name',
  'user_email',
  'received_at',
  'status',
  'requests',
  'cost',
  'currency',
  'revoked_at',
  'expires_at',
  'rolled_from',
  'rolled_to',
] as const;

export async function* issuedKeyRows(ctx: Ctx, projectId: number, period: Period): AsyncGenerator<Cell[][]> {
  for await (const keys of keyPages(ctx, projectId, period)) {
    yield keys.map((k) => [
      k.id,
      k.template_name,
      k.user.name,
      k.user.email,
      k.received_at,
      k.status,
      k.requests,
      k.total_cost,
      k.currency,
      k.revoked_at,
      k.expires_at,
      k.rolled_from,
      k.rolled_to,
    ]);
  }
}

export const USAGE_COLUMNS = ['key_id', 'template', 'user_email', 'date', 'requests', 'cost'] as const;

/** One row per key per (local) day with requests; days without any are left out. */
export async function* usageRows(ctx: Ctx, projectId: number, period: Period): AsyncGenerator<Cell[][]> {
  for await (const keys of keyPages(ctx, projectId, period)) {
    const rows: Cell[][] = [];
    for (const k of keys) {
      if (k.requests === 0) continue; // nothing in the period: skip its series query
      const series = await keySeries(ctx, projectId, k.id, period, 'day');
      for (const p of series.items) {
        if (p.requests === 0) continue;
        rows.push([k.id, k.template_name, k.user.email, localDate(Date.parse(p.t), period.tz), p.requests, p.cost]);
      }
    }
    yield rows;
  }
}

/** The usage exports: one route each (in routes.ts), same period rules and permission. */
export const USAGE_EXPORTS = [
  {
    path: '/projects/:p/issued-keys.csv',
    name: 'issued-keys',
    summary: 'Issued keys with requests and cost in a period [from, to), as CSV (at most 400 days)',
    columns: ISSUED_KEY_COLUMNS,
    rows: issuedKeyRows,
  },
  {
    path: '/projects/:p/usage.csv',
    name: 'usage',
    summary: 'Requests and cost per key per day (days in tz) in a period [from, to), as CSV (at most 400 days)',
    columns: USAGE_COLUMNS,
    rows: usageRows,
  },
] as const;
