import { describe, expect, it } from 'vitest';
import { parseLoadOptions } from '../../bench/load/options.js';
import type { LoadReport, ScenarioRun } from '../../bench/load/report-types.js';
import { LoadReportError, measuredThroughput } from '../../src/capacity/load-report.js';

// Typed as bench:load writes it, so the fixture follows report-types.ts when it changes.
function run(scenario: ScenarioRun['scenario'], commitMode: ScenarioRun['commitMode'], throughput: number | null, status: ScenarioRun['status'] = 'ok'): ScenarioRun {
  return {
    scenario,
    label: `${scenario}${commitMode === 'default' ? '' : ` (${commitMode})`}`,
    status,
    driver: 'node closed-loop, 32 connections',
    commitMode,
    durationS: 20,
    throughput,
    throughputUnit: 'decided orders/s',
    latencyWhat: 'POST → decision on orders',
    latency: null,
    otherLatencies: {},
    errors: 0,
    figures: {},
    series: [],
    rss: [],
  };
}

function report(runs: ScenarioRun[]): LoadReport {
  return {
    tool: 'bench:load',
    startedAt: '2026-11-28T10:00:00.000Z',
    finishedAt: '2026-11-28T10:05:00.000Z',
    machine: { cpu: 'Test CPU', cores: 2, memoryGiB: 8, node: 'v20.20.2', platform: 'Linux x64', date: '2026-11-28T10:00:00.000Z' },
    service: { url: 'http://127.0.0.1:1', dir: '/x', commit: 'abc', dirty: false, nodeArgs: [], commitModeKnown: true },
    driver: { commit: 'abc', dirty: false },
    options: parseLoadOptions(['--scenario', 'saga-rate,saga-saturation', '--commit-modes', 'fixed,adaptive'], '/x'),
    runs,
  };
}

// Through JSON, as the CLI reads it from disk.
const fromDisk = (r: LoadReport): unknown => JSON.parse(JSON.stringify(r));

describe('measured figures from a bench:load report', () => {
  it('turns the saturation throughput into what one order costs one stream thread', () => {
    const m = measuredThroughput(fromDisk(report([run('saga-rate', 'default', 480), run('saga-saturation', 'default', 800)])), 2);
    expect(m.saturationOrdersPerSecond).toBe(800);
    expect(m.ordersPerSecondPerThread).toBe(400);
    expect(m.processingMsPerOrder).toBe(2.5);
    expect(m.run).toBe('saga-saturation');
    expect(m.machine).toBe('Test CPU, 2 cores, node v20.20.2');
    expect(m.measuredAt).toBe('2026-11-28T10:00:00.000Z');
    // The same instance measured with 4 stream threads: each did half as much.
    expect(measuredThroughput(fromDisk(report([run('saga-saturation', 'default', 800)])), 4).processingMsPerOrder).toBe(5);
  });

  it('of several saturation runs takes the slowest, or the commit mode asked for', () => {
    const r = fromDisk(report([run('saga-saturation', 'fixed', 900), run('saga-saturation', 'adaptive', 850), run('saga-saturation', 'default', 0, 'failed')]));
    expect(measuredThroughput(r, 2).commitMode).toBe('adaptive');
    expect(measuredThroughput(r, 2, 'fixed').saturationOrdersPerSecond).toBe(900);
    expect(() => measuredThroughput(r, 2, 'default')).toThrow(/commit mode default \(have: fixed, adaptive\)/);
  });

  it('says how to get the figure when the report has no saturation run that succeeded', () => {
    expect(() => measuredThroughput(fromDisk(report([run('saga-rate', 'default', 500), run('saga-saturation', 'default', null, 'failed')])), 2)).toThrow(
      /no successful saga-saturation run.*--scenario saga-saturation/,
    );
  });

  it('refuses what is not a bench:load report', () => {
    expect(() => measuredThroughput({ tool: 'bench:saga', runs: [] }, 2)).toThrow(LoadReportError);
    expect(() => measuredThroughput([], 2)).toThrow(LoadReportError);
    expect(() => measuredThroughput(fromDisk(report([run('saga-saturation', 'default', 800)])), 0)).toThrow(/stream threads/);
  });
});
