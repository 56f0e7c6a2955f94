import { describe, expect, it } from 'vitest';
import { canonicalId, compareIds, isId64, MAX_ID64, parseId64 } from '../../src/domain/id64.js';

describe('parseId64', () => {
  it.each<[string, number | bigint]>([
    ['0', 0],
    ['1', 1],
    ['999999999999999', 999_999_999_999_999],
    [String(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER],
    ['9007199254740992', 2n ** 53n],
    ['9007199254740993', 2n ** 53n + 1n],
    ['910000000000000123', 910_000_000_000_000_123n],
    ['9223372036854775807', MAX_ID64],
  ])('reads %s exactly, a number only while it is exact', (text, id) => {
    expect(parseId64(text)).toBe(id);
  });

  it.each(['', '-1', '+1', '01', '1.0', '1e3', '0x10', ' 1', '1 ', '9223372036854775808', '18446744073709551615', '99999999999999999999'])('refuses %j', (text) => {
    expect(parseId64(text)).toBeUndefined();
  });

  it('applies the minimum', () => {
    expect(parseId64('0', 1)).toBeUndefined();
    expect(parseId64('1', 1)).toBe(1);
  });
});

describe('canonicalId and isId64', () => {
  it('gives one form per value, so === and Map keys agree', () => {
    expect(canonicalId(42n)).toBe(42);
    expect(canonicalId(2n ** 53n - 1n)).toBe(Number.MAX_SAFE_INTEGER);
    expect(canonicalId(2n ** 53n)).toBe(2n ** 53n);
    const m = new Map([[canonicalId(910_000_000_000_000_123n), 'a']]);
    expect(m.get(parseId64('910000000000000123')!)).toBe('a');
  });

  it.each<[unknown, boolean]>([
    [1, true],
    [Number.MAX_SAFE_INTEGER, true],
    [2n ** 53n, true],
    [MAX_ID64, true],
    [0, false],
    [5n, false], // a bigint where a number is exact is not canonical
    [2 ** 53, false], // a double past 2^53 may already be rounded
    [1.5, false],
    [-1, false],
    [MAX_ID64 + 1n, false],
    ['7', false],
  ])('isId64(%s, 1) is %s', (value, ok) => {
    expect(isId64(value, 1)).toBe(ok);
  });
});

describe('compareIds', () => {
  it('orders numbers and bigints numerically', () => {
    const ids = [910_000_000_000_000_124n, 7, 2n ** 53n, Number.MAX_SAFE_INTEGER, 910_000_000_000_000_123n, 1];
    expect([...ids].sort(compareIds)).toEqual([1, 7, Number.MAX_SAFE_INTEGER, 2n ** 53n, 910_000_000_000_000_123n, 910_000_000_000_000_124n]);
  });
});
