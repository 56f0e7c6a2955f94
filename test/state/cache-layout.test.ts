import { describe, expect, it } from 'vitest';
import { EngineError } from '../../src/errors.js';
import { cacheLayout, kGlobalHeaderBytes, kSliceHeaderBytes, slotsFor } from '../../src/state/cache-layout.js';

describe('cacheLayout', () => {
  it.each([
    ['the default: 10 MiB over 6 tasks', 10 * 1024 * 1024, 6],
    ['one task', 1024 * 1024, 1],
    ['many tasks', 10 * 1024 * 1024, 64],
    ['an odd size', 1_000_003, 7],
  ])('fits %s inside maxBytes, every region inside its slice', (_name, maxBytes, partitions) => {
    const l = cacheLayout(maxBytes, partitions);
    expect(l.totalBytes).toBeLessThanOrEqual(maxBytes);
    expect(l.totalBytes).toBe(kGlobalHeaderBytes + partitions * l.sliceBytes);
    expect(l.sliceBytes % 8).toBe(0);
    expect(l.slotsOffset % 8).toBe(0);
    expect(l.indexOffset).toBeGreaterThanOrEqual(kSliceHeaderBytes);
    expect(l.refOffset).toBeGreaterThanOrEqual(l.indexOffset + 4 * l.indexCapacity);
    expect(l.slotsOffset).toBeGreaterThanOrEqual(l.refOffset + l.slotsPerSlice);
    expect(l.slotsOffset + l.slotsPerSlice * l.slotBytes).toBeLessThanOrEqual(l.sliceBytes);
    expect(l.indexCapacity).toBeGreaterThanOrEqual(2 * l.slotsPerSlice);
    expect(l.slotsPerSlice).toBeGreaterThan(0);
  });

  it('spends most of a slice on slots (the index and headers stay small)', () => {
    const l = cacheLayout(10 * 1024 * 1024, 6);
    expect((l.slotsPerSlice * l.slotBytes) / l.sliceBytes).toBeGreaterThan(0.9);
  });

  it('is a pure function of its arguments, so another thread rebuilds the same layout', () => {
    expect(cacheLayout(10 * 1024 * 1024, 6)).toEqual(cacheLayout(10 * 1024 * 1024, 6));
    expect(cacheLayout(10 * 1024 * 1024, 6, { slotBytes: 512 })).not.toEqual(cacheLayout(10 * 1024 * 1024, 6));
  });

  it.each([
    ['negative maxBytes', -1, 6, undefined],
    ['fractional maxBytes', 1.5, 6, undefined],
    ['zero partitions', 1024, 0, undefined],
    ['a slot not a multiple of 8', 1024, 1, 100],
    ['a slot smaller than its header', 1024, 1, 24],
  ])('rejects %s', (_name, maxBytes, partitions, slotBytes) => {
    expect(() => cacheLayout(maxBytes, partitions, slotBytes === undefined ? {} : { slotBytes })).toThrow(EngineError);
  });
});

describe('slotsFor', () => {
  const l = cacheLayout(1024 * 1024, 1);
  it.each([
    [0, 1],
    [1, 1],
    [l.slotPayloadBytes, 1],
    [l.slotPayloadBytes + 1, 2],
    [3 * l.slotPayloadBytes, 3],
    [3 * l.slotPayloadBytes + 1, 4],
  ])('puts a %i-byte value in %i slot(s)', (length, slots) => {
    expect(slotsFor(l, length)).toBe(slots);
  });
});
