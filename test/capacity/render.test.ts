import { describe, expect, it } from 'vitest';
import { parseCapacityOptions, plannerInputs } from '../../src/capacity/options.js';
import { planCapacity } from '../../src/capacity/plan.js';
import { formatNumber, renderJson, renderTable } from '../../src/capacity/render.js';

const row = (table: string, label: string): string => table.split('\n').find((l) => l.trimStart().startsWith(label))?.trim().replace(/\s{2,}/g, ' | ') ?? `no row ${label}`;

describe('the printed plan', () => {
  it("shows the seed's worked example with the seed's figures and where each input came from", () => {
    const { inputs, sources } = plannerInputs(parseCapacityOptions(['--users', '10,000']), undefined);
    const table = renderTable(planCapacity(inputs), sources, undefined);
    expect(row(table, 'users')).toBe('users | 10,000 | command line');
    expect(row(table, 'daily orders')).toBe('daily orders | 5,000');
    expect(row(table, 'peak orders per hour')).toBe('peak orders per hour | 625');
    expect(row(table, 'peak orders per minute')).toBe('peak orders per minute | 10.4');
    expect(row(table, 'processing time per order')).toBe('processing time per order | 50 ms | seed');
    expect(row(table, 'orders per minute per thread')).toBe('orders per minute per thread | 1,200');
    expect(row(table, 'minimum partitions')).toBe('minimum partitions | 1');
    expect(row(table, 'recommended partitions')).toBe('recommended partitions | 6 | NUM_PARTITIONS');
    expect(row(table, 'initial pods')).toBe('initial pods | 2 | 33% of max (seed), at least 2 (seed)');
    expect(row(table, 'max pods')).toBe('max pods | 6 | one per partition: HPA maxReplicas');
    expect(table).not.toContain('Measured:');
  });

  it('names the load report run a measured figure came from', () => {
    const measured = { saturationOrdersPerSecond: 812.4, streamThreads: 2, ordersPerSecondPerThread: 406.2, processingMsPerOrder: 1000 / 406.2, run: 'saga-saturation (fixed)', commitMode: 'fixed', measuredAt: 'T', machine: 'M' };
    const { inputs, sources } = plannerInputs(parseCapacityOptions(['--load-report', 'r.json']), measured);
    const plan = planCapacity(inputs);
    const table = renderTable(plan, sources, measured);
    expect(row(table, 'processing time per order')).toBe('processing time per order | 2.5 ms | load report: saga-saturation (fixed), 812.4 decided orders/s over 2 stream threads');
    expect(table).toContain('Measured: saga-saturation (fixed) at T on M; 406.2 orders/s per thread.');
    const json = JSON.parse(renderJson(plan, sources, measured));
    expect(json.sources.processingMsPerOrder).toBe('load report');
    expect(json.measured.run).toBe('saga-saturation (fixed)');
    expect(json.partitions.recommended).toBe(plan.partitions.recommended);
  });

  it('formats numbers as the seed writes them', () => {
    expect(formatNumber(5000)).toBe('5,000');
    expect(formatNumber(625 / 60)).toBe('10.4');
    expect(formatNumber(0.5)).toBe('0.5');
    expect(formatNumber(1.7361)).toBe('1.7');
    expect(formatNumber(0.0021701)).toBe('0.0022');
  });
});
