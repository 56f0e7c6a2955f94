// What the kafka thread sends the HTTP thread every second for metrics and readiness
// details (the registry lives there; see src/metrics.ts).
import type { TaskStats } from '../stream/protocol.js';
import type { TaskRestoreProgress } from './changelog-reader.js';
import type { PartitionLag } from './consumer-lag.js';
import type { EngineCounters } from './counters.js';

/** A task's stats with the stream thread that runs it. */
export interface ThreadTaskStats extends TaskStats {
  readonly thread: number;
}

export interface EngineStats {
  /** Totals since start. */
  readonly counters: EngineCounters;
  readonly tasks: readonly ThreadTaskStats[];
  /** Active tasks restoring now. */
  readonly restores: readonly TaskRestoreProgress[];
  /** The group consumer's lag per assigned input partition whose position and end are known. */
  readonly consumerLag: readonly PartitionLag[];
  /** Durations (seconds) of the commits since the last stats message. */
  readonly commitSeconds: readonly number[];
  /**
   * The kafka thread's V8 heap: in use, and the limit it may grow to (its share of the
   * memory budget). The registry's default nodejs_* metrics are the HTTP thread's.
   */
  readonly kafkaThreadHeap: { readonly usedBytes: number; readonly limitBytes: number };
}
