import { describe, expect, it } from 'vitest';
import { ID_EPOCH_MS, IdGenerator } from '../../src/domain/ids.js';
import { kHitsField } from '../../src/state/cache-layout.js';
import { bumpCounter, hashKey, keyHigh, keyLow, readCounter } from '../../src/state/cache-slice.js';

describe('hashKey', () => {
  it('spreads consecutive time-sortable order ids over the index', () => {
    const ids = new IdGenerator(3, () => ID_EPOCH_MS + 1_000_000_000);
    const capacity = 4096;
    const buckets = new Set<number>();
    for (let i = 0; i < 2048; i++) {
      const id = ids.next();
      buckets.add(hashKey(keyLow(id), keyHigh(id)) % capacity);
    }
    // A uniform hash fills about 1 - e^-0.5 = 39% of the buckets with 2048 keys.
    expect(buckets.size / capacity).toBeGreaterThan(0.35);
  });
});

describe('keyLow and keyHigh', () => {
  it('split a number id and the same value as a bigint into the same halves', () => {
    for (const id of [0, 1, 0xffff_ffff, 2 ** 32, 2 ** 52 + 12_345, Number.MAX_SAFE_INTEGER]) {
      expect([keyLow(id), keyHigh(id)]).toEqual([keyLow(BigInt(id)), keyHigh(BigInt(id))]);
      expect(keyHigh(id) * 2 ** 32 + keyLow(id)).toBe(id);
    }
  });

  it('keep ids apart that are one double (past 2^53)', () => {
    const a = 910_000_000_000_000_123n;
    const b = 910_000_000_000_000_124n;
    expect(Number(a)).toBe(Number(b));
    expect([keyLow(a), keyHigh(a)]).not.toEqual([keyLow(b), keyHigh(b)]);
    expect((BigInt(keyHigh(a)) << 32n) | BigInt(keyLow(a))).toBe(a);
    expect([keyLow(2n ** 63n - 1n), keyHigh(2n ** 63n - 1n)]).toEqual([0xffff_ffff, 0x7fff_ffff]);
  });
});

describe('64-bit counters', () => {
  it('carries into the high word when the low word wraps', () => {
    const u32 = new Uint32Array(new SharedArrayBuffer(128));
    u32[kHitsField] = 0xffff_fffe;
    bumpCounter(u32, kHitsField);
    expect(readCounter(u32, kHitsField)).toBe(0xffff_ffff);
    bumpCounter(u32, kHitsField);
    expect(readCounter(u32, kHitsField)).toBe(2 ** 32);
    bumpCounter(u32, kHitsField);
    expect(readCounter(u32, kHitsField)).toBe(2 ** 32 + 1);
  });
});
