// Consumer lag from a position and a partition end, as librdkafka reports them: its
// negative sentinels (RD_KAFKA_OFFSET_INVALID = -1001 before the first fetch or
// consume) mean unknown, never a lag.
import { describe, expect, it } from 'vitest';
import { partitionLag } from '../../src/engine/consumer-lag.js';
import { CommitTimings } from '../../src/engine/commit-timings.js';

describe('partitionLag', () => {
  it.each<[number | undefined, number | undefined, number | undefined]>([
    [100, 150, 50],
    [150, 150, 0],
    // the cached end lags a position the application has already been handed
    [151, 150, 0],
    [-1001, 150, undefined],
    [100, -1001, undefined],
    [undefined, 150, undefined],
    [100, undefined, undefined],
    [0, 0, 0],
    // never written: nothing to consume, though librdkafka knows no position yet
    [-1001, 0, 0],
    [undefined, 0, 0],
  ])('position %s, end %s: %s', (position, end, lag) => {
    expect(partitionLag(position, end)).toBe(lag);
  });
});

describe('CommitTimings', () => {
  it('hands each recorded duration over once', () => {
    const t = new CommitTimings();
    t.record(0.1);
    t.record(0.2);
    expect(t.take()).toEqual([0.1, 0.2]);
    expect(t.take()).toEqual([]);
  });

  it('keeps the newest 10,000 when nobody takes them', () => {
    const t = new CommitTimings();
    for (let i = 0; i < 10_005; i++) t.record(i);
    const taken = t.take();
    expect(taken.length).toBe(10_000);
    expect(taken[0]).toBe(5);
    expect(t.dropped).toBe(5);
  });
});
