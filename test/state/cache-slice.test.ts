import { describe, expect, it } from 'vitest';
import { ID_EPOCH_MS, IdGenerator } from '../../src/domain/ids.js';
import { kHitsField } from '../../src/state/cache-layout.js';
import { bumpCounter, hashKey, readCounter } from '../../src/state/cache-slice.js';

describe('hashKey', () => {
  it('spreads consecutive time-sortable order ids over the index', () => {
    const ids = new IdGenerator(3, () => ID_EPOCH_MS + 1_000_000_000);
    const capacity = 4096;
    const buckets = new Set<number>();
    for (let i = 0; i < 2048; i++) buckets.add(hashKey(ids.next()) % capacity);
    // A uniform hash fills about 1 - e^-0.5 = 39% of the buckets with 2048 keys.
    expect(buckets.size / capacity).toBeGreaterThan(0.35);
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
