import { describe, expect, it } from 'vitest';
import { murmur2, murmur2String, partitionFor } from '../../src/kafka/partitioner.js';
import { nativeMurmur2, nativePartition } from '../../src/native/index.js';
import { rng } from '../support/rng.js';

// org.apache.kafka.common.utils.UtilsTest#testMurmur2: what the Java client (and so
// every other producer of the co-partitioned topics) computes for these keys.
// Partitions are toPositive(hash) % n, worked out from the hashes by hand.
const javaVectors: readonly [key: string, hash: number, partitions: { 1: number; 6: number; 12: number; 1000: number }][] = [
  ['21', -973932308, { 1: 0, 6: 0, 12: 0, 1000: 340 }],
  ['foobar', -790332482, { 1: 0, 6: 0, 12: 6, 1000: 166 }],
  ['a-little-bit-long-string', -985981536, { 1: 0, 6: 2, 12: 8, 1000: 112 }],
  ['a-little-bit-longer-string', -1486304829, { 1: 0, 6: 5, 12: 11, 1000: 819 }],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971, { 1: 0, 6: 5, 12: 5, 1000: 677 }],
  ['abc', 479470107, { 1: 0, 6: 3, 12: 3, 1000: 107 }],
];

const partitionCounts = [1, 6, 12, 1000] as const;

/** A decimal order-id string of 1..20 digits. */
function decimalKey(rand: () => number): string {
  const digits = 1 + Math.floor(rand() * 20);
  let s = String(1 + Math.floor(rand() * 9));
  while (s.length < digits) s += String(Math.floor(rand() * 10));
  return s;
}

// Code point ranges that exercise 1-, 2-, 3- and 4-byte UTF-8 (no lone surrogates).
const ranges: readonly [number, number][] = [
  [0x20, 0x7e],
  [0x00, 0x1f],
  [0x80, 0x7ff],
  [0x800, 0xd7ff],
  [0xe000, 0xfffd],
  [0x10000, 0x10ffff],
];

function unicodeKey(rand: () => number, maxCodePoints: number): string {
  const n = Math.floor(rand() * (maxCodePoints + 1));
  let s = '';
  for (let i = 0; i < n; i++) {
    const [lo, hi] = ranges[Math.floor(rand() * ranges.length)]!;
    s += String.fromCodePoint(lo + Math.floor(rand() * (hi - lo + 1)));
  }
  return s;
}

function randomKeys(seed: number, count: number, maxCodePoints: number): string[] {
  const rand = rng(seed);
  return Array.from({ length: count }, (_, i) => (i % 2 === 0 ? decimalKey(rand) : unicodeKey(rand, maxCodePoints)));
}

describe("murmur2: Kafka's known vectors", () => {
  it.each(javaVectors)('hashes %j to %i in every implementation', (key, hash) => {
    expect(murmur2(Buffer.from(key, 'utf8'))).toBe(hash);
    expect(murmur2(new TextEncoder().encode(key))).toBe(hash);
    expect(murmur2String(key)).toBe(hash);
    expect(nativeMurmur2(key)).toBe(hash);
    expect(nativeMurmur2(Buffer.from(key, 'utf8'))).toBe(hash);
  });

  it.each(javaVectors)('places %j on the partition the Java client picks', (key, _hash, partitions) => {
    for (const n of partitionCounts) {
      expect(partitionFor(key, n)).toBe(partitions[n]);
      expect(nativePartition(key, n)).toBe(partitions[n]);
    }
  });
});

describe('murmur2: the JS, string and native versions agree', () => {
  it('agrees on the empty key and on every tail length (0..3 bytes after the blocks)', () => {
    for (const key of ['', '1', '12', '123', '1234', '12345', '123456', '1234567', '12345678']) {
      const expected = murmur2(Buffer.from(key));
      expect(murmur2String(key)).toBe(expected);
      expect(nativeMurmur2(key)).toBe(expected);
    }
  });

  it('agrees for 5,000 random decimal and unicode keys', () => {
    const mismatches: string[] = [];
    for (const key of randomKeys(0x5eed, 5_000, 40)) {
      const bytes = murmur2(Buffer.from(key, 'utf8'));
      const str = murmur2String(key);
      const nat = nativeMurmur2(key);
      const natBuf = nativeMurmur2(Buffer.from(key, 'utf8'));
      if (str !== bytes || nat !== bytes || natBuf !== bytes) mismatches.push(JSON.stringify(key));
    }
    expect(mismatches).toEqual([]);
  });

  it('returns a signed 32-bit integer', () => {
    for (const key of randomKeys(7, 500, 20)) {
      const h = murmur2String(key);
      expect(h).toBe(h | 0);
    }
  });
});

describe('partitionFor', () => {
  // The addon copies keys of up to 63 UTF-8 bytes into a stack buffer and longer ones
  // through Utf8Value. Random unicode keys here are at most 15 code points (60 bytes);
  // longer non-ASCII keys have their own regression test below.
  it('agrees with nativePartition for 5,000 random keys and 1, 6, 12 and 1000 partitions', () => {
    const keys = randomKeys(0xc0ffee, 5_000, 15);
    const rand = rng(99);
    for (let i = 0; i < 200; i++) keys.push('k'.repeat(60 + Math.floor(rand() * 100))); // long ASCII keys
    const mismatches: string[] = [];
    for (const key of keys) {
      for (const n of partitionCounts) {
        if (partitionFor(key, n) !== nativePartition(key, n)) mismatches.push(`${JSON.stringify(key)} % ${n}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('agrees with nativePartition for non-ASCII keys of 63 and 64 UTF-8 bytes whose 63rd byte ends a character', () => {
    const keys = ['x'.repeat(61) + 'é', 'x'.repeat(63), 'x'.repeat(61) + 'éy', 'é'.repeat(31) + 'z', '€'.repeat(21), '😀'.repeat(15) + 'abc'];
    for (const key of keys) for (const n of partitionCounts) expect(nativePartition(key, n)).toBe(partitionFor(key, n));
  });

  it('is toPositive(murmur2) % n, always within 0..n-1', () => {
    for (const key of randomKeys(4242, 1_000, 30)) {
      const hash = murmur2(Buffer.from(key, 'utf8'));
      for (const n of [1, 2, 3, 6, 7, 12, 1000, 2 ** 31 - 1]) {
        const p = partitionFor(key, n);
        expect(Number.isInteger(p) && p >= 0 && p < n).toBe(true);
        expect(p).toBe((hash & 0x7fffffff) % n);
      }
    }
  });

  it('spreads decimal order ids over all 6 partitions', () => {
    const counts = new Array<number>(6).fill(0);
    const rand = rng(1);
    for (let i = 0; i < 6_000; i++) counts[partitionFor(decimalKey(rand), 6)]!++;
    expect(counts.every((c) => c > 0)).toBe(true);
  });

  // Regression (native/addon.cc, Partition): keys were copied into a 64-byte stack
  // buffer and a copy shorter than 63 bytes was taken as the whole key; but the copy
  // stops at the last whole UTF-8 character that fits, so a long non-ASCII key came
  // back short and its truncated prefix was hashed. The UTF-8 length is now asked first.
  it.each([
    ['a' + '€'.repeat(30)],
    ['é'.repeat(40)],
    ['😀'.repeat(20)],
    ['x'.repeat(62) + 'é'],
  ])('nativePartition agrees with partitionFor for the long non-ASCII key %j', (key) => {
    expect(nativeMurmur2(key)).toBe(murmur2String(key));
    for (const n of partitionCounts) expect(nativePartition(key, n)).toBe(partitionFor(key, n));
  });
});

describe('nativePartition arguments', () => {
  it.each([0, -1, 1.5, Number.NaN])('rejects %s partitions', (n) => {
    expect(() => nativePartition('123', n)).toThrow(RangeError);
  });
});
