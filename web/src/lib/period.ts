// Date helpers for the usage period: local calendar days as YYYY-MM-DD.
import type { Period } from '../api/index.js';

export function ymd(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

export function currentMonth(now = new Date()): { from: string; to: string } {
  return {
    from: ymd(new Date(now.getFullYear(), now.getMonth(), 1)),
    to: ymd(new Date(now.getFullYear(), now.getMonth() + 1, 0)),
  };
}

/** Every day from..to inclusive. */
export function daysOf(from: string, to: string): string[] {
  const out: string[] = [];
  const d = new Date(`${from}T00:00:00`);
  const end = new Date(`${to}T00:00:00`);
  while (d <= end && out.length < 400) {
    out.push(ymd(d));
    d.setDate(d.getDate() + 1);
  }
  return out;
}

/** The API's half-open period [from, to) for calendar days from..to inclusive, in the browser's zone. */
export function periodRange(from: string, to: string): Period {
  const end = new Date(`${to}T00:00:00`);
  end.setDate(end.getDate() + 1);
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return { from, to: ymd(end), ...(tz ? { tz } : {}) };
}

/** Requests per day for `days`, from a series whose `t` is the instant a day of the browser's zone begins. */
export function perDay(days: string[], points: { t: string; requests: number }[]): number[] {
  const byDay = new Map<string, number>(days.map((day) => [day, 0]));
  for (const p of points) {
    const day = ymd(new Date(p.t));
    if (byDay.has(day)) byDay.set(day, (byDay.get(day) ?? 0) + p.requests);
  }
  return days.map((day) => byDay.get(day) ?? 0);
}

export type PresetName = 'thisMonth' | 'lastMonth' | 'last7' | 'last30';
export const PRESETS: readonly PresetName[] = ['thisMonth', 'lastMonth', 'last7', 'last30'];

/** A named period of calendar days (inclusive), relative to `now`: "last 7 days" ends today. */
export function presetPeriod(name: PresetName, now = new Date()): { from: string; to: string } {
  const y = now.getFullYear();
  const m = now.getMonth();
  const daysBack = (n: number) => ({ from: ymd(new Date(y, m, now.getDate() - (n - 1))), to: ymd(now) });
  switch (name) {
    case 'thisMonth':
      return currentMonth(now);
    case 'lastMonth':
      return { from: ymd(new Date(y, m - 1, 1)), to: ymd(new Date(y, m, 0)) };
    case 'last7':
      return daysBack(7);
    case 'last30':
      return daysBack(30);
  }
}

/** The preset a period is, if any (the picker marks it). */
export function presetOf(p: { from: string; to: string }, now = new Date()): PresetName | null {
  return (
    PRESETS.find((n) => {
      const q = presetPeriod(n, now);
      return q.from === p.from && q.to === p.to;
    }) ?? null
  );
}

/** The days of a period as local midnights: what a range date picker shows as selected. */
export const datesOf = (from: string, to: string): Date[] => daysOf(from, to).map((day) => new Date(`${day}T00:00:00`));
