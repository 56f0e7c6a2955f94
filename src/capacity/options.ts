// The command line of `npm run plan`, parsed once into a frozen, typed object, and the
// planner's inputs drawn from it: each figure from the command line, else from the
// load report where it measures that figure, else the seed's. Pure: the tests call
// parseCapacityOptions with argument lists.
import { parseArgs } from 'node:util';
import type { MeasuredThroughput } from './load-report.js';
import { SEED_INPUTS, type CapacityInputs } from './plan.js';

export const USAGE = `npm run plan -- [--users 10000] [--orders-per-user-per-day 0.5] [--peak-multiplier 3]
  [--processing-ms 50 | --load-report bench/results/load-<time>/report.json [--load-threads 2] [--commit-mode fixed]]
  [--growth 6] [--threads-per-pod 2] [--initial-pod-share 0.33] [--min-pods 2] [--json]

Sizes the order topics' partitions and the pods for a business load, after the seed's
capacity-planning framework (docs/capacity.md). Defaults are the seed's worked example.
  --users, --orders-per-user-per-day, --peak-multiplier   the business load
  --processing-ms        what one order costs one stream thread (seed: 50 ms)
  --load-report          take that cost from bench:load's saga-saturation run instead
  --load-threads         stream threads of the measured instance (NUM_STREAM_THREADS, default 2)
  --commit-mode          which saturation run when the report has several (else the slowest)
  --growth               partitions over the minimum the peak needs (seed: 6x)
  --threads-per-pod      stream threads per pod (NUM_STREAM_THREADS; seed: 2)
  --initial-pod-share    share of the maximum pods to start with (seed: 33%)
  --min-pods             fewest pods, so one can fail (seed's HPA minimum: 2)
  --json                 the plan as JSON instead of a table`;

export class CapacityOptionsError extends Error {
  override readonly name = 'CapacityOptionsError';
}

type Figure = keyof CapacityInputs;

export interface CapacityOptions {
  readonly help: boolean;
  readonly json: boolean;
  /** Figures given on the command line; the rest come from the report or the seed. */
  readonly given: Readonly<Partial<CapacityInputs>>;
  readonly loadReport: string | undefined;
  readonly loadThreads: number;
  readonly commitMode: string | undefined;
}

const FLAGS: Readonly<Record<Figure, { flag: string; integer: boolean }>> = {
  users: { flag: 'users', integer: false },
  ordersPerUserPerDay: { flag: 'orders-per-user-per-day', integer: false },
  peakMultiplier: { flag: 'peak-multiplier', integer: false },
  processingMsPerOrder: { flag: 'processing-ms', integer: false },
  growthFactor: { flag: 'growth', integer: false },
  threadsPerPod: { flag: 'threads-per-pod', integer: true },
  initialPodShare: { flag: 'initial-pod-share', integer: false },
  minPods: { flag: 'min-pods', integer: true },
};

function positive(flag: string, value: string, integer: boolean): number {
  // '10,000' reads as the seed writes it.
  const n = Number(value.replaceAll(',', '').replaceAll('_', ''));
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new CapacityOptionsError(`--${flag} must be a positive ${integer ? 'integer' : 'number'}, got '${value}'`);
  return n;
}

export function parseCapacityOptions(argv: readonly string[]): CapacityOptions {
  const figureOptions = Object.fromEntries(Object.values(FLAGS).map(({ flag }) => [flag, { type: 'string' as const }]));
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        ...figureOptions,
        'load-report': { type: 'string' },
        'load-threads': { type: 'string' },
        'commit-mode': { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    throw new CapacityOptionsError((err as Error).message);
  }
  const str = (name: string): string | undefined => (typeof values[name] === 'string' ? values[name] : undefined);
  const given: Partial<Record<Figure, number>> = {};
  for (const [key, { flag, integer }] of Object.entries(FLAGS) as [Figure, (typeof FLAGS)[Figure]][]) {
    const value = str(flag);
    if (value !== undefined) given[key] = positive(flag, value, integer);
  }
  const loadReport = str('load-report');
  if (loadReport !== undefined && given.processingMsPerOrder !== undefined) {
    throw new CapacityOptionsError('--processing-ms and --load-report exclude each other: the report measures the processing time');
  }
  const loadThreads = str('load-threads');
  const commitMode = str('commit-mode');
  if (loadReport === undefined && (loadThreads !== undefined || commitMode !== undefined)) {
    throw new CapacityOptionsError('--load-threads and --commit-mode describe a --load-report');
  }
  return Object.freeze({
    help: values.help === true,
    json: values.json === true,
    given: Object.freeze(given),
    loadReport,
    loadThreads: loadThreads === undefined ? 2 : positive('load-threads', loadThreads, true),
    commitMode,
  });
}

/** Where a figure of the plan came from. */
export type Source = 'seed' | 'command line' | 'load report';

export interface PlannerInputs {
  readonly inputs: CapacityInputs;
  readonly sources: Readonly<Record<Figure, Source>>;
}

/** Each figure from the command line, else measured by the load report, else the seed's. */
export function plannerInputs(options: CapacityOptions, measured: MeasuredThroughput | undefined): PlannerInputs {
  const inputs: Record<Figure, number> = { ...SEED_INPUTS };
  const sources = Object.fromEntries(Object.keys(SEED_INPUTS).map((k) => [k, 'seed'])) as Record<Figure, Source>;
  if (measured !== undefined) {
    inputs.processingMsPerOrder = measured.processingMsPerOrder;
    sources.processingMsPerOrder = 'load report';
  }
  for (const [key, value] of Object.entries(options.given) as [Figure, number][]) {
    inputs[key] = value;
    sources[key] = 'command line';
  }
  return { inputs: Object.freeze(inputs), sources: Object.freeze(sources) };
}
