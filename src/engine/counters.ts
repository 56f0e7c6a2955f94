// What the stream engine counts, for metrics and the periodic stats line.
import type { TransactionCounters } from '../kafka/transactional-producer.js';

export interface EngineCounters {
  processed: number;
  skipped: number;
  commits: number;
  commitSeconds: number;
  /** Where commit time goes: tasks' prepareCommit, the transaction (acks included), postCommit. */
  commitPhases: { prepare: number; transaction: number; postCommit: number };
  /** The commit pacer's view (commit-pacer.ts), in ms: a commit's moving-average cost, the wait after a commit. */
  commitPacing: { costMs: number; waitMs: number };
  /** Failed cycles recovered by rolling back (or reopening) tasks. */
  aborts: number;
  /** Input partitions paused for holding too many records ahead of the others (stream-loop.ts). */
  flowPauses: number;
  /** Held records released because the loop held its bound of them, not in timestamp order (partition-group.ts). */
  heldReleasedPastBound: number;
  /** Records whose key hashes to another partition than the one they arrived on, by topic. */
  mispartitioned: Record<string, number>;
  /** Of those, forwarded through a repartition topic (REPARTITION_INPUTS). */
  forwarded: number;
  /** Decisions not made again for orders already decided (participants' repeated answers). */
  duplicateDecisions: number;
  /** Stream threads that died and were replaced. */
  threadsLost: number;
  /** Changelog records applied by restores and standby updates. */
  restored: number;
  transactions: TransactionCounters;
  /** What the stream loop is waiting on, and since when (epoch ms): a loop stuck in one step shows here. */
  loop: { step: string; since: number };
}

export function newCounters(transactions: TransactionCounters): EngineCounters {
  return {
    processed: 0,
    skipped: 0,
    commits: 0,
    commitSeconds: 0,
    commitPhases: { prepare: 0, transaction: 0, postCommit: 0 },
    commitPacing: { costMs: 0, waitMs: 0 },
    aborts: 0,
    flowPauses: 0,
    heldReleasedPastBound: 0,
    mispartitioned: {},
    forwarded: 0,
    duplicateDecisions: 0,
    threadsLost: 0,
    restored: 0,
    transactions,
    loop: { step: 'start', since: Date.now() },
  };
}

/** The stream loop enters a step that may wait (on the broker, a stream thread, a restore). */
export function enterStep(counters: EngineCounters, step: string): void {
  counters.loop.step = step;
  counters.loop.since = Date.now();
}
