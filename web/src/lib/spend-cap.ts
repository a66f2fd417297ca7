// Monthly spend cap per key: typed as a decimal amount in the project's currency ("" = none), sent
// as decimal text ("12.50") or null, as the server takes it (lib/money.ts there: up to 10^9, no
// more decimals than the currency has).

import { fromLocaleDecimal } from './money.js';

type T = (key: string, named?: Record<string, unknown>) => string;

/** The server's upper bound, in whole currency units. */
export const CAP_MAX_UNITS = 1_000_000_000;

/** Fractional digits of a currency (USD 2, JPY 0); 2 when Intl does not know it. */
export function currencyDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/** "" → null (no cap), "12,5" → "12.5"; undefined when the text is not a valid cap. */
export function parseSpendCap(text: string | null | undefined, currency: string): string | null | undefined {
  const raw = fromLocaleDecimal(text ?? '');
  if (!raw) return null;
  const m = /^(\d{1,10})(?:\.(\d+))?$/.exec(raw);
  if (!m) return undefined;
  if ((m[2] ?? '').length > currencyDigits(currency)) return undefined;
  if (Number(m[1]) > CAP_MAX_UNITS) return undefined;
  return raw;
}

/** A Vuetify rule: empty, or an amount the server takes. */
export function spendCapRule(t: T, currency: string) {
  return (v: string | null | undefined): true | string =>
    parseSpendCap(v, currency) !== undefined || t('validation.spendCap', { digits: currencyDigits(currency) });
}
