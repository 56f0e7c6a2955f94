import { describe, expect, it } from 'vitest';
import { formatCents, parseNumericCents, toCents } from '../../src/domain/money.js';

describe('toCents', () => {
  // Each of these is off by a few ulps when multiplied by 100 in floating point
  // (0.29 * 100 = 28.999999999999996, 1.005-ish traps like 10.05 * 100 =
  // 1004.9999999999999); truncating instead of rounding would lose a cent.
  it.each<[number, number]>([
    [0, 0],
    [0.01, 1],
    [0.05, 5],
    [0.1, 10],
    [0.29, 29],
    [0.57, 57],
    [1.1, 110],
    [1.15, 115],
    [4.35, 435],
    [8.2, 820],
    [10.05, 1005],
    [12.5, 1250],
    [19.99, 1999],
    [1.01, 101],
    [100, 10000],
    [999_999_999.99, 99_999_999_999],
    [1_000_000_000, 100_000_000_000],
  ])('converts %s to %i cents', (amount, cents) => {
    expect(toCents(amount)).toBe(cents);
  });

  it.each<[number, number]>([
    [-0.29, -29],
    [-12.5, -1250],
  ])('converts the negative amount %s to %i cents', (amount, cents) => {
    expect(toCents(amount)).toBe(cents);
  });

  it('does not drift for any 2-decimal amount from 0.00 to 10,000.00', () => {
    const drifted: number[] = [];
    for (let cents = 0; cents <= 1_000_000; cents++) if (toCents(cents / 100) !== cents) drifted.push(cents);
    expect(drifted).toEqual([]);
  });

  it('does not drift for 2-decimal amounts just below the largest accepted price (1e9)', () => {
    const drifted: number[] = [];
    for (let cents = 100_000_000_000 - 100_000; cents <= 100_000_000_000; cents++) if (toCents(cents / 100) !== cents) drifted.push(cents);
    expect(drifted).toEqual([]);
  });

  it('returns integers', () => {
    for (const amount of [0.29, 19.99, 4.35, 123.45]) expect(Number.isInteger(toCents(amount))).toBe(true);
  });
});

describe('formatCents', () => {
  it.each<[number, string]>([
    [0, '0.00'],
    [1, '0.01'],
    [5, '0.05'],
    [10, '0.10'],
    [99, '0.99'],
    [100, '1.00'],
    [105, '1.05'],
    [1250, '12.50'],
    [1999, '19.99'],
    [123_456_789, '1234567.89'],
    [99_999_999_999, '999999999.99'],
    [-5, '-0.05'],
    [-10, '-0.10'],
    [-100, '-1.00'],
    [-1250, '-12.50'],
    [-123_456, '-1234.56'],
  ])('formats %i cents as %s', (cents, text) => {
    expect(formatCents(cents)).toBe(text);
  });

  it('always writes exactly two decimals, as a valid JSON number equal to cents / 100', () => {
    for (let cents = -20_000; cents <= 20_000; cents += 7) {
      const text = formatCents(cents);
      expect(text).toMatch(/^-?(0|[1-9]\d*)\.\d{2}$/);
      expect(JSON.parse(text)).toBe(cents / 100);
    }
  });
});

describe('parseNumericCents', () => {
  it.each<[string, number]>([
    ['12.50', 1250],
    ['12.5', 1250],
    ['0.05', 5],
    ['0.00', 0],
    ['0', 0],
    ['100', 10000],
    ['100.00', 10000],
    ['19.99', 1999],
    ['-3.10', -310],
    ['-0.05', -5],
    ['-100', -10000],
    ['999999999.99', 99_999_999_999],
  ])('parses %s as %i cents', (text, cents) => {
    expect(parseNumericCents(text)).toBe(cents);
  });

  it('is the inverse of formatCents', () => {
    const mismatches: number[] = [];
    for (let cents = -100_000; cents <= 100_000; cents++) if (parseNumericCents(formatCents(cents)) !== cents) mismatches.push(cents);
    for (let cents = 99_999_900_000; cents <= 100_000_000_000; cents++) if (parseNumericCents(formatCents(cents)) !== cents) mismatches.push(cents);
    expect(mismatches).toEqual([]);
  });
});
