// What one multi-instance fault run measured: the whole run's audit (the fields of a
// single-instance ScenarioResult: accepted, lost, duplicated, views) and a row per
// fault. Plain data, saved as JSON. Times in seconds; a figure that could not be
// taken is null, one whose event never came is 'never'.
import type { ScenarioResult } from './result.js';

export type Seconds = number | 'never' | null;

export interface ClusterFaultResult {
  readonly name: string;
  readonly title: string;
  /** What it hit: an instance, `node-<n>`, `postgres`. */
  target: string;
  /** The window, in seconds after the load started; the interval runs to the next fault's start (or the load's end). */
  startS: number;
  endS: number;
  untilS: number;
  /** Partitions served by other instances at some moment of the interval than at its start (store probes). */
  moved: number[];
  /** Per partition: seconds from the fault's start to the first decision of an order on it POSTed since; null: none. */
  decisionsBackS: (number | null)[];
  /** Per partition: seconds from the fault's start until an instance that had not served it did (moved partitions only; null: not moved or never). */
  newOwnerS: (number | null)[];
  /**
   * The moved tasks serving again: the worst, over the moved partitions, of the later
   * of their first decision (decisionsBackS) and their new owner's store (newOwnerS);
   * allBackS: the worst first decision over all partitions.
   */
  movedBackS: Seconds;
  allBackS: Seconds;
  /** Per partition: the longest time in the interval no instance's store served it. */
  storeGapS: number[];
  /** From the fault's end to the first decision of an order POSTed since its start (as the single-instance tests time it). */
  recoveryS: number | null;
  /** Each instance's readiness 'streams DOWN' spans in the interval (rebalancing or restoring). */
  rebalances: { instance: string; startS: number; s: number }[];
  /** The assignments the instances logged in the interval ('tasks assigned and restored'): when, and the partitions. */
  assignments: { instance: string; atS: number; partitions: number[] }[];
  /** Restores the instances logged in the interval. */
  restores: { instance: string; records: number; s: number | null }[];
  /** Records restored per second over the interval's finished restores; null: none (or none logged). */
  restoreRatePerS: number | null;
  /** Partitions the fault's target instance serves at the interval's end (it rejoined); empty for other targets. */
  targetServing: number[];
  /** Probe moments at which two instances answered for one partition. */
  doubleServed: number;
  /** POSTs in the interval: accepted, and the others by status or error. */
  posts: { accepted: number; refused: Record<string, number>; failed: Record<string, number> };
  sigterm: { exitCode: number | null; exitS: number } | null;
  errors: string[];
}

export interface ClusterResult extends ScenarioResult {
  readonly faults: ClusterFaultResult[];
  /** The store read at every running instance for a sample of decided orders: how each answered. */
  storeAnyInstance: Record<string, number>;
  /** The replication factor the service's topics got (`orders`). */
  ordersReplication: number | null;
}

export function emptyFault(name: string, title: string): ClusterFaultResult {
  return {
    name,
    title,
    target: '',
    startS: 0,
    endS: 0,
    untilS: 0,
    moved: [],
    decisionsBackS: [],
    newOwnerS: [],
    movedBackS: null,
    allBackS: null,
    storeGapS: [],
    recoveryS: null,
    rebalances: [],
    assignments: [],
    restores: [],
    restoreRatePerS: null,
    targetServing: [],
    doubleServed: 0,
    posts: { accepted: 0, refused: {}, failed: {} },
    sigterm: null,
    errors: [],
  };
}
