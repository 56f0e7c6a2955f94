import { describe, expect, it } from 'vitest';
import { int4Array, int8Array, textArray, timestamptzArray } from '../../src/db/pg-binary-array.js';
import { MAX_ID64 } from '../../src/domain/id64.js';
import { decodeBinaryArray } from '../support/pg-binary-decode.js';

describe('binary array parameters', () => {
  it('writes the header array_recv reads: one dimension, the null flag, the element type, length and lower bound 1', () => {
    const buf = int4Array([7, -1]);
    expect([...buf.subarray(0, 20)]).toEqual([0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 23, 0, 0, 0, 2, 0, 0, 0, 1]);
    expect(buf.length).toBe(20 + 2 * 8);
    expect(decodeBinaryArray(buf).values).toEqual([7, -1]);
  });

  it('writes an empty column as an array of no dimensions', () => {
    for (const buf of [int8Array([]), int4Array([]), textArray([]), timestamptzArray([])]) {
      expect(buf.length).toBe(12);
      expect(buf.readInt32BE(0)).toBe(0);
      expect(decodeBinaryArray(buf).values).toEqual([]);
    }
  });

  it('writes ids exactly on both sides of 2^53, up to 2^63-1', () => {
    const ids = [0, 1, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER, 2n ** 53n + 1n, 910_000_000_000_000_123n, MAX_ID64];
    expect(decodeBinaryArray(int8Array(ids)).values).toEqual(ids);
    expect(int8Array([2 ** 32 + 5]).subarray(24)).toEqual(Buffer.from([0, 0, 0, 1, 0, 0, 0, 5]));
  });

  it('writes text as length-prefixed UTF-8, with no escaping, and null as length -1', () => {
    const values = ['', 'NULL', '{"a":"b \\"c\\""}', 'back\\slash', 'Zürich', '東京', '😀', null, 'x,y}'];
    const decoded = decodeBinaryArray(textArray(values));
    expect(decoded.hasNull).toBe(true);
    expect(decoded.values).toEqual(values);
    expect(decodeBinaryArray(textArray(['a'])).hasNull).toBe(false);
    // 4 bytes for the emoji (a surrogate pair), not the 6 its two UTF-16 units would bound.
    expect(textArray(['😀']).length).toBe(20 + 4 + 4);
  });

  it('writes instants as microseconds from 2000-01-01 UTC, before and after it', () => {
    const dates = [new Date('2026-11-28T10:20:30.123Z'), new Date('2000-01-01T00:00:00.000Z'), new Date('1970-01-01T00:00:00.001Z'), new Date('1999-12-31T23:59:59.999Z')];
    expect(decodeBinaryArray(timestamptzArray(dates)).values).toEqual(dates);
    expect(timestamptzArray([new Date('2000-01-01T00:00:00.001Z')]).readBigInt64BE(24)).toBe(1000n);
    expect(() => timestamptzArray([new Date(Number.NaN)])).toThrow(RangeError);
  });
});
