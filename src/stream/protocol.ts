// Messages between the kafka (main) thread and the stream threads, and between the
// HTTP thread and the stream threads (interactive queries). Batch-first: records of a
// partition travel together, never one message per record. Failures travel as
// WireErrors (src/errors.ts), so they keep their code and recovery class.
import type { WireError } from '../errors.js';
import type { RestoreBatch } from './restore-batch.js';

/** A consumed record handed to the task that owns its partition. */
export interface InputRecord {
  readonly topic: string;
  readonly offset: number;
  readonly key: string | null;
  readonly value: Uint8Array | null;
  /**
   * The record's time: its Kafka timestamp (TIMESTAMP_EXTRACTOR=record), or the wall
   * clock when the kafka thread took the batch (wallclock, the original's setting).
   */
  readonly timestamp: number;
}

/** A record a task wants produced inside the current transaction. */
export interface OutputRecord {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  readonly value: Uint8Array | null;
  readonly headers?: readonly Record<string, string>[];
}

export interface ChangelogPosition {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to restore from. */
  readonly offset: number;
}

export interface TaskConfig {
  readonly partition: number;
  readonly applicationId: string;
  readonly stateDir: string;
  readonly joinWindowMs: number;
  /** The longest a join entry waits for the other side's input to pass its window (JOIN_MAX_WAIT_MS). */
  readonly joinMaxWaitMs: number;
  /** Partitions of every co-partitioned topic, `orders` (the decisions' sink) included. */
  readonly numPartitions: number;
  /** Partitions of recovererDLQ: a dead letter keeps its partition when the DLQ has it, else goes by key. */
  readonly dlqPartitions: number;
  /** Forward join inputs that arrived on another partition than their key's (REPARTITION_INPUTS). */
  readonly repartitionInputs: boolean;
}

export type StreamRequest =
  /**
   * Open (or reopen) the task's stores; answers where each changelog must be restored
   * from. A standby task keeps a warm copy of another instance's stores: it is only
   * ever fed changelog records, never processes, and has no cache slice.
   */
  | { readonly type: 'open'; readonly task: TaskConfig; readonly standby?: boolean }
  /** A standby made active in place (stores kept open): answers where its restore starts. */
  | { readonly type: 'promote'; readonly partition: number }
  /**
   * Apply changelog records to the stores (restore, or a standby's update), directly,
   * outside the cache. `positions`: the next offset of each changelog after them, for
   * the checkpoint (written now and then, so a crash mid-restore resumes near where
   * it stopped).
   */
  | { readonly type: 'restore'; readonly partition: number; readonly batch: RestoreBatch; readonly positions: readonly ChangelogPosition[] }
  /** Restore is complete: the task starts RUNNING. */
  | { readonly type: 'restored'; readonly partition: number }
  | { readonly type: 'process'; readonly partition: number; readonly records: readonly InputRecord[] }
  /** Flush the cache: answers the changelog records of the transaction about to commit. */
  | { readonly type: 'prepareCommit'; readonly partition: number }
  /** The transaction committed: write the prepared batch and the checkpoint. */
  | { readonly type: 'postCommit'; readonly partition: number; readonly changelogEnd: readonly ChangelogPosition[] }
  /** The transaction aborted: drop what is not committed and go on from the committed stores. */
  | { readonly type: 'rollback'; readonly partition: number }
  /** Close the task; dirty = drop what is not committed (abort, fencing, lost). */
  | { readonly type: 'close'; readonly partition: number; readonly dirty: boolean }
  /** Delete the task's stores and checkpoint (corrupted): the next open restores from scratch. */
  | { readonly type: 'wipe'; readonly task: TaskConfig }
  /** Stats of every task of this thread. */
  | { readonly type: 'stats' }
  /**
   * Several tasks' requests of one phase in one message (StreamThreads.runEach): each
   * runs as if sent alone, and each answers on its own (EachResult), in order.
   */
  | { readonly type: 'each'; readonly requests: readonly TaskRequest[] };

/** The per-task requests of the stream loop's hot path, which go to a thread together ('each'). */
export type TaskRequest = Extract<StreamRequest, { readonly type: 'process' | 'prepareCommit' | 'postCommit' }>;

/** One request's outcome within an 'each': its answer, or its failure as it would have been thrown. */
export type EachResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: WireError };

export interface OpenResult {
  readonly restoreFrom: readonly ChangelogPosition[];
}

export interface ProcessResult {
  readonly outputs: readonly OutputRecord[];
  readonly processed: number;
  readonly skipped: number;
  /** Records whose key hashes to another partition than the one they arrived on, by topic. */
  readonly mispartitioned: Readonly<Record<string, number>>;
  /** Of those, the ones forwarded to their key's partition through a repartition topic. */
  readonly forwarded: number;
  /** Decisions not made again for an order already decided (a participant's repeated answer). */
  readonly duplicates: number;
}

export interface PrepareCommitResult {
  readonly changelog: readonly OutputRecord[];
}

export interface TaskStats {
  readonly partition: number;
  readonly state: string;
  readonly storeBytes: number;
  readonly cacheHits: number;
  readonly cacheMisses: number;
  readonly cacheEntries: number;
  readonly processed: number;
  readonly skipped: number;
}

/** HTTP thread → stream thread, over a MessagePort given to each at start. */
export type QueryRequest =
  | { readonly id: number; readonly type: 'get'; readonly partition: number; readonly key: string }
  | { readonly id: number; readonly type: 'range'; readonly partition: number; readonly offset: number; readonly limit: number };

export type QueryResponse =
  | {
      readonly id: number;
      readonly ok: true;
      readonly values: readonly Uint8Array[];
      /**
       * Set only when a standby task answered: how many changelog records its copy
       * trails by (the HTTP thread sends it on as X-Store-Lag). An active task omits it.
       */
      readonly lag?: number;
    }
  | { readonly id: number; readonly ok: false; readonly code: 'not-owned' | 'restoring'; readonly message: string }
  | { readonly id: number; readonly ok: false; readonly code: 'error'; readonly message: string; readonly error: WireError };
