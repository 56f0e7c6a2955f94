import { describe, expect, it } from 'vitest';
import { CapacityInputError, planCapacity, SEED_INPUTS } from '../../src/capacity/plan.js';
import { formatNumber } from '../../src/capacity/render.js';

describe('the capacity plan', () => {
  it("reproduces the seed's worked example step by step", () => {
    const plan = planCapacity(SEED_INPUTS);
    // Step 1: 10,000 users × 0.5 = 5,000 a day; /24 × 3 = 625 an hour; 10.4 a minute.
    expect(plan.business.dailyOrders).toBe(5000);
    expect(plan.business.peakOrdersPerHour).toBe(625);
    expect(formatNumber(plan.business.peakOrdersPerMinute)).toBe('10.4');
    // Step 2: 50 ms an order → 20/s, 1,200/min per thread.
    expect(plan.processing.ordersPerSecondPerThread).toBe(20);
    expect(plan.processing.ordersPerMinutePerThread).toBe(1200);
    // Step 3: 1,200/min per partition, minimum 1, recommended 6 (6x growth).
    expect(plan.partitions.capacityPerPartitionPerMinute).toBe(1200);
    expect(plan.partitions.minimum).toBe(1);
    expect(plan.partitions.recommended).toBe(6);
    // Step 4: 2 threads per pod; 3 pods at one partition per thread (the seed's min_pods),
    // start with 2, at most 6 (one per partition).
    expect(plan.pods.threadsPerPod).toBe(2);
    expect(plan.pods.onePartitionPerThread).toBe(3);
    expect(plan.pods.initial).toBe(2);
    expect(plan.pods.max).toBe(6);
  });

  it('headroom: the initial pods busy only the threads that own a partition; the ceiling is all partitions busy', () => {
    const plan = planCapacity(SEED_INPUTS);
    expect(plan.headroom.initialCapacityPerMinute).toBe(4 * 1200);
    expect(plan.headroom.ceilingPerMinute).toBe(6 * 1200);
    expect(plan.headroom.ceiling).toBeCloseTo(7200 / (625 / 60), 6);
    expect(plan.headroom.initialUtilisationAtPeak * plan.headroom.initial).toBeCloseTo(1, 9);
    // 3 pods of 2 threads on 2 partitions: 4 threads idle, 2 partitions' worth of capacity.
    const narrow = planCapacity({ ...SEED_INPUTS, growthFactor: 2, initialPodShare: 1, minPods: 3 });
    expect(narrow.pods.initial).toBe(2); // capped at one pod per partition
    expect(narrow.headroom.initialCapacityPerMinute).toBe(2 * 1200);
  });

  it('a peak beyond one thread needs more partitions, and the pods to carry it from the start', () => {
    // 1,000,000 users × 2 orders /24 × 4 peak = 333,333/h = 5,556/min; at 50 ms → 5 partitions minimum.
    const plan = planCapacity({ ...SEED_INPUTS, users: 1_000_000, ordersPerUserPerDay: 2, peakMultiplier: 4, growthFactor: 3 });
    expect(plan.business.peakOrdersPerMinute).toBeCloseTo(5555.56, 1);
    expect(plan.partitions.minimum).toBe(5);
    expect(plan.partitions.recommended).toBe(15);
    expect(plan.pods.forPeak).toBe(3);
    expect(plan.pods.initial).toBe(5); // 33% of 15
    expect(plan.pods.max).toBe(15);
    expect(plan.headroom.initial).toBeGreaterThan(1);
  });

  it('the initial pods are never fewer than the peak needs, nor than minPods', () => {
    // 5 partitions minimum, growth 1: 33% of 5 is 2 pods, the peak needs 3.
    const plan = planCapacity({ ...SEED_INPUTS, users: 1_000_000, ordersPerUserPerDay: 2, peakMultiplier: 4, growthFactor: 1 });
    expect(plan.pods.initial).toBe(3);
    expect(plan.headroom.initialUtilisationAtPeak).toBeLessThanOrEqual(1);
    expect(planCapacity({ ...SEED_INPUTS, minPods: 4 }).pods.initial).toBe(4);
  });

  it('a figure that is exact stays exact (no floating-point dust rounding up)', () => {
    // 1,200/min at 50 ms is exactly one partition; 0.1 + 0.2 style dust must not make it two.
    const plan = planCapacity({ ...SEED_INPUTS, users: 24 * 1200 * 60, ordersPerUserPerDay: 0.1 + 0.2 - 0.2, peakMultiplier: 1 / (0.1 + 0.2 - 0.2) / 1 });
    expect(plan.business.peakOrdersPerMinute).toBeCloseTo(1200, 6);
    expect(plan.partitions.minimum).toBe(1);
  });

  it('refuses inputs that plan nothing', () => {
    expect(() => planCapacity({ ...SEED_INPUTS, users: 0 })).toThrow(CapacityInputError);
    expect(() => planCapacity({ ...SEED_INPUTS, processingMsPerOrder: Number.NaN })).toThrow(/processingMsPerOrder/);
    expect(() => planCapacity({ ...SEED_INPUTS, threadsPerPod: 1.5 })).toThrow(/threadsPerPod/);
    expect(() => planCapacity({ ...SEED_INPUTS, growthFactor: 0.5 })).toThrow(/growthFactor/);
    expect(() => planCapacity({ ...SEED_INPUTS, initialPodShare: 2 })).toThrow(/initialPodShare/);
  });
});
