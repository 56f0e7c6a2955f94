// The seed's capacity-planning framework (distributed-architecture.md, "Initial Capacity
// Planning Framework"), step by step: business load at peak, what one stream thread
// processes, partitions (fixed for the topic's life, so sized for growth), pods, and
// the headroom each leaves. Pure: the CLI and the tests call planCapacity.
//
// One partition is processed by one stream thread at a time (its records in order), so
// a partition carries at most what one thread does, and threads beyond the partition
// count stay idle: that is why partitions are the ceiling pods scale up to.

export interface CapacityInputs {
  readonly users: number;
  readonly ordersPerUserPerDay: number;
  /** Peak hour over the day's average hour (the seed's lunch/dinner rush: 3). */
  readonly peakMultiplier: number;
  /** What one order costs one stream thread, in ms (the seed assumes 50). */
  readonly processingMsPerOrder: number;
  /** Partitions over the minimum the peak needs (the seed's 6: "allows 6x growth"). */
  readonly growthFactor: number;
  readonly threadsPerPod: number;
  /** Share of the maximum pods to start with (the seed's balanced approach: 33%). */
  readonly initialPodShare: number;
  /** Never fewer pods than this, so one can fail (the seed's HPA minimum: 2). */
  readonly minPods: number;
}

/** The seed's worked example: 10,000 users, 0.5 orders a day each, 3x peak, 50 ms an order. */
export const SEED_INPUTS: CapacityInputs = Object.freeze({
  users: 10_000,
  ordersPerUserPerDay: 0.5,
  peakMultiplier: 3,
  processingMsPerOrder: 50,
  growthFactor: 6,
  threadsPerPod: 2,
  initialPodShare: 0.33,
  minPods: 2,
});

export interface CapacityPlan {
  readonly inputs: CapacityInputs;
  readonly business: {
    readonly dailyOrders: number;
    readonly peakOrdersPerHour: number;
    readonly peakOrdersPerMinute: number;
    readonly peakOrdersPerSecond: number;
  };
  readonly processing: {
    readonly ordersPerSecondPerThread: number;
    readonly ordersPerMinutePerThread: number;
  };
  readonly partitions: {
    /** Orders a minute one partition carries: one thread's worth. */
    readonly capacityPerPartitionPerMinute: number;
    readonly minimum: number;
    readonly recommended: number;
    /** Peak orders a minute on each partition once spread over the recommended count. */
    readonly peakPerPartitionPerMinute: number;
  };
  readonly pods: {
    readonly threadsPerPod: number;
    /** Pods whose threads carry the peak (every thread fully busy). */
    readonly forPeak: number;
    readonly initial: number;
    /** Pods at which each thread owns one partition (the seed's "min_pods": partitions ÷ threads). */
    readonly onePartitionPerThread: number;
    /** One per partition, as the seed's HPA maximum; more would leave every thread of a pod idle. */
    readonly max: number;
  };
  readonly headroom: {
    /** Orders a minute the initial pods process (threads with a partition only). */
    readonly initialCapacityPerMinute: number;
    /** Initial capacity over peak load: how many times today's peak the start carries. */
    readonly initial: number;
    readonly initialUtilisationAtPeak: number;
    /** Orders a minute the recommended partitions carry, all threads busy: the ceiling before a topic recreation. */
    readonly ceilingPerMinute: number;
    readonly ceiling: number;
  };
}

export class CapacityInputError extends Error {
  override readonly name = 'CapacityInputError';
}

function check(inputs: CapacityInputs): void {
  const positive: (keyof CapacityInputs)[] = ['users', 'ordersPerUserPerDay', 'peakMultiplier', 'processingMsPerOrder', 'growthFactor', 'initialPodShare'];
  for (const key of positive) {
    if (!Number.isFinite(inputs[key]) || inputs[key] <= 0) throw new CapacityInputError(`${key} must be a positive number, got ${inputs[key]}`);
  }
  for (const key of ['threadsPerPod', 'minPods'] as const) {
    if (!Number.isInteger(inputs[key]) || inputs[key] < 1) throw new CapacityInputError(`${key} must be a positive integer, got ${inputs[key]}`);
  }
  if (inputs.growthFactor < 1) throw new CapacityInputError(`growthFactor must be at least 1, got ${inputs.growthFactor}`);
  if (inputs.initialPodShare > 1) throw new CapacityInputError(`initialPodShare must be at most 1, got ${inputs.initialPodShare}`);
}

// ceil that ignores floating-point dust: 6 * 0.5 / 0.5 must stay 6, not 6.000000000000001 → 7.
const ceil = (x: number): number => Math.ceil(x - 1e-9);

export function planCapacity(inputs: CapacityInputs): CapacityPlan {
  check(inputs);
  const dailyOrders = inputs.users * inputs.ordersPerUserPerDay;
  const peakOrdersPerHour = (dailyOrders / 24) * inputs.peakMultiplier;
  const peakOrdersPerMinute = peakOrdersPerHour / 60;

  const ordersPerSecondPerThread = 1000 / inputs.processingMsPerOrder;
  const ordersPerMinutePerThread = ordersPerSecondPerThread * 60;

  const minimum = Math.max(1, ceil(peakOrdersPerMinute / ordersPerMinutePerThread));
  const recommended = ceil(minimum * inputs.growthFactor);

  const forPeak = ceil(minimum / inputs.threadsPerPod);
  const max = recommended;
  const initial = Math.min(max, Math.max(ceil(max * inputs.initialPodShare), forPeak, inputs.minPods));
  const onePartitionPerThread = ceil(recommended / inputs.threadsPerPod);

  const initialCapacityPerMinute = Math.min(initial * inputs.threadsPerPod, recommended) * ordersPerMinutePerThread;
  const ceilingPerMinute = recommended * ordersPerMinutePerThread;
  return {
    inputs,
    business: { dailyOrders, peakOrdersPerHour, peakOrdersPerMinute, peakOrdersPerSecond: peakOrdersPerMinute / 60 },
    processing: { ordersPerSecondPerThread, ordersPerMinutePerThread },
    partitions: { capacityPerPartitionPerMinute: ordersPerMinutePerThread, minimum, recommended, peakPerPartitionPerMinute: peakOrdersPerMinute / recommended },
    pods: { threadsPerPod: inputs.threadsPerPod, forPeak, initial, onePartitionPerThread, max },
    headroom: {
      initialCapacityPerMinute,
      initial: initialCapacityPerMinute / peakOrdersPerMinute,
      initialUtilisationAtPeak: peakOrdersPerMinute / initialCapacityPerMinute,
      ceilingPerMinute,
      ceiling: ceilingPerMinute / peakOrdersPerMinute,
    },
  };
}
