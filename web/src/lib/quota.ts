// Monthly quota per key: typed as text in a field ("" = unlimited), sent as a number or null,
// shown as "1,000 requests / month" in the UI's language.

type T = (key: string, named?: Record<string, unknown>, plural?: number) => string;

/** The server's upper bound (templates accept 1 … 10^12). */
export const QUOTA_MAX = 1_000_000_000_000;

/** Digits only (spaces allowed: "1 000"); "1.5", "1e3", "-2" are not whole request counts. */
function digits(text: string): string | null {
  const s = text.replace(/\s/g, '');
  return /^\d+$/.test(s) ? s : null;
}

/** "" → null (unlimited), "1000" → 1000; undefined when the text is not a valid quota. */
export function parseQuota(text: string | number | null | undefined): number | null | undefined {
  if (text === null || text === undefined) return null;
  const raw = String(text);
  if (!raw.trim()) return null;
  const d = digits(raw);
  if (d === null) return undefined;
  const n = Number(d);
  return Number.isSafeInteger(n) && n >= 1 && n <= QUOTA_MAX ? n : undefined;
}

/** A Vuetify rule: empty, or a whole number from 1 to QUOTA_MAX. */
export function quotaRule(t: T, locale: string) {
  return (v: string | number | null | undefined): true | string => {
    if (parseQuota(v) !== undefined) return true;
    const d = digits(String(v ?? ''));
    if (d !== null && Number(d) > QUOTA_MAX) return t('validation.quotaMax', { max: formatCount(QUOTA_MAX, locale) });
    return t('validation.quota');
  };
}

export function formatCount(n: number, locale: string): string {
  return new Intl.NumberFormat(locale).format(n);
}

/** "1,000 requests / month" (en), "1 000 запросов в месяц" (ru). */
export function formatQuota(n: number, t: T, locale: string): string {
  return t('quota.perMonth', { quota: formatCount(n, locale) }, n);
}

/** Share of a cap or quota used, 0–100 (for a progress bar). */
export function percentOf(used: string | number | null, limit: string | number | null): number | null {
  if (used === null || limit === null) return null;
  const u = Number(used);
  const l = Number(limit);
  if (!Number.isFinite(u) || !Number.isFinite(l)) return null;
  if (l <= 0) return u > 0 ? 100 : 0;
  return Math.min(100, Math.max(0, (u / l) * 100));
}
