import { describe, expect, it } from 'vitest';
import type { MeasuredThroughput } from '../../src/capacity/load-report.js';
import { CapacityOptionsError, parseCapacityOptions, plannerInputs } from '../../src/capacity/options.js';
import { SEED_INPUTS } from '../../src/capacity/plan.js';

const measured: MeasuredThroughput = {
  saturationOrdersPerSecond: 800,
  streamThreads: 2,
  ordersPerSecondPerThread: 400,
  processingMsPerOrder: 2.5,
  run: 'saga-saturation',
  commitMode: 'default',
  measuredAt: '2026-11-28T10:00:00.000Z',
  machine: 'Test CPU, 2 cores, node v20.20.2',
};

describe('npm run plan options', () => {
  it("with no arguments plans the seed's example, every figure the seed's", () => {
    const { inputs, sources } = plannerInputs(parseCapacityOptions([]), undefined);
    expect(inputs).toEqual(SEED_INPUTS);
    expect(new Set(Object.values(sources))).toEqual(new Set(['seed']));
  });

  it('takes figures from the command line, as the seed writes them too (10,000)', () => {
    const o = parseCapacityOptions(['--users', '250,000', '--peak-multiplier', '4', '--threads-per-pod', '4', '--json']);
    const { inputs, sources } = plannerInputs(o, undefined);
    expect(inputs.users).toBe(250_000);
    expect(inputs.peakMultiplier).toBe(4);
    expect(inputs.threadsPerPod).toBe(4);
    expect(sources.users).toBe('command line');
    expect(sources.ordersPerUserPerDay).toBe('seed');
    expect(o.json).toBe(true);
  });

  it('takes the processing time from the load report, and says so', () => {
    const o = parseCapacityOptions(['--load-report', 'r.json', '--load-threads', '4', '--commit-mode', 'fixed', '--users', '5000']);
    expect(o.loadReport).toBe('r.json');
    expect(o.loadThreads).toBe(4);
    expect(o.commitMode).toBe('fixed');
    const { inputs, sources } = plannerInputs(o, measured);
    expect(inputs.processingMsPerOrder).toBe(2.5);
    expect(sources.processingMsPerOrder).toBe('load report');
    expect(sources.users).toBe('command line');
    expect(parseCapacityOptions(['--load-report', 'r.json']).loadThreads).toBe(2);
  });

  it('refuses contradictions and nonsense with the flag named', () => {
    expect(() => parseCapacityOptions(['--processing-ms', '10', '--load-report', 'r.json'])).toThrow(/exclude each other/);
    expect(() => parseCapacityOptions(['--load-threads', '2'])).toThrow(/describe a --load-report/);
    expect(() => parseCapacityOptions(['--users=-5'])).toThrow(/--users must be a positive number/);
    expect(() => parseCapacityOptions(['--threads-per-pod', '1.5'])).toThrow(/--threads-per-pod must be a positive integer/);
    expect(() => parseCapacityOptions(['--userz', '5'])).toThrow(CapacityOptionsError);
    expect(parseCapacityOptions(['-h']).help).toBe(true);
  });
});
