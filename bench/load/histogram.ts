// Latency histograms (HdrHistogram, 3 significant digits) in microseconds: recorded in
// a driver process, sent to the parent as compressed base64 (the HdrHistogram wire
// format, so a second's histogram crosses the process boundary whole), merged there
// and read as percentiles. Nothing here sorts an array of samples.
import * as hdr from 'hdr-histogram-js';

export type Histogram = hdr.Histogram;

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** An empty histogram for values in µs from 1 µs up to an hour (it grows past that). */
export function newHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, autoResize: true });
}

/** Records a latency given in milliseconds (kept in µs, at least 1). */
export function recordMs(h: Histogram, ms: number, count = 1): void {
  h.recordValueWithCount(Math.max(1, Math.round(ms * 1000)), count);
}

export function encode(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function decode(encoded: string): Histogram {
  return hdr.decodeFromCompressedBase64(encoded, 32, false);
}

/** One histogram holding every value of the encoded ones. */
export function mergeEncoded(encoded: readonly string[]): Histogram {
  const total = newHistogram();
  for (const e of encoded) {
    const h = decode(e);
    total.add(h);
    h.destroy();
  }
  return total;
}

const ms = (us: number): number => Math.round(us) / 1000;

/** Percentiles in milliseconds (µs resolution); NaN throughout for an empty histogram. */
export function summarize(h: Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, p50: NaN, p95: NaN, p99: NaN, max: NaN, mean: NaN };
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p95: ms(h.getValueAtPercentile(95)),
    p99: ms(h.getValueAtPercentile(99)),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  };
}
