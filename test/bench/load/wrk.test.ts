import { describe, expect, it } from 'vitest';
import { summarize } from '../../../bench/load/histogram.js';
import { errorCount, histogramFromQuantiles, parseWrkOutput, WRK_PERCENTILES, wrkScript } from '../../../bench/load/wrk.js';

describe('wrk slices', () => {
  it('finds the WRK line among wrk\'s own output', () => {
    const stdout = `Running 1s test @ http://127.0.0.1:1/\n  2 threads and 64 connections\nWRK {"requests":10,"durationUs":1000000,"errors":{"connect":0,"read":1,"write":0,"status":2,"timeout":0},"q":[[50,1000],[100,2000]]}\n`;
    const slice = parseWrkOutput(stdout)!;
    expect(slice.requests).toBe(10);
    expect(errorCount(slice)).toBe(3);
    expect(parseWrkOutput('Running 1s test\n')).toBeUndefined();
  });

  it('rebuilds a histogram with exactly the requests, shaped by the quantiles', () => {
    const q = WRK_PERCENTILES.map((p): [number, number] => [p, p === 100 ? 50_000 : p * 100]); // p% → p/10 ms
    const h = histogramFromQuantiles(12_345, q);
    expect(h.totalCount).toBe(12_345);
    const s = summarize(h);
    expect(s.p50).toBeCloseTo(5, 1);
    expect(s.p99).toBeCloseTo(9.9, 1);
    expect(s.max).toBeCloseTo(50, 0);
  });

  it('a slice of few requests still adds up', () => {
    expect(histogramFromQuantiles(3, [[50, 100], [99, 200], [100, 300]]).totalCount).toBe(3);
    expect(histogramFromQuantiles(0, [[100, 300]]).totalCount).toBe(0);
  });

  it('the script reads the ids file it is given and asks for every percentile', () => {
    const script = wrkScript('/tmp/ids "x".txt');
    expect(script).toContain('io.lines("/tmp/ids \\"x\\".txt")');
    expect(script).toContain('99.99');
    expect(script).toContain('latency.max');
  });
});
