/** Formats a decimal string amount without going through floating point for the digits. */
export function formatMoney(
  amount: string | number | null | undefined,
  currency: string | undefined,
  locale: string,
): string {
  if (amount === null || amount === undefined || amount === '') return '—';
  const s = String(amount);
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(s);
  if (!m) return currency ? `${s} ${currency}` : s;
  const [, sign, int, frac = ''] = m;
  const trimmed = frac.replace(/0+$/, '');
  const decimals = trimmed.length < 2 ? trimmed.padEnd(2, '0') : trimmed;
  const group = new Intl.NumberFormat(locale).formatToParts(1000).find((p) => p.type === 'group')?.value ?? ',';
  const point = new Intl.NumberFormat(locale).formatToParts(1.5).find((p) => p.type === 'decimal')?.value ?? '.';
  const intGrouped = (int ?? '0').replace(/\B(?=(\d{3})+(?!\d))/g, group);
  const number = `${sign}${intGrouped}${point}${decimals}`;
  return currency ? `${number} ${currency}` : number;
}

/** The locale's decimal separator ("," in Russian). */
export function decimalSeparator(locale: string): string {
  return new Intl.NumberFormat(locale).formatToParts(1.5).find((p) => p.type === 'decimal')?.value ?? '.';
}

/**
 * Decimal text as an editor shows it: the API's "0.01" with the locale's separator ("0,01"), no
 * grouping and every digit kept, so what is shown is exactly what is stored.
 */
export function toLocaleDecimal(amount: string | null | undefined, locale: string): string {
  if (amount === null || amount === undefined) return '';
  return String(amount).replace('.', decimalSeparator(locale));
}

/** What a person typed in a decimal field, with "," or "." as the separator, as the API's text. */
export function fromLocaleDecimal(text: string): string {
  return text.replace(/\s/g, '').replace(',', '.');
}
