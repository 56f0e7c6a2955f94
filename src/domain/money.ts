// Money crosses the edges as JSON numbers with two decimals (BigDecimal scale 2 in the
// original service) and lives inside as integer cents.

/** 12.5 → 1250. The parser has already checked the value has at most two decimals. */
export function toCents(amount: number): number {
  return Math.round(amount * 100);
}

/** 1250 → "12.50": a JSON number literal with exactly two decimals. */
export function formatCents(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  const units = Math.trunc(abs / 100);
  const rest = abs - units * 100;
  return `${sign}${units}.${rest < 10 ? '0' : ''}${rest}`;
}

/** Postgres numeric(19,2) text ("12.50") → cents, without going through a float. */
export function parseNumericCents(text: string): number {
  const negative = text.startsWith('-');
  const [units = '0', fraction = ''] = (negative ? text.slice(1) : text).split('.');
  const cents = Number(units) * 100 + Number((fraction + '00').slice(0, 2));
  return negative ? -cents : cents;
}
