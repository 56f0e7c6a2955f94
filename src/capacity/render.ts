// The plan as the CLI prints it: a table in the seed's four steps plus headroom, each
// input saying where it came from, or JSON with the same figures unrounded. Pure.
import type { MeasuredThroughput } from './load-report.js';
import type { Source } from './options.js';
import type { CapacityInputs, CapacityPlan } from './plan.js';

/** As the seed writes figures: 5,000 · 10.4 · 0.5 · 1.7; small ones to 2 significant digits. */
export function formatNumber(n: number): string {
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  const abs = Math.abs(n);
  if (abs >= 1) return n.toLocaleString('en-US', { maximumFractionDigits: 1 });
  return n.toLocaleString('en-US', { maximumSignificantDigits: 2 });
}

const pct = (share: number): string => `${formatNumber(share * 100)}%`;

type Row = readonly [label: string, value: string, note?: string];

function sourceNote(key: keyof CapacityInputs, sources: Readonly<Record<keyof CapacityInputs, Source>>, measured: MeasuredThroughput | undefined): string {
  const source = sources[key];
  if (source !== 'load report' || measured === undefined) return source;
  return `load report: ${measured.run}, ${formatNumber(measured.saturationOrdersPerSecond)} decided orders/s over ${measured.streamThreads} stream threads`;
}

export function renderTable(plan: CapacityPlan, sources: Readonly<Record<keyof CapacityInputs, Source>>, measured: MeasuredThroughput | undefined): string {
  const i = plan.inputs;
  const src = (key: keyof CapacityInputs): string => sourceNote(key, sources, measured);
  const steps: [string, Row[]][] = [
    ['Step 1: business load', [
      ['users', formatNumber(i.users), src('users')],
      ['orders per user per day', formatNumber(i.ordersPerUserPerDay), src('ordersPerUserPerDay')],
      ['daily orders', formatNumber(plan.business.dailyOrders)],
      ['peak multiplier', `${formatNumber(i.peakMultiplier)}x`, src('peakMultiplier')],
      ['peak orders per hour', formatNumber(plan.business.peakOrdersPerHour)],
      ['peak orders per minute', formatNumber(plan.business.peakOrdersPerMinute)],
    ]],
    ['Step 2: processing capacity', [
      ['processing time per order', `${formatNumber(i.processingMsPerOrder)} ms`, src('processingMsPerOrder')],
      ['orders per second per thread', formatNumber(plan.processing.ordersPerSecondPerThread)],
      ['orders per minute per thread', formatNumber(plan.processing.ordersPerMinutePerThread)],
    ]],
    ['Step 3: partitions (fixed for the topic\'s life)', [
      ['capacity per partition', `${formatNumber(plan.partitions.capacityPerPartitionPerMinute)} orders/min`, 'one thread processes a partition'],
      ['minimum partitions', formatNumber(plan.partitions.minimum)],
      ['growth factor', `${formatNumber(i.growthFactor)}x`, src('growthFactor')],
      ['recommended partitions', formatNumber(plan.partitions.recommended), 'NUM_PARTITIONS'],
      ['peak per partition', `${formatNumber(plan.partitions.peakPerPartitionPerMinute)} orders/min`],
    ]],
    ['Step 4: pods', [
      ['stream threads per pod', formatNumber(plan.pods.threadsPerPod), `${src('threadsPerPod')}; NUM_STREAM_THREADS`],
      ['pods the peak needs', formatNumber(plan.pods.forPeak)],
      ['initial pods', formatNumber(plan.pods.initial), `${pct(i.initialPodShare)} of max (${src('initialPodShare')}), at least ${i.minPods} (${src('minPods')})`],
      ['pods at one partition per thread', formatNumber(plan.pods.onePartitionPerThread), 'the seed\'s min_pods'],
      ['max pods', formatNumber(plan.pods.max), 'one per partition: HPA maxReplicas'],
    ]],
    ['Headroom', [
      ['initial pods process', `${formatNumber(plan.headroom.initialCapacityPerMinute)} orders/min`, `${formatNumber(plan.headroom.initial)}x the peak, ${pct(plan.headroom.initialUtilisationAtPeak)} busy at peak`],
      ['ceiling of the partitions', `${formatNumber(plan.headroom.ceilingPerMinute)} orders/min`, `${formatNumber(plan.headroom.ceiling)}x the peak before the topic must be recreated`],
    ]],
  ];
  const width = Math.max(...steps.flatMap(([, rows]) => rows.map(([label]) => label.length)));
  const valueWidth = Math.max(...steps.flatMap(([, rows]) => rows.map(([, value]) => value.length)));
  const lines = ['Capacity plan (the seed\'s framework; docs/capacity.md)'];
  for (const [title, rows] of steps) {
    lines.push('', title);
    for (const [label, value, note] of rows) lines.push(`  ${label.padEnd(width)}  ${value.padEnd(valueWidth)}${note === undefined ? '' : `  ${note}`}`.trimEnd());
  }
  if (measured !== undefined) {
    lines.push('', `Measured: ${measured.run} at ${measured.measuredAt} on ${measured.machine}; ${formatNumber(measured.ordersPerSecondPerThread)} orders/s per thread.`);
    lines.push('The instance shared those cores with the broker, Postgres, the simulators and the load generator.');
  }
  return lines.join('\n');
}

export function renderJson(plan: CapacityPlan, sources: Readonly<Record<keyof CapacityInputs, Source>>, measured: MeasuredThroughput | undefined): string {
  return JSON.stringify({ ...plan, sources, ...(measured === undefined ? {} : { measured }) }, null, 2);
}
