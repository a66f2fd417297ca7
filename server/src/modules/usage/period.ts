// Periods for statistics: half-open [from, to) instants, given as ISO dates or datetimes, in UTC
// unless a time zone (IANA name) is given. Usage is stored per UTC hour, so a bucket belongs to a
// period when its hour starts inside it; day/month/hour boundaries of whole-hour time zones are exact.
import { AppError } from '../../errors.js';
import { DAY_MS, HOUR_MS } from '../../lib/clock.js';

export interface Period {
  from: number;
  to: number;
  /** IANA zone, or null for UTC */
  tz: string | null;
}

const MAX_RANGE_MS = 100 * 366 * DAY_MS;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** RFC 3339 (any number of fractional digits, `t`/`z` in either case) plus the common space separator. */
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|[+-]\d{2}:?\d{2})?$/;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    if (formatters.size > 1000) formatters.clear();
    formatters.set(tz, f);
  }
  return f;
}

/** A valid IANA zone name (canonical spelling as given), "UTC" -> null; anything else is a 400. */
export function parseTz(tz: string | undefined): string | null {
  if (tz === undefined || tz === '' || tz.toUpperCase() === 'UTC' || tz === 'Etc/UTC') return null;
  if (tz.length > 64 || !/^[A-Za-z0-9_+\-/]+$/.test(tz))
    throw new AppError('VALIDATION_FAILED', 'tz must be an IANA time zone, e.g. "Europe/Berlin"');
  try {
    formatter(tz);
  } catch {
    throw new AppError('VALIDATION_FAILED', `Unknown time zone "${tz}"`);
  }
  return tz;
}

interface Wall {
  y: number;
  mo: number; // 1-12
  d: number;
  h: number;
  mi: number;
  s: number;
}

/** Wall-clock fields of an instant in a zone (null = UTC). */
export function wallOf(t: number, tz: string | null): Wall {
  if (tz === null) {
    const d = new Date(t);
    return {
      y: d.getUTCFullYear(),
      mo: d.getUTCMonth() + 1,
      d: d.getUTCDate(),
      h: d.getUTCHours(),
      mi: d.getUTCMinutes(),
      s: d.getUTCSeconds(),
    };
  }
  const w: Wall = { y: 0, mo: 0, d: 0, h: 0, mi: 0, s: 0 };
  for (const p of formatter(tz).formatToParts(t)) {
    if (p.type === 'year') w.y = Number(p.value);
    else if (p.type === 'month') w.mo = Number(p.value);
    else if (p.type === 'day') w.d = Number(p.value);
    else if (p.type === 'hour') w.h = Number(p.value);
    else if (p.type === 'minute') w.mi = Number(p.value);
    else if (p.type === 'second') w.s = Number(p.value);
  }
  return w;
}

function offsetAt(t: number, tz: string): number {
  const w = wallOf(t, tz);
  const asUtc = Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s);
  return asUtc - (t - (((t % 1000) + 1000) % 1000));
}

/** The instant at which the wall clock in `tz` shows the given fields (month/day may overflow). */
export function wallToUtc(
  y: number,
  mo: number,
  d: number,
  h = 0,
  mi = 0,
  s = 0,
  ms = 0,
  tz: string | null = null,
): number {
  const guess = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  if (tz === null) return guess;
  const o1 = offsetAt(guess, tz);
  let t = guess - o1;
  const o2 = offsetAt(t, tz);
  if (o2 !== o1) t = guess - o2; // across a DST change: use the offset in force at the result
  return t;
}

export function startOfMonth(t: number, tz: string | null): number {
  const w = wallOf(t, tz);
  return wallToUtc(w.y, w.mo, 1, 0, 0, 0, 0, tz);
}

export function addMonths(monthStart: number, n: number, tz: string | null): number {
  const w = wallOf(monthStart, tz);
  return wallToUtc(w.y, w.mo + n, 1, 0, 0, 0, 0, tz);
}

export function startOfDay(t: number, tz: string | null): number {
  const w = wallOf(t, tz);
  return wallToUtc(w.y, w.mo, w.d, 0, 0, 0, 0, tz);
}

export function addDays(dayStart: number, n: number, tz: string | null): number {
  const w = wallOf(dayStart, tz);
  return wallToUtc(w.y, w.mo, w.d + n, 0, 0, 0, 0, tz);
}

function bad(name: string): AppError {
  return new AppError(
    'VALIDATION_FAILED',
    `${name} must be an ISO date (2026-11-01) or datetime (2026-11-01T12:00:00Z, or without offset in the given tz)`,
  );
}

/** One bound: a date (local midnight), a datetime with offset (absolute) or without (wall time in tz). */
export function parseInstant(text: string, name: string, tz: string | null): number {
  const s = text.trim();
  let m = DATE.exec(s);
  if (m) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || new Date(Date.UTC(y, mo - 1, d)).getUTCDate() !== d) throw bad(name);
    return wallToUtc(y, mo, d, 0, 0, 0, 0, tz);
  }
  m = DATETIME.exec(s);
  if (!m) throw bad(name);
  const [y, mo, d, h, mi] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])];
  const sec = Number(m[6] ?? 0);
  // sub-millisecond digits are cut, not rounded: an instant never moves into the next millisecond
  const ms = Number((m[7] ?? '0').padEnd(3, '0').slice(0, 3));
  if (
    mo < 1 ||
    mo > 12 ||
    d < 1 ||
    new Date(Date.UTC(y, mo - 1, d)).getUTCDate() !== d ||
    h > 23 ||
    mi > 59 ||
    sec > 59
  ) {
    throw bad(name);
  }
  const zone = m[8];
  if (zone === undefined) return wallToUtc(y, mo, d, h, mi, sec, ms, tz);
  let offsetMin = 0;
  if (zone !== 'Z' && zone !== 'z') {
    const z = zone.replace(':', '');
    const sign = z[0] === '-' ? -1 : 1;
    offsetMin = sign * (Number(z.slice(1, 3)) * 60 + Number(z.slice(3, 5)));
    if (Math.abs(offsetMin) > 14 * 60) throw bad(name);
  }
  return Date.UTC(y, mo - 1, d, h, mi, sec, ms) - offsetMin * 60_000;
}

/** from/to/tz query -> Period. Default: the current month (in tz); `to` defaults to the end of `from`'s month. */
export function parsePeriod(
  q: { from?: string | undefined; to?: string | undefined; tz?: string | undefined },
  now: number,
): Period {
  const tz = parseTz(q.tz);
  const from = q.from ? parseInstant(q.from, 'from', tz) : startOfMonth(now, tz);
  const to = q.to ? parseInstant(q.to, 'to', tz) : addMonths(startOfMonth(from, tz), 1, tz);
  if (!(from < to)) throw new AppError('VALIDATION_FAILED', 'from must be before to (the period is [from, to))');
  if (to - from > MAX_RANGE_MS) throw new AppError('VALIDATION_FAILED', 'The period may span at most 100 years');
  return { from, to, tz };
}

/** Hour indices (epoch hours) whose buckets belong to [from, to): [h0, h1). */
export function hourRange(p: { from: number; to: number }): { h0: number; h1: number } {
  return { h0: Math.ceil(p.from / HOUR_MS), h1: Math.ceil(p.to / HOUR_MS) };
}

/** sign -1: subtract (a month read whole, minus the hours of it outside the period). */
export type Piece = { table: 'hours' | 'days' | 'months'; from: number; to: number; sign?: 1 | -1 };

/** Edge hours worth reading (or subtracting) rather than days: a month in a time zone is a UTC month ± its offset. */
const SNAP_HOURS = 36;

/** The UTC month start nearest to hour index h, if within SNAP_HOURS. */
function nearMonth(h: number): number | null {
  const d = new Date(h * HOUR_MS);
  const a = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / HOUR_MS;
  const b = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / HOUR_MS;
  const best = h - a <= b - h ? a : b;
  return Math.abs(best - h) <= SNAP_HOURS ? best : null;
}

/**
 * Splits the hours [h0, h1) into the fewest rollup reads: whole UTC months from the monthly rollup,
 * whole UTC days from the daily rollup, the remaining hours from the hourly buckets. A period whose
 * ends lie within a day and a half of UTC month starts (a calendar month in a time zone) is read as
 * those whole months plus or minus the edge hours. Bounds are epoch ms.
 */
export function decompose(h0: number, h1: number): Piece[] {
  if (h0 >= h1) return [];
  const m0 = nearMonth(h0);
  const m1 = nearMonth(h1);
  if (m0 !== null && m1 !== null && m0 < m1 && (m0 !== h0 || m1 !== h1)) {
    const out: Piece[] = [{ table: 'months', from: m0 * HOUR_MS, to: m1 * HOUR_MS }];
    if (h0 < m0) out.push({ table: 'hours', from: h0 * HOUR_MS, to: m0 * HOUR_MS });
    if (h0 > m0) out.push({ table: 'hours', from: m0 * HOUR_MS, to: h0 * HOUR_MS, sign: -1 });
    if (h1 > m1) out.push({ table: 'hours', from: m1 * HOUR_MS, to: h1 * HOUR_MS });
    if (h1 < m1) out.push({ table: 'hours', from: h1 * HOUR_MS, to: m1 * HOUR_MS, sign: -1 });
    return out;
  }
  return alignedPieces(h0, h1);
}

function alignedPieces(h0: number, h1: number): Piece[] {
  const d0 = Math.ceil(h0 / 24);
  const d1 = Math.floor(h1 / 24);
  if (d0 >= d1) return [{ table: 'hours', from: h0 * HOUR_MS, to: h1 * HOUR_MS }];
  const out: Piece[] = [];
  if (h0 < d0 * 24) out.push({ table: 'hours', from: h0 * HOUR_MS, to: d0 * 24 * HOUR_MS });
  const dayFrom = d0 * DAY_MS;
  const dayTo = d1 * DAY_MS;
  // first UTC month start >= dayFrom, last UTC month start <= dayTo
  const a = new Date(dayFrom);
  let m0 = Date.UTC(a.getUTCFullYear(), a.getUTCMonth(), 1);
  if (m0 < dayFrom) m0 = Date.UTC(a.getUTCFullYear(), a.getUTCMonth() + 1, 1);
  const b = new Date(dayTo);
  const m1 = Date.UTC(b.getUTCFullYear(), b.getUTCMonth(), 1);
  if (m0 < m1) {
    if (dayFrom < m0) out.push({ table: 'days', from: dayFrom, to: m0 });
    out.push({ table: 'months', from: m0, to: m1 });
    if (m1 < dayTo) out.push({ table: 'days', from: m1, to: dayTo });
  } else {
    out.push({ table: 'days', from: dayFrom, to: dayTo });
  }
  if (d1 * 24 < h1) out.push({ table: 'hours', from: d1 * 24 * HOUR_MS, to: h1 * HOUR_MS });
  return out;
}

/** Chart points: [start, end) of each hour or (local) day of the period. */
export function seriesBuckets(p: Period, granularity: 'hour' | 'day', maxPoints: number): number[] {
  const starts: number[] = [];
  if (granularity === 'hour') {
    const { h0, h1 } = hourRange(p);
    if (h1 - h0 > maxPoints) throw tooMany(maxPoints);
    for (let h = h0; h < h1; h++) starts.push(h * HOUR_MS);
    return starts;
  }
  starts.push(p.from);
  let d = startOfDay(p.from, p.tz);
  for (;;) {
    d = addDays(d, 1, p.tz);
    if (d >= p.to) break;
    starts.push(d);
    if (starts.length > maxPoints) throw tooMany(maxPoints);
  }
  return starts;
}

const tooMany = (max: number) =>
  new AppError(
    'VALIDATION_FAILED',
    `The period has more than ${max} points at this granularity; use granularity=day or a shorter period`,
  );
