// The commit cycle of the stream loop, after Kafka Streams' TaskExecutor and
// TaskManager.commit: running tasks process their partitions' records inside the open
// transaction, and when the pacer says so (commit-pacer.ts: as soon as the loop has
// caught up with outputs to show, or every COMMIT_INTERVAL_MS) the cycle is closed in two phases:
//
//   prepareCommit every running task (cache flushed: changelog records into the
//   transaction) → the cycle's outputs and the changelog records sent, while
//   sendOffsetsToTransaction runs beside them → commitTransaction (which waits for every
//   record's acknowledgement) →
//   postCommit every task (the same changes into RocksDB, now and then a checkpoint).
//
// The outputs (decisions on `orders`, dead letters, repartitioned records) are held
// in memory until the commit, instead of being sent as they are processed (what Kafka
// Streams does). A read_committed reader stops at the first offset of an open
// transaction (the last stable offset), and the decisions go to `orders`, where the
// outbox relay's NEW records go too: sent at once, they opened a transaction on every
// partition of `orders` with the cycle's first decision and kept it open until the
// commit ended, so a NEW record stayed invisible to the participants (and to this
// engine's own orders-store) for most of every cycle. Sent at the commit, `orders` is
// blocked only for the commit's own duration. Nothing becomes visible later than
// before: a transaction's records are visible when it commits, whenever they were
// sent. What is held is what one cycle processes, and at most a quarter of the
// transactional producer's queue budget: past that, it goes into the open transaction
// at once (a long COMMIT_INTERVAL_MS under heavy load), as everything did before.
//
// It keeps what a rollback needs: the next offset to commit per partition, and the
// first offset taken since the last commit (where the consumer seeks back to).
import type Kafka from 'node-rdkafka';
import type { Config } from '../config.js';
import type { TransactionalProducer } from '../kafka/transactional-producer.js';
import { JOIN_STORE, ORDERS_STORE, changelogTopic } from '../kafka/topics.js';
import type { Logger } from '../logger.js';
import type { ChangelogPosition, InputRecord, OutputRecord, PrepareCommitResult, ProcessResult } from '../stream/protocol.js';
import { enterStep, type EngineCounters } from './counters.js';
import type { GroupConsumer } from './group-consumer.js';
import type { StreamThreads } from './stream-threads.js';
import type { TaskManager } from './task-manager.js';
import { CommitPacer } from './commit-pacer.js';
import type { CommitTimings } from './commit-timings.js';
import { groupByPartition } from './thread-assignment.js';

/** One warning per topic per this long about records on the wrong partition. */
const MISPARTITION_WARN_MS = 60_000;
/** Exactly once: the changelogs' ends are read this often, or after this many changelog records (a task's checkpoint thresholds, task.ts). */
const ENDS_INTERVAL_MS = 5000;
const ENDS_RECORDS = 10_000;
const ENDS_TIMEOUT_MS = 5000;

export const partitionKey = (topic: string, partition: number): string => `${topic}:${partition}`;

interface PartitionSpan {
  readonly topic: string;
  readonly partition: number;
  first: number;
  last: number;
}

/** The first and last offset of each `topic:partition` in a batch, keyed as partitionKey. */
export function partitionSpans(records: readonly Pick<Kafka.Message, 'topic' | 'partition' | 'offset'>[]): Map<string, PartitionSpan> {
  const spans = new Map<string, PartitionSpan>();
  let current: PartitionSpan | undefined;
  for (const m of records) {
    if (current === undefined || current.partition !== m.partition || current.topic !== m.topic) {
      const k = partitionKey(m.topic, m.partition);
      current = spans.get(k);
      if (current === undefined) spans.set(k, (current = { topic: m.topic, partition: m.partition, first: m.offset, last: m.offset }));
    }
    if (m.offset < current.first) current.first = m.offset;
    if (m.offset > current.last) current.last = m.offset;
  }
  return spans;
}

export class CommitCycle {
  readonly #config: Config;
  readonly #log: Logger;
  readonly #threads: StreamThreads;
  readonly #producer: TransactionalProducer;
  readonly #consumer: GroupConsumer;
  readonly #tasks: TaskManager;
  readonly #counters: EngineCounters;
  readonly #timings: CommitTimings;
  /** Next offset to commit, per `topic:partition`, of what was processed since the last commit. */
  readonly #consumed = new Map<string, Kafka.TopicPartitionOffset>();
  /** The first offset taken from the consumer since the last commit: where a rollback seeks back to. */
  readonly #uncommittedFrom = new Map<string, Kafka.TopicPartitionOffset>();
  readonly #lastMispartitionWarning = new Map<string, number>();
  readonly #pacer: CommitPacer;
  /** Outputs of what was processed since the last commit, sent with the commit (see the head of this file). */
  #outputs: (readonly OutputRecord[])[] = [];
  #outputBytes = 0;
  /** Outputs were made since the last commit (held or already sent): the pacer commits early only for them. */
  #outputsSinceCommit = false;
  readonly #maxHeldOutputBytes: number;
  /** A transaction committed but its postCommit failed: the stores lack committed state, reopen them. */
  #reopenRequired = false;
  /** When the open transaction took its first records (Date.now()). */
  #openedAt: number | undefined;
  /** Exactly once: changelog ends read after a commit, handed to the tasks with the next one (#askEnds). */
  readonly #candidateEnds = new Map<string, number>();
  /** Bumped whenever partitions may have changed hands or state was rolled back: ends read before are dropped. */
  #endsEpoch = 0;
  #endsQuery: Promise<void> | undefined;
  #endsAskedAt = 0;
  #changelogSinceAsked = 0;
  /** The last commit's phases in ms (open: from its first records to the commit's start), and the partitions whose offsets it committed (logged after a run of failures). */
  lastCommit: { readonly openMs: number; readonly prepareMs: number; readonly transactionMs: number; readonly postCommitMs: number; readonly partitions: number } | undefined;


  constructor(
    config: Config,
    log: Logger,
    parts: { threads: StreamThreads; producer: TransactionalProducer; consumer: GroupConsumer; tasks: TaskManager },
    counters: EngineCounters,
    timings: CommitTimings,
  ) {
    this.#config = config;
    this.#log = log;
    this.#threads = parts.threads;
    this.#producer = parts.producer;
    this.#consumer = parts.consumer;
    this.#tasks = parts.tasks;
    this.#counters = counters;
    this.#timings = timings;
    this.#maxHeldOutputBytes = (config.memory.kafkaKbytes.transactionalProducer * 1024) / 4;
    this.#pacer = new CommitPacer({ mode: config.commitMode, intervalMs: config.commitIntervalMs, minIntervalMs: config.commitMinIntervalMs }, Date.now());
  }

  /** Whether to commit now; `caughtUp`: the last poll brought less than a full batch. */
  due(caughtUp: boolean): boolean {
    return this.#pacer.due(Date.now(), caughtUp, this.#consumed.size > 0, this.#outputsSinceCommit);
  }

  get reopenRequired(): boolean {
    return this.#reopenRequired;
  }

  /** Taken by the recovery that reopens the tasks. */
  takeReopenRequired(): boolean {
    const r = this.#reopenRequired;
    this.#reopenRequired = false;
    return r;
  }

  /** Records of running tasks into the open transaction (their outputs held for its commit). */
  async process(live: readonly Kafka.Message[]): Promise<void> {
    // Before anything can fail: where a rollback must seek back to. Per partition, the
    // first and last record of this batch (a poll returns a partition's records in
    // order); one key per run of records of the same partition, not one per record.
    const spans = partitionSpans(live);
    for (const [k, span] of spans) {
      if (!this.#uncommittedFrom.has(k)) this.#uncommittedFrom.set(k, { topic: span.topic, partition: span.partition, offset: span.first });
    }
    // The join's clock (TIMESTAMP_EXTRACTOR). By default the record's own Kafka
    // timestamp: a replay after a crash or an outage then joins exactly what the live
    // run would have, whereas processing time puts an answer processed before a crash
    // and its partner replayed after it further apart than the window, and the order
    // is never decided. `wallclock` is the original's WallclockTimestampExtractor.
    const now = Date.now();
    const recordTime = this.#config.timestampExtractor === 'record';
    enterStep(this.#counters, 'process:begin');
    await this.#producer.begin();
    enterStep(this.#counters, 'process:tasks');
    const results = await this.#threads.runEach<ProcessResult>(
      [...groupByPartition(live)].map(([partition, batch]) => {
        const records: InputRecord[] = batch.map((m) => ({
          topic: m.topic,
          offset: m.offset,
          key: m.key === null || m.key === undefined ? null : m.key.toString(),
          value: m.value ?? null,
          // No valid timestamp (an old producer's -1): the wall clock stands in.
          timestamp: recordTime && m.timestamp !== undefined && m.timestamp > 0 ? m.timestamp : now,
        }));
        return { type: 'process', partition, records };
      }),
    );
    for (const r of results) {
      if (r.outputs.length > 0) this.#hold(r.outputs);
      this.#counters.processed += r.processed;
      this.#counters.skipped += r.skipped;
      this.#counters.forwarded += r.forwarded;
      this.#counters.duplicateDecisions += r.duplicates;
      for (const [topic, n] of Object.entries(r.mispartitioned)) this.#mispartitioned(topic, n);
    }
    if (this.#outputBytes > this.#maxHeldOutputBytes) {
      enterStep(this.#counters, 'process:send');
      await this.#sendHeld();
    }
    this.#openedAt ??= now;
    for (const [k, span] of spans) this.#consumed.set(k, { topic: span.topic, partition: span.partition, offset: span.last + 1 });
  }

  #hold(outputs: readonly OutputRecord[]): void {
    this.#outputsSinceCommit = true;
    this.#outputs.push(outputs);
    for (const o of outputs) this.#outputBytes += o.key.length + (o.value?.byteLength ?? 0);
  }

  /** Everything held goes into the open transaction now. */
  async #sendHeld(): Promise<void> {
    const outputs = this.#outputs;
    this.#outputs = [];
    this.#outputBytes = 0;
    for (const o of outputs) await this.#producer.send(o);
  }

  #mispartitioned(topic: string, n: number): void {
    this.#counters.mispartitioned[topic] = (this.#counters.mispartitioned[topic] ?? 0) + n;
    const now = Date.now();
    if (now - (this.#lastMispartitionWarning.get(topic) ?? 0) < MISPARTITION_WARN_MS) return;
    this.#lastMispartitionWarning.set(topic, now);
    this.#log.warn(
      { topic, total: this.#counters.mispartitioned[topic], repartitionInputs: this.#config.repartitionInputs },
      `records on ${topic} arrived on another partition than their key's: their producer does not partition like Kafka's default partitioner (murmur2), ` +
        (this.#config.repartitionInputs
          ? 'so they are forwarded to their key\'s partition through a repartition topic'
          : 'so its answers cannot be joined with the other side\'s; set the producer\'s partitioner to murmur2_random, or REPARTITION_INPUTS=true'),
    );
  }

  /** Commits what was processed since the last commit; false when there was nothing. */
  async commit(): Promise<boolean> {
    const startedAt = Date.now();
    let committed = false;
    try {
      committed = await this.#commit();
      return committed;
    } finally {
      this.#pacer.committed(startedAt, Date.now(), committed);
      const pacing = this.#counters.commitPacing;
      pacing.costMs = this.#pacer.costMs;
      pacing.waitMs = this.#pacer.waitMs;
    }
  }

  async #commit(): Promise<boolean> {
    if (this.#consumed.size === 0) return false;
    const started = process.hrtime.bigint();
    const phaseMs = { prepare: 0, transaction: 0, postCommit: 0 };
    const lap = (phase: keyof EngineCounters['commitPhases'], since: bigint): bigint => {
      const now = process.hrtime.bigint();
      this.#counters.commitPhases[phase] += Number(now - since) / 1e9;
      phaseMs[phase] = Number(now - since) / 1e6;
      return now;
    };
    const partitions = this.#consumed.size;
    const openMs = Date.now() - (this.#openedAt ?? Date.now());
    const running = this.#tasks.running();
    enterStep(this.#counters, 'commit:begin');
    await this.#producer.begin();
    // The consumed offsets go into the transaction while the tasks prepare and their
    // records are sent: its round trips to the coordinators overlap the prepare instead
    // of following it. Nothing is processed during a commit: the offsets are final.
    const offsets = [...this.#consumed.values()];
    const offsetsSent = this.#producer.sendOffsets(offsets, this.#consumer.client).then(
      () => undefined,
      (err: unknown) => ({ err }),
    );
    let changelogRecords = 0;
    try {
      enterStep(this.#counters, 'commit:prepare');
      const prepared = await this.#threads.runEach<PrepareCommitResult>(running.map((partition) => ({ type: 'prepareCommit', partition })));
      enterStep(this.#counters, 'commit:send');
      await this.#sendHeld();
      for (const p of prepared) {
        await this.#producer.send(p.changelog);
        changelogRecords += p.changelog.length;
      }
    } catch (err) {
      // The abort that follows is a transactional call too: never two at once.
      await offsetsSent;
      throw err;
    }
    let t = lap('prepare', started);
    enterStep(this.#counters, 'commit:transaction');
    const offsetsFailed = await offsetsSent;
    if (offsetsFailed !== undefined) throw offsetsFailed.err;
    await this.#producer.commit(offsets, this.#consumer.client, true);
    t = lap('transaction', t);
    this.#consumed.clear();
    this.#outputsSinceCommit = false;
    this.#uncommittedFrom.clear();
    this.#openedAt = undefined;
    const ends = this.#producer.exactlyOnce ? this.#takeCandidateEnds() : this.#producer.takeEnds();
    const changelogs = [changelogTopic(this.#config.applicationId, ORDERS_STORE), changelogTopic(this.#config.applicationId, JOIN_STORE)];
    enterStep(this.#counters, 'commit:postCommit');
    try {
      await this.#threads.runEach(
        running.map((partition) => {
          const changelogEnd: ChangelogPosition[] = [];
          for (const topic of changelogs) {
            const offset = ends.get(partitionKey(topic, partition));
            if (offset !== undefined) changelogEnd.push({ topic, partition, offset });
          }
          return { type: 'postCommit', partition, changelogEnd };
        }),
      );
    } catch (err) {
      // Committed, but not (all) in the stores: a rollback would lose committed state.
      // Reopening restores the stores from their changelogs past the checkpoint.
      this.#reopenRequired = true;
      throw err;
    }
    lap('postCommit', t);
    if (this.#producer.exactlyOnce) this.#askEnds(running, changelogs, changelogRecords);
    this.lastCommit = { openMs, prepareMs: Math.round(phaseMs.prepare), transactionMs: Math.round(phaseMs.transaction), postCommitMs: Math.round(phaseMs.postCommit), partitions };
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.#counters.commits++;
    this.#counters.commitSeconds += seconds;
    this.#timings.record(seconds);
    return true;
  }

  /**
   * Exactly once, where the producer has no delivery reports, a checkpoint's changelog
   * ends are the changelogs' high watermarks, read after a commit (in the background,
   * one partition at a time, every ENDS_INTERVAL_MS or ENDS_RECORDS changelog records)
   * and handed to the tasks only with the next successful commit. A high watermark read
   * then is a safe checkpoint: the changelog partition of a task has one writer, this
   * instance, while it holds the task; the records below the mark are those of
   * transactions committed by now (in the stores once that commit's postCommit ran),
   * aborted ones (which no restore reads) and markers. Whether the task stayed ours
   * until then is what the wait proves: the next commit's offsets go with this
   * member's generation, which another member's taking the partition would have ended
   * (the commit then fails), and a revocation, a rollback or a lost consumer drops what
   * was read (#dropEnds). Kafka Streams takes the same ends from each record's
   * acknowledgement, which here cost more than anything else on the kafka thread
   * (transactional-producer.ts).
   */
  #askEnds(running: readonly number[], changelogs: readonly string[], changelogRecords: number): void {
    this.#changelogSinceAsked += changelogRecords;
    if (this.#endsQuery !== undefined || running.length === 0) return;
    const now = Date.now();
    if (now - this.#endsAskedAt < ENDS_INTERVAL_MS && this.#changelogSinceAsked < ENDS_RECORDS) return;
    this.#endsAskedAt = now;
    this.#changelogSinceAsked = 0;
    const epoch = this.#endsEpoch;
    const partitions = running.flatMap((partition) => changelogs.map((topic) => ({ topic, partition })));
    this.#endsQuery = this.#producer
      .highWatermarks(partitions, ENDS_TIMEOUT_MS)
      .then(
        (ends) => {
          if (epoch === this.#endsEpoch) for (const [k, offset] of ends) this.#candidateEnds.set(k, offset);
        },
        (err: unknown) => this.#log.debug({ err }, 'changelog ends not read: the next checkpoint waits for the next reading'),
      )
      .finally(() => {
        this.#endsQuery = undefined;
      });
  }

  #takeCandidateEnds(): Map<string, number> {
    const ends = new Map(this.#candidateEnds);
    this.#candidateEnds.clear();
    return ends;
  }

  #dropEnds(): void {
    this.#endsEpoch++;
    this.#candidateEnds.clear();
  }

  /** The open transaction is gone (aborted): nothing processed since the last commit counts. */
  dropConsumed(): void {
    this.#dropEnds();
    this.#consumed.clear();
    this.#outputsSinceCommit = false;
    this.#outputs = [];
    this.#outputBytes = 0;
    this.#openedAt = undefined;
  }

  /** A partition left this member: nothing of it is committed or rewound any more. */
  forgetPartition(topic: string, partition: number): void {
    this.#dropEnds();
    const k = partitionKey(topic, partition);
    this.#consumed.delete(k);
    this.#uncommittedFrom.delete(k);
  }

  /** Everything processed since the last commit is dropped (a lost consumer, a failed final commit). */
  forget(): void {
    this.#dropEnds();
    this.#consumed.clear();
    this.#outputsSinceCommit = false;
    this.#outputs = [];
    this.#outputBytes = 0;
    this.#uncommittedFrom.clear();
    this.#openedAt = undefined;
  }

  /** Where each partition consumed since the last commit must be rewound to; then forgotten. */
  takeRewinds(): Kafka.TopicPartitionOffset[] {
    const positions = [...this.#uncommittedFrom.values()];
    this.#uncommittedFrom.clear();
    return positions;
  }
}
