// The stream loop and its commit cycle, after Kafka Streams' StreamThread.runLoop:
//
//   loop: answer queued rebalances → poll (restoring tasks' partitions paused) →
//         dispatch each partition's records to the stream thread that owns its task →
//         produce their outputs in the open transaction → a step of the changelog
//         reader (restores, standbys) → every COMMIT_INTERVAL_MS: prepareCommit every
//         running task (changelog records into the transaction) →
//         sendOffsetsToTransaction → commitTransaction → postCommit (RocksDB + checkpoint).
//
// Rebalances arrive as deltas (group-consumer.ts). Revoked: commit, then close the
// tasks that lost a partition (incremental) or suspend them all (eager). Assigned: the
// partitions are taken at once and paused; a task whose co-partitions are all here is
// created and restored by the changelog reader while this loop goes on polling, and
// its partitions are resumed once it runs. Rebalance callbacks only queue work; the
// loop handles it between batches, so a task is never revoked mid-batch.
//
// A failed cycle is recovered by the error's class (src/errors.ts recovery):
//   retry  abort the transaction (resumed until the coordinator took it), roll every
//          task back to its committed state in place, seek the consumer back to the
//          first record not committed, back off, go on. Nothing here needs the broker
//          but the abort, so a broker outage costs its own length and no more.
//   wipe   a task's state is corrupted: reopen the tasks (the task manager wipes and
//          restores the corrupted one).
//   fatal  stop the process with one clear line (an illegal state, a store that cannot
//          open, another instance holding our transactional.id).
// A dead stream thread takes its tasks' live state with it: they are reopened and
// restored on its replacement, the others roll back.
import { setTimeout as sleep } from 'node:timers/promises';
import type Kafka from 'node-rdkafka';
import type { Config } from '../config.js';
import { recoveryOf } from '../errors.js';
import type { TransactionalProducer } from '../kafka/transactional-producer.js';
import { JOIN_STORE, ORDERS_STORE, changelogTopic } from '../kafka/topics.js';
import type { Logger } from '../logger.js';
import type { ChangelogPosition, InputRecord, PrepareCommitResult, ProcessResult } from '../stream/protocol.js';
import type { EngineCounters } from './counters.js';
import { ConsumerLostError, type GroupConsumer, type Rebalance } from './group-consumer.js';
import type { StreamThreads } from './stream-threads.js';
import type { TaskManager } from './task-manager.js';
import { groupByPartition } from './thread-assignment.js';

/** Records per poll (Kafka Streams' max.poll.records is 1000 too). */
const MAX_POLL_RECORDS = 1000;
/** How long an idle poll waits for a record before the loop checks commits and rebalances. */
const POLL_WAIT_MS = 50;
/** While a task restores: how long a step of the changelog reader waits for records when the poll brought none. */
const RESTORE_WAIT_MS = 20;
/** Backoff after consecutive failed cycles: 100 ms doubling up to this. */
const MAX_BACKOFF_MS = 5000;
/** One warning per topic per this long about records on the wrong partition. */
const MISPARTITION_WARN_MS = 60_000;
/** A seek waits this long for the fetcher to drop what it prefetched from the old position. */
const SEEK_TIMEOUT_MS = 5000;
/** Stable committed offsets (KIP-447) wait for a previous owner's transaction: its timeout bounds this. */
const COMMITTED_TIMEOUT_MS = 60_000;

export interface LoopHooks {
  /** Anything about the tasks or the loop changed: the engine recomputes its state. */
  changed(): void;
  /** A replaced stream thread's new query port must reach the HTTP thread. */
  threadReplaced(thread: number): Promise<void>;
  fatal(err: unknown): void;
  /** The loop goes on while this is true. */
  active(): boolean;
}

const key = (topic: string, partition: number): string => `${topic}:${partition}`;

export class StreamLoop {
  readonly #config: Config;
  readonly #log: Logger;
  readonly #threads: StreamThreads;
  readonly #consumer: GroupConsumer;
  readonly #producer: TransactionalProducer;
  readonly #tasks: TaskManager;
  readonly #hooks: LoopHooks;
  readonly #counters: EngineCounters;
  readonly #sources: readonly string[];
  /** Next offset to commit, per `topic:partition`, of what was processed since the last commit. */
  readonly #consumed = new Map<string, Kafka.TopicPartitionOffset>();
  /** The first offset taken from the consumer since the last commit: where a rollback seeks back to. */
  readonly #uncommittedFrom = new Map<string, Kafka.TopicPartitionOffset>();
  /** Partitions the group gave this member, by `topic:partition`. */
  readonly #assigned = new Map<string, Kafka.TopicPartition>();
  /** Stream threads that died since the last recovery; their tasks must be reopened. */
  readonly #lostThreads = new Set<number>();
  readonly #lastMispartitionWarning = new Map<string, number>();
  /** When each task was assigned, for the rebalance duration logged when it runs. */
  readonly #assignedAt = new Map<number, number>();
  #standbysWanted: readonly number[] | undefined;
  /** After the consumer was replaced: tasks the new assignment leaves out are closed. */
  #replaced = false;
  #lastCommit = Date.now();
  #failures = 0;
  /** Set when recovery itself failed: the loop retries it before consuming anything. */
  #recoveryPending: { reopen: boolean } | undefined;

  constructor(
    config: Config,
    log: Logger,
    parts: { threads: StreamThreads; consumer: GroupConsumer; producer: TransactionalProducer; tasks: TaskManager; sources: readonly string[] },
    counters: EngineCounters,
    hooks: LoopHooks,
  ) {
    this.#config = config;
    this.#log = log;
    this.#threads = parts.threads;
    this.#consumer = parts.consumer;
    this.#producer = parts.producer;
    this.#tasks = parts.tasks;
    this.#sources = parts.sources;
    this.#counters = counters;
    this.#hooks = hooks;
  }

  /** True while the group has not settled this member's tasks (a rebalance queued, a task not yet running). */
  get rebalancing(): boolean {
    return this.#tasks.active().some((p) => this.#tasks.stateOf(p) !== 'RUNNING') || this.#recoveryPending !== undefined;
  }

  threadLost(thread: number): void {
    this.#lostThreads.add(thread);
  }

  /** Standby tasks to keep (applied by the loop between batches). */
  setStandbys(partitions: readonly number[]): void {
    this.#standbysWanted = partitions;
  }

  async run(): Promise<void> {
    while (this.#hooks.active()) {
      try {
        await this.#handleRebalances();
        if (this.#recoveryPending !== undefined || this.#lostThreads.size > 0) {
          await this.#recoverTasks(this.#recoveryPending?.reopen ?? false);
          continue;
        }
        if (this.#standbysWanted !== undefined) {
          const wanted = this.#standbysWanted;
          this.#standbysWanted = undefined;
          await this.#tasks.setStandbys(wanted);
        }
        const restoring = this.#tasks.restoring().length > 0;
        const messages = await this.#consumer.poll(MAX_POLL_RECORDS, restoring ? 0 : POLL_WAIT_MS);
        if (messages.length > 0) await this.#process(messages);
        await this.#restoreStep(restoring && messages.length === 0 ? RESTORE_WAIT_MS : 0);
        if (Date.now() - this.#lastCommit >= this.#config.commitIntervalMs) await this.#commit();
      } catch (err) {
        await this.#recover(err);
      }
    }
  }

  #partitionsOf(tasks: readonly number[]): Kafka.TopicPartition[] {
    return tasks.flatMap((partition) => this.#sources.filter((topic) => this.#assigned.has(key(topic, partition))).map((topic) => ({ topic, partition })));
  }

  async #restoreStep(waitMs: number): Promise<void> {
    const running = await this.#tasks.restoreStep(waitMs);
    if (running.length === 0) return;
    this.#resumeTasks(running);
    this.#hooks.changed();
  }

  #resumeTasks(tasks: readonly number[]): void {
    this.#consumer.resume(this.#partitionsOf(tasks));
    const now = Date.now();
    const durations = tasks.map((p) => ({ task: `0_${p}`, ms: now - (this.#assignedAt.get(p) ?? now) }));
    for (const p of tasks) this.#assignedAt.delete(p);
    this.#log.info({ tasks: durations }, 'tasks running');
  }

  async #process(messages: Kafka.Message[]): Promise<void> {
    // A paused partition may still hand over what was fetched before it was paused:
    // such records are not processed, and the partition is rewound to the first of them.
    const strays = new Map<string, Kafka.TopicPartitionOffset>();
    const live: Kafka.Message[] = [];
    for (const m of messages) {
      const k = key(m.topic, m.partition);
      if (this.#tasks.stateOf(m.partition) === 'RUNNING' && this.#assigned.has(k)) live.push(m);
      else if (!strays.has(k)) strays.set(k, { topic: m.topic, partition: m.partition, offset: m.offset });
    }
    for (const position of strays.values()) if (this.#assigned.has(key(position.topic, position.partition))) await this.#consumer.seek(position, SEEK_TIMEOUT_MS);
    if (live.length === 0) return;
    // Before anything can fail: where a rollback must seek back to.
    for (const m of live) {
      const k = key(m.topic, m.partition);
      if (!this.#uncommittedFrom.has(k)) this.#uncommittedFrom.set(k, { topic: m.topic, partition: m.partition, offset: m.offset });
    }
    // The join's clock (TIMESTAMP_EXTRACTOR). By default the record's own Kafka
    // timestamp: a replay after a crash or an outage then joins exactly what the live
    // run would have, whereas processing time puts an answer processed before a crash
    // and its partner replayed after it further apart than the window, and the order
    // is never decided. `wallclock` is the original's WallclockTimestampExtractor.
    const now = Date.now();
    const recordTime = this.#config.timestampExtractor === 'record';
    await this.#producer.begin();
    const results = await Promise.all(
      [...groupByPartition(live)].map(async ([partition, batch]) => {
        const records: InputRecord[] = batch.map((m) => ({
          topic: m.topic,
          offset: m.offset,
          key: m.key === null || m.key === undefined ? null : m.key.toString(),
          value: m.value ?? null,
          // No valid timestamp (an old producer's -1): the wall clock stands in.
          timestamp: recordTime && m.timestamp !== undefined && m.timestamp > 0 ? m.timestamp : now,
        }));
        return this.#threads.run<ProcessResult>(partition, { type: 'process', partition, records });
      }),
    );
    for (const r of results) {
      await this.#producer.send(r.outputs);
      this.#counters.processed += r.processed;
      this.#counters.skipped += r.skipped;
      this.#counters.forwarded += r.forwarded;
      for (const [topic, n] of Object.entries(r.mispartitioned)) this.#mispartitioned(topic, n);
    }
    for (const m of live) this.#consumed.set(key(m.topic, m.partition), { topic: m.topic, partition: m.partition, offset: m.offset + 1 });
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

  async commit(): Promise<void> {
    await this.#commit();
  }

  async #commit(): Promise<void> {
    this.#lastCommit = Date.now();
    if (this.#consumed.size === 0) return;
    const started = process.hrtime.bigint();
    const lap = (phase: keyof EngineCounters['commitPhases'], since: bigint): bigint => {
      const now = process.hrtime.bigint();
      this.#counters.commitPhases[phase] += Number(now - since) / 1e9;
      return now;
    };
    const running = this.#tasks.running();
    await this.#producer.begin();
    const prepared = await Promise.all(running.map((partition) => this.#threads.run<PrepareCommitResult>(partition, { type: 'prepareCommit', partition })));
    for (const p of prepared) await this.#producer.send(p.changelog);
    let t = lap('prepare', started);
    await this.#producer.flush();
    t = lap('flush', t);
    await this.#producer.commit([...this.#consumed.values()], this.#consumer.client);
    t = lap('transaction', t);
    this.#consumed.clear();
    this.#uncommittedFrom.clear();
    const ends = this.#producer.takeEnds();
    try {
      await Promise.all(
        running.map((partition) => {
          const changelogEnd: ChangelogPosition[] = [];
          for (const topic of this.#changelogs()) {
            const offset = ends.get(key(topic, partition));
            if (offset !== undefined) changelogEnd.push({ topic, partition, offset });
          }
          return this.#threads.run(partition, { type: 'postCommit', partition, changelogEnd });
        }),
      );
    } catch (err) {
      // Committed, but not (all) in the stores: a rollback would lose committed state.
      // Reopening restores the stores from their changelogs past the checkpoint.
      this.#recoveryPending = { reopen: true };
      throw err;
    }
    lap('postCommit', t);
    this.#counters.commits++;
    this.#counters.commitSeconds += Number(process.hrtime.bigint() - started) / 1e9;
    this.#failures = 0;
  }

  #changelogs(): string[] {
    return [changelogTopic(this.#config.applicationId, ORDERS_STORE), changelogTopic(this.#config.applicationId, JOIN_STORE)];
  }

  async #handleRebalances(): Promise<void> {
    let handled = false;
    for (let r = this.#consumer.takeRebalance(); r !== undefined; r = this.#consumer.takeRebalance()) {
      handled = true;
      if (r.assign) await this.#onAssigned(r);
      else await this.#onRevoked(r);
    }
    if (handled) this.#hooks.changed();
  }

  /**
   * Partitions taken away. Whatever was processed is committed first (one transaction
   * covers every task), then the tasks that lost a partition are closed (incremental)
   * or every task is suspended (eager: the next assignment may give them back). If the
   * commit fails (the partitions were lost: another member may own them already), the
   * revoked tasks are closed dirty and the others roll back.
   */
  async #onRevoked(r: Rebalance): Promise<void> {
    const revoked = r.incremental ? r.assignment : [...this.#assigned.values()];
    const affected = [...new Set(revoked.map((a) => a.partition))].filter((p) => this.#tasks.stateOf(p) !== undefined && this.#tasks.stateOf(p) !== 'STANDBY');
    let clean = this.#recoveryPending === undefined;
    if (clean) {
      try {
        await this.#commit();
      } catch (err) {
        clean = false;
        this.#log.warn({ err, tasks: affected }, 'commit on revocation failed: closing the revoked tasks dirty, rolling the others back');
      }
    }
    if (!clean) {
      await this.#producer.abort().catch((err: unknown) => this.#log.warn({ err }, 'abort on revocation failed'));
      this.#consumed.clear();
    }
    if (r.incremental || !clean) {
      await this.#tasks.close(affected, !clean);
    } else {
      // Eager: restoring tasks are closed (their restore position is checkpointed); running ones wait, committed.
      await this.#tasks.close(
        affected.filter((p) => this.#tasks.stateOf(p) !== 'RUNNING'),
        false,
      );
      this.#tasks.suspend(affected.filter((p) => this.#tasks.stateOf(p) === 'RUNNING'));
    }
    for (const a of revoked) {
      const k = key(a.topic, a.partition);
      this.#assigned.delete(k);
      this.#consumed.delete(k);
      this.#uncommittedFrom.delete(k);
    }
    for (const p of affected) this.#assignedAt.delete(p);
    this.#consumer.unassign(r);
    if (!clean && this.#tasks.running().length > 0) this.#recoveryPending = { reopen: false };
    this.#log.info({ revoked: affected.map((p) => `0_${p}`), incremental: r.incremental, clean }, 'rebalance: tasks revoked');
  }

  /**
   * Partitions added. They are taken at once (librdkafka waits for it) and paused; a
   * task whose co-partitions are all here is created (or, suspended, resumed) and
   * restored by the changelog reader; its partitions resume when it runs. Before a task
   * restores, the group's committed offsets of its partitions are read as stable
   * offsets: that waits out a transaction the previous owner left open, so the
   * changelogs' end cannot move under the restore.
   */
  async #onAssigned(r: Rebalance): Promise<void> {
    this.#consumer.assign(r);
    for (const a of r.assignment) this.#assigned.set(key(a.topic, a.partition), { topic: a.topic, partition: a.partition });
    const now = Date.now();
    const candidates = [...new Set([...this.#assigned.values()].map((a) => a.partition))].sort((a, b) => a - b);
    const complete = candidates.filter((p) => this.#sources.every((topic) => this.#assigned.has(key(topic, p))));
    const partial = candidates.filter((p) => !complete.includes(p));
    if (partial.length > 0) {
      this.#log.warn(
        { tasks: partial.map((p) => `0_${p}`) },
        'the group assigned only some of these tasks\' co-partitioned topics here: they wait, paused, for the rest (the assignor must keep co-partitions together: GROUP_PROTOCOL=consumer uses the broker\'s range assignor)',
      );
    }
    // Eager: suspended tasks given back resume; the others are closed.
    const suspended = this.#tasks.suspended();
    const resumed = suspended.filter((p) => complete.includes(p));
    await this.#tasks.close(
      suspended.filter((p) => !complete.includes(p)),
      false,
    );
    if (resumed.length > 0) this.#tasks.resumeSuspended(resumed);
    // After a replaced consumer: tasks kept open (rolled back) that this assignment leaves out.
    if (this.#replaced) {
      this.#replaced = false;
      const gone = this.#tasks.active().filter((p) => !complete.includes(p) && !partial.includes(p));
      if (gone.length > 0) await this.#tasks.close(gone, true);
    }
    const create = complete.filter((p) => {
      const s = this.#tasks.stateOf(p);
      return s === undefined || s === 'STANDBY';
    });
    this.#consumer.pause(this.#partitionsOf([...partial, ...create]));
    for (const p of create) this.#assignedAt.set(p, now);
    let stableOffsetsMs = 0;
    if (create.length > 0) {
      await this.#consumer.committed(this.#partitionsOf(create), COMMITTED_TIMEOUT_MS);
      stableOffsetsMs = Date.now() - now;
      await this.#tasks.createActive(create);
    }
    this.#log.info(
      {
        created: create.map((p) => `0_${p}`),
        resumed: resumed.map((p) => `0_${p}`),
        restoring: this.#tasks.restoring().map((p) => `0_${p}`),
        incremental: r.incremental,
        stableOffsetsMs,
      },
      'rebalance: tasks assigned',
    );
  }

  /** Classifies a failed cycle and recovers from it (see the head of this file). */
  async #recover(err: unknown): Promise<void> {
    this.#counters.aborts++;
    const recovery = recoveryOf(err);
    if (recovery === 'fatal') {
      this.#hooks.fatal(err);
      return;
    }
    this.#failures++;
    this.#log.warn({ err, recovery, failures: this.#failures }, 'commit cycle failed: aborting the transaction and rolling tasks back to their committed state');
    // The failed consumer cannot seek; its replacement starts from the committed offsets.
    if (err instanceof ConsumerLostError) this.#uncommittedFrom.clear();
    await this.#recoverTasks(recovery === 'wipe' || (this.#recoveryPending?.reopen ?? false));
    if (err instanceof ConsumerLostError && this.#hooks.active()) await this.#replaceConsumer();
  }

  /**
   * Every partition is lost with the failed consumer (Kafka Streams' handleLostAll),
   * but the tasks are rolled back already and kept open: the new member normally gets
   * the same partitions back (static membership), and #onAssigned closes the others.
   */
  async #replaceConsumer(): Promise<void> {
    this.#assigned.clear();
    this.#consumed.clear();
    this.#uncommittedFrom.clear();
    this.#replaced = true;
    this.#hooks.changed();
    try {
      await this.#consumer.replace();
    } catch (err) {
      this.#hooks.fatal(err);
    }
  }

  /**
   * Aborts the open transaction, then brings the tasks back to their committed state:
   * rolled back in place, or reopened (restored) when a thread died with them, a store
   * is corrupted, or a commit was not applied. Then the consumer seeks back to the
   * first record not committed. Then it backs off (longer after each failure in a
   * row, so a failure that repeats does not spin); if any of it fails, the loop tries
   * again and consumes nothing meanwhile.
   */
  async #recoverTasks(reopenAll: boolean): Promise<void> {
    this.#recoveryPending = { reopen: reopenAll };
    try {
      this.#consumed.clear();
      await this.#producer.abort().catch((err: unknown) => {
        // FATAL (begin() replaces the producer) or closing; the rollback stands either way.
        this.#log.warn({ err }, 'abort failed; the producer will be replaced before the next transaction');
      });
      const lost = [...this.#lostThreads];
      this.#lostThreads.clear();
      const active = new Set(this.#tasks.active());
      const reopen = reopenAll ? [...active] : lost.flatMap((thread) => this.#tasks.onThread(thread)).filter((p) => active.has(p));
      const lostStandbys = lost.flatMap((thread) => this.#tasks.onThread(thread)).filter((p) => !active.has(p));
      for (const thread of lost) await this.#hooks.threadReplaced(thread);
      if (lostStandbys.length > 0) await this.#tasks.close(lostStandbys, true); // reopened by the next setStandbys
      if (reopen.length > 0) {
        this.#log.info({ tasks: reopen }, 'reopening tasks from their committed state');
        this.#consumer.pause(this.#partitionsOf(reopen));
        const now = Date.now();
        for (const p of reopen) this.#assignedAt.set(p, now);
        await this.#tasks.reopen(reopen);
      }
      if (!reopenAll) await this.#tasks.rollback();
      await this.#seekToCommitted();
      this.#recoveryPending = undefined;
      this.#hooks.changed();
    } catch (err) {
      if (recoveryOf(err) === 'fatal') {
        this.#hooks.fatal(err);
        return;
      }
      this.#failures++;
      this.#log.error({ err, failures: this.#failures }, 'recovering the tasks failed; retrying');
    }
    await sleep(Math.min(MAX_BACKOFF_MS, 100 * 2 ** Math.max(0, this.#failures - 1)));
  }

  /** Rewinds every partition consumed since the last commit to its first uncommitted record. */
  async #seekToCommitted(): Promise<void> {
    for (const [k, position] of this.#uncommittedFrom) {
      if (!this.#assigned.has(k)) continue;
      await this.#consumer.seek(position, SEEK_TIMEOUT_MS);
    }
    this.#uncommittedFrom.clear();
  }

  /** For close(): whether a final commit makes sense. */
  get canCommit(): boolean {
    return this.#recoveryPending === undefined && this.#lostThreads.size === 0;
  }

  /** Drops what was processed but not committed (close after a failed final commit). */
  forget(): void {
    this.#consumed.clear();
    this.#uncommittedFrom.clear();
  }
}

