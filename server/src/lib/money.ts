// Money is integer micro-units (1e-6 of the currency) in bigint arithmetic: never floats.
import { AppError } from '../errors.js';

export const MICROS = 1_000_000n;
const DECIMAL = /^(\d{1,12})(?:\.(\d{1,6}))?$/;

/** "0.05" | 0.05 -> 50000 micros. At most 6 decimals, non-negative, < 1e12. */
export function parseMoney(input: string | number, field = 'price_per_request'): number {
  const text = typeof input === 'number' ? String(input) : input.trim();
  const m = DECIMAL.exec(text);
  if (!m) {
    throw new AppError(
      'VALIDATION_FAILED',
      `${field} must be a non-negative decimal with at most 6 fractional digits, e.g. "0.05"`,
    );
  }
  const whole = BigInt(m[1] ?? '0');
  const frac = BigInt((m[2] ?? '').padEnd(6, '0'));
  return Number(whole * MICROS + frac);
}

/** micros -> "0.05" (at least two decimals, trailing zeros beyond them trimmed). */
export function formatMoney(micros: bigint | number): string {
  const v = BigInt(micros);
  const neg = v < 0n;
  const abs = neg ? -v : v;
  const whole = abs / MICROS;
  let frac = (abs % MICROS).toString().padStart(6, '0').replace(/0+$/, '');
  if (frac.length < 2) frac = frac.padEnd(2, '0');
  return `${neg ? '-' : ''}${whole}.${frac}`;
}

/** Most money a cap may name (whole currency units): far beyond any real budget, exact in a double. */
const MAX_CAP_UNITS = 1_000_000_000n;

/** Fractional digits of a currency (USD 2, JPY 0); 2 when unknown to Intl. */
export function currencyDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/** A monthly spend cap: decimal text in the currency, no more decimals than it has, at most 1e9. */
export function parseCap(text: string, currency: string, field = 'monthly_spend_cap'): number {
  const digits = currencyDigits(currency);
  const m = /^(\d{1,10})(?:\.(\d+))?$/.exec(text.trim());
  if (!m || (m[2] ?? '').length > digits || BigInt(m[1] ?? '0') > MAX_CAP_UNITS) {
    throw new AppError(
      'VALIDATION_FAILED',
      `${field} must be a non-negative amount in ${currency} with at most ${digits} decimals, up to ${MAX_CAP_UNITS}`,
      { field },
    );
  }
  return parseMoney(text, field);
}
