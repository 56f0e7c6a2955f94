import { describe, expect, it } from 'vitest';
import { decode, encode, mergeEncoded, newHistogram, recordMs, summarize } from '../../../bench/load/histogram.js';

const encodedOf = (values: readonly number[]): string => {
  const h = newHistogram();
  for (const v of values) recordMs(h, v);
  return encode(h);
};

describe('latency histograms across the process boundary', () => {
  it('an encoded histogram decodes to the same percentiles', () => {
    const h = decode(encodedOf(Array.from({ length: 1000 }, (_, i) => i + 1)));
    expect(h.totalCount).toBe(1000);
    const s = summarize(h);
    expect(s.p50).toBeCloseTo(500, -1);
    expect(s.p99).toBeCloseTo(990, -1);
    expect(s.max).toBeCloseTo(1000, -1);
  });

  it('merging seconds gives the percentiles of all their values, not an average of their p99s', () => {
    // 99 fast seconds of 100 values at 1 ms, one slow second of 100 values at 500 ms.
    const seconds = [...Array.from({ length: 99 }, () => encodedOf(Array(100).fill(1))), encodedOf(Array(100).fill(500))];
    const s = summarize(mergeEncoded(seconds));
    expect(s.count).toBe(10_000);
    expect(s.p50).toBeCloseTo(1, 1);
    expect(s.p99).toBeCloseTo(1, 1); // 1% of the values are slow: the p99 is still fast
    expect(s.max).toBeCloseTo(500, -1);
    // The last 21 seconds: 100 of 2,100 values slow (4.8%): p95 fast, p99 slow.
    expect(summarize(mergeEncoded(seconds.slice(79))).p95).toBeCloseTo(1, 1);
    expect(summarize(mergeEncoded(seconds.slice(79))).p99).toBeCloseTo(500, -1);
  });

  it('keeps sub-millisecond values (µs resolution) and clamps 0 to 1 µs', () => {
    const s = summarize(decode(encodedOf([0.25, 0.25, 0])));
    expect(s.p50).toBe(0.25);
    expect(s.count).toBe(3);
  });

  it('an empty histogram summarizes as NaN, not 0', () => {
    const s = summarize(newHistogram());
    expect(s.count).toBe(0);
    expect(s.p99).toBeNaN();
  });
});
