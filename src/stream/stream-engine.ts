// The stream engine on the kafka (main) thread: the group consumer, the transactional
// producer and the commit cycle, after Kafka Streams' StreamThread.runLoop:
//
//   loop: handle queued rebalances → poll → dispatch each partition's records to the
//         stream thread that owns its task → produce their outputs in the open
//         transaction → every COMMIT_INTERVAL_MS: prepareCommit every task (changelog
//         records into the transaction) → sendOffsetsToTransaction → commitTransaction
//         → postCommit every task (RocksDB + checkpoint).
//
// Tasks come from the group's assignment (range assignor: the same partition number of
// every co-partitioned topic lands on the same member). Rebalance callbacks only queue
// work; the loop handles it between batches, so a task is never revoked mid-batch.
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
import type { MessagePort } from 'node:worker_threads';
import type Kafka from 'node-rdkafka';
import type { Config } from '../config.js';
import { EngineError, recoveryOf } from '../errors.js';
import type { KafkaHealth } from '../kafka/kafka-health.js';
import { ConsumerLostError, GroupConsumer } from '../kafka/group-consumer.js';
import { TransactionalProducer, type TransactionCounters } from '../kafka/transactional-producer.js';
import { JOIN_INPUTS, JOIN_STORE, ORDERS_STORE, TOPIC_ORDERS, changelogTopic, repartitionTopic } from '../kafka/topics.js';
import type { Logger } from '../logger.js';
import type { ChangelogPosition, InputRecord, PrepareCommitResult, ProcessResult, TaskStats } from './protocol.js';
import { TaskManager } from './task-manager.js';
import type { StreamThreads } from './stream-threads.js';
import { groupByPartition } from './thread-assignment.js';

/** Records per poll (Kafka Streams' max.poll.records is 1000 too). */
const MAX_POLL_RECORDS = 1000;
/** How long an idle poll waits for a record before the loop checks commits and rebalances. */
const POLL_WAIT_MS = 50;
/** Backoff after consecutive failed cycles: 100 ms doubling up to this. */
const MAX_BACKOFF_MS = 5000;
/** One warning per topic per this long about records on the wrong partition. */
const MISPARTITION_WARN_MS = 60_000;
/** A seek waits this long for the fetcher to drop what it prefetched from the old position. */
const SEEK_TIMEOUT_MS = 5000;

export type EngineState = 'CREATED' | 'REBALANCING' | 'RUNNING' | 'PENDING_SHUTDOWN' | 'NOT_RUNNING' | 'ERROR';

export interface TaskInfo {
  readonly partition: number;
  readonly thread: number;
  readonly state: 'RESTORING' | 'RUNNING';
}

export interface EngineEvents {
  onTasksChanged(state: EngineState, tasks: readonly TaskInfo[]): void;
  /** A stream thread was replaced: its new query port, for the HTTP thread. */
  onQueryPort(thread: number, port: MessagePort): void;
  onFatal(err: Error): void;
}

export interface EngineCounters {
  processed: number;
  skipped: number;
  commits: number;
  commitSeconds: number;
  /** Where commit time goes: tasks' prepareCommit, producer flush, the transaction, postCommit. */
  commitPhases: { prepare: number; flush: number; transaction: number; postCommit: number };
  /** Failed cycles recovered by rolling back (or reopening) tasks. */
  aborts: number;
  /** Records whose key hashes to another partition than the one they arrived on, by topic. */
  mispartitioned: Record<string, number>;
  /** Of those, forwarded through a repartition topic (REPARTITION_INPUTS). */
  forwarded: number;
  /** Stream threads that died and were replaced. */
  threadsLost: number;
  transactions: TransactionCounters;
}

export interface EngineOptions {
  /** Partitions of recovererDLQ, from the topic check at start. */
  readonly dlqPartitions: number;
  readonly health: KafkaHealth;
}

export function sourceTopics(config: Pick<Config, 'applicationId' | 'repartitionInputs'>): string[] {
  const repartition = config.repartitionInputs ? JOIN_INPUTS.map((input) => repartitionTopic(config.applicationId, input)) : [];
  return [...JOIN_INPUTS, TOPIC_ORDERS, ...repartition];
}


export class StreamEngine {
  readonly #config: Config;
  readonly #log: Logger;
  readonly #threads: StreamThreads;
  readonly #events: EngineEvents;
  readonly #consumer: GroupConsumer;
  readonly #producer: TransactionalProducer;
  readonly #tasks: TaskManager;
  /** Next offset to commit, per `topic:partition`, of what was processed since the last commit. */
  readonly #consumed = new Map<string, Kafka.TopicPartitionOffset>();
  /** The first offset taken from the consumer since the last commit: where a rollback seeks back to. */
  readonly #uncommittedFrom = new Map<string, Kafka.TopicPartitionOffset>();
  /** Stream threads that died since the last recovery; their tasks must be reopened. */
  readonly #lostThreads = new Set<number>();
  readonly #lastMispartitionWarning = new Map<string, number>();
  #assignment: Kafka.Assignment[] = [];
  #state: EngineState = 'CREATED';
  #running = true;
  #loop: Promise<void> | undefined;
  #lastCommit = Date.now();
  #failures = 0;
  /** Set when recovery itself failed: the loop retries it before consuming anything. */
  #recoveryPending: { reopen: boolean } | undefined;
  readonly counters: EngineCounters;

  private constructor(
    config: Config,
    log: Logger,
    threads: StreamThreads,
    events: EngineEvents,
    consumer: GroupConsumer,
    producer: TransactionalProducer,
    options: EngineOptions,
  ) {
    this.#config = config;
    this.#log = log;
    this.#threads = threads;
    this.#events = events;
    this.#consumer = consumer;
    this.#producer = producer;
    this.#tasks = new TaskManager(config, log, threads, {
      dlqPartitions: options.dlqPartitions,
      onChanged: () => this.#publishTasks(),
      onClientError: options.health.listener('restore-consumer'),
    });
    this.counters = {
      processed: 0,
      skipped: 0,
      commits: 0,
      commitSeconds: 0,
      commitPhases: { prepare: 0, flush: 0, transaction: 0, postCommit: 0 },
      aborts: 0,
      mispartitioned: {},
      forwarded: 0,
      threadsLost: 0,
      transactions: producer.counters,
    };
  }

  /**
   * The transactional producer is created first and on its own (see main.ts): its
   * initTransactions fences a crashed predecessor and aborts the transaction it left
   * open, which holds back every read_committed reader of `orders` until then.
   */
  static async createProducer(config: Config, log: Logger, health: KafkaHealth): Promise<TransactionalProducer> {
    return TransactionalProducer.connect({
      brokers: config.kafkaBootstrapServers,
      transactionalId: `${config.applicationId}-${config.instanceId}`,
      exactlyOnce: config.processingGuarantee === 'exactly_once_v2',
      transactionTimeoutMs: Math.max(10_000, config.commitIntervalMs * 3),
      log: log.child({ component: 'txn' }),
      onClientError: health.listener('stream-producer'),
    });
  }

  static async start(
    config: Config,
    log: Logger,
    threads: StreamThreads,
    producer: TransactionalProducer,
    events: EngineEvents,
    options: EngineOptions,
  ): Promise<StreamEngine> {
    const consumer = await GroupConsumer.connect({
      brokers: config.kafkaBootstrapServers,
      groupId: config.applicationId,
      clientId: `${config.applicationId}-${config.instanceId}`,
      instanceId: config.instanceId,
      topics: sourceTopics(config),
      readCommitted: config.processingGuarantee === 'exactly_once_v2',
      log: log.child({ component: 'consumer' }),
      onClientError: options.health.listener('stream-consumer'),
    });
    const engine = new StreamEngine(config, log, threads, events, consumer, producer, options);
    engine.#setState('REBALANCING');
    engine.#loop = engine.#run();
    return engine;
  }

  get state(): EngineState {
    return this.#state;
  }

  /** A stream thread died (StreamThreads' onThreadLost): the loop reopens its tasks. */
  threadLost(thread: number, err: Error): void {
    this.counters.threadsLost++;
    this.#log.error({ err, thread }, 'stream thread died: its tasks will be reopened on its replacement');
    this.#lostThreads.add(thread);
  }

  #setState(state: EngineState): void {
    this.#state = state;
    this.#publishTasks();
  }

  #publishTasks(): void {
    const tasks = [...this.#tasks.tasks].map(([partition, s]) => ({ partition, thread: this.#threads.ownerOf(partition), state: s }));
    this.#events.onTasksChanged(this.#state, tasks);
  }

  async #run(): Promise<void> {
    while (this.#running) {
      try {
        await this.#handleRebalances();
        if (this.#recoveryPending !== undefined || this.#lostThreads.size > 0) {
          await this.#recoverTasks(this.#recoveryPending?.reopen ?? false);
          continue;
        }
        const messages = await this.#consumer.poll(MAX_POLL_RECORDS, POLL_WAIT_MS);
        if (messages.length > 0) await this.#process(messages);
        if (Date.now() - this.#lastCommit >= this.#config.commitIntervalMs) await this.#commit();
      } catch (err) {
        await this.#recover(err);
      }
    }
  }

  async #process(messages: Kafka.Message[]): Promise<void> {
    // Before anything can fail: where a rollback must seek back to.
    for (const m of messages) {
      const k = `${m.topic}:${m.partition}`;
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
      [...groupByPartition(messages)].map(async ([partition, batch]) => {
        if (this.#tasks.tasks.get(partition) !== 'RUNNING') throw new EngineError('ORD_ERR_ILLEGAL_STATE', `records for task 0_${partition}, which is not running`);
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
      this.counters.processed += r.processed;
      this.counters.skipped += r.skipped;
      this.counters.forwarded += r.forwarded;
      for (const [topic, n] of Object.entries(r.mispartitioned)) this.#mispartitioned(topic, n);
    }
    for (const m of messages) this.#consumed.set(`${m.topic}:${m.partition}`, { topic: m.topic, partition: m.partition, offset: m.offset + 1 });
  }

  #mispartitioned(topic: string, n: number): void {
    this.counters.mispartitioned[topic] = (this.counters.mispartitioned[topic] ?? 0) + n;
    const now = Date.now();
    if (now - (this.#lastMispartitionWarning.get(topic) ?? 0) < MISPARTITION_WARN_MS) return;
    this.#lastMispartitionWarning.set(topic, now);
    this.#log.warn(
      { topic, total: this.counters.mispartitioned[topic], repartitionInputs: this.#config.repartitionInputs },
      `records on ${topic} arrived on another partition than their key's: their producer does not partition like Kafka's default partitioner (murmur2), ` +
        (this.#config.repartitionInputs
          ? 'so they are forwarded to their key\'s partition through a repartition topic'
          : 'so its answers cannot be joined with the other side\'s; set the producer\'s partitioner to murmur2_random, or REPARTITION_INPUTS=true'),
    );
  }

  async #commit(): Promise<void> {
    this.#lastCommit = Date.now();
    if (this.#consumed.size === 0) return;
    const started = process.hrtime.bigint();
    const lap = (phase: keyof EngineCounters['commitPhases'], since: bigint): bigint => {
      const now = process.hrtime.bigint();
      this.counters.commitPhases[phase] += Number(now - since) / 1e9;
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
            const offset = ends.get(`${topic}:${partition}`);
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
    this.counters.commits++;
    this.counters.commitSeconds += Number(process.hrtime.bigint() - started) / 1e9;
    this.#failures = 0;
  }

  #changelogs(): string[] {
    return [changelogTopic(this.#config.applicationId, ORDERS_STORE), changelogTopic(this.#config.applicationId, JOIN_STORE)];
  }

  async #handleRebalances(): Promise<void> {
    for (let r = this.#consumer.takeRebalance(); r !== undefined; r = this.#consumer.takeRebalance()) {
      if (r.assign) await this.#onAssigned(r.assignment);
      else await this.#onRevoked();
    }
  }

  /** Eager revocation: commit what was processed, close every task clean, unassign. */
  async #onRevoked(): Promise<void> {
    this.#setState('REBALANCING');
    let clean = true;
    try {
      if (this.#recoveryPending === undefined) await this.#commit();
      else clean = false;
    } catch (err) {
      clean = false;
      this.#log.warn({ err }, 'commit on revocation failed; closing tasks dirty');
      await this.#producer.abort().catch((abortErr: unknown) => this.#log.warn({ err: abortErr }, 'abort on revocation failed'));
    }
    this.#consumed.clear();
    this.#uncommittedFrom.clear();
    await this.#tasks.closeAll(!clean);
    this.#consumer.unassign();
    this.#assignment = [];
    this.#recoveryPending = undefined;
    this.#lostThreads.clear();
    this.#setState('REBALANCING');
  }

  /**
   * Opens the tasks of the assignment. Tasks still open (after a replaced consumer,
   * which revokes nothing: see #recover) are kept as they are, rolled back already;
   * open tasks the assignment leaves out are closed.
   */
  async #onAssigned(assignment: Kafka.Assignment[]): Promise<void> {
    this.#assignment = assignment;
    const partitions = new Set(assignment.map((a) => a.partition));
    const open = new Set(this.#tasks.tasks.keys());
    const gone = [...open].filter((p) => !partitions.has(p));
    if (gone.length > 0) await this.#tasks.close(gone, true);
    await this.#tasks.open([...partitions].filter((p) => !open.has(p)).sort((a, b) => a - b));
    // Positions come from the group's committed offsets.
    this.#consumer.assign(assignment);
    this.#log.info({ tasks: [...this.#tasks.tasks.keys()] }, 'tasks assigned and restored');
    this.#setState('RUNNING');
  }

  /** Classifies a failed cycle and recovers from it (see the head of this file). */
  async #recover(err: unknown): Promise<void> {
    this.counters.aborts++;
    const recovery = recoveryOf(err);
    if (recovery === 'fatal') {
      this.#fail(err);
      return;
    }
    this.#failures++;
    this.#log.warn({ err, recovery, failures: this.#failures }, 'commit cycle failed: aborting the transaction and rolling tasks back to their committed state');
    // The failed consumer cannot seek; its replacement starts from the committed offsets.
    if (err instanceof ConsumerLostError) this.#uncommittedFrom.clear();
    await this.#recoverTasks(recovery === 'wipe' || (this.#recoveryPending?.reopen ?? false));
    if (err instanceof ConsumerLostError && this.#running) await this.#replaceConsumer();
  }

  /**
   * Every partition is lost with the failed consumer (Kafka Streams' handleLostAll),
   * but the tasks are rolled back already and kept open: the new member normally gets
   * the same partitions back (static membership), and #onAssigned closes the others.
   */
  async #replaceConsumer(): Promise<void> {
    this.#setState('REBALANCING');
    this.#assignment = [];
    this.#consumed.clear();
    this.#uncommittedFrom.clear();
    try {
      await this.#consumer.replace();
    } catch (err) {
      this.#fail(err);
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
      const reopen = reopenAll ? [...this.#tasks.tasks.keys()] : lost.flatMap((thread) => this.#tasks.onThread(thread));
      for (const thread of lost) this.#events.onQueryPort(thread, await this.#threads.queryPort(thread));
      if (reopen.length > 0) {
        this.#setState('REBALANCING');
        this.#log.info({ tasks: reopen }, 'reopening tasks from their committed state');
        await this.#tasks.open(reopen);
      }
      if (!reopenAll) await this.#tasks.rollback();
      await this.#seekToCommitted();
      this.#recoveryPending = undefined;
      this.#setState('RUNNING');
    } catch (err) {
      if (recoveryOf(err) === 'fatal') {
        this.#fail(err);
        return;
      }
      this.#failures++;
      this.#log.error({ err, failures: this.#failures }, 'recovering the tasks failed; retrying');
    }
    await sleep(Math.min(MAX_BACKOFF_MS, 100 * 2 ** Math.max(0, this.#failures - 1)));
  }

  /** Rewinds every partition consumed since the last commit to its first uncommitted record. */
  async #seekToCommitted(): Promise<void> {
    const assigned = new Set(this.#assignment.map((a) => `${a.topic}:${a.partition}`));
    for (const [k, position] of this.#uncommittedFrom) {
      if (!assigned.has(k)) continue;
      await this.#consumer.seek(position, SEEK_TIMEOUT_MS);
    }
    this.#uncommittedFrom.clear();
  }

  #fail(err: unknown): void {
    if (!this.#running) return;
    this.#running = false;
    this.#setState('ERROR');
    this.#events.onFatal(err instanceof Error ? err : new Error(String(err)));
  }

  async stats(): Promise<TaskStats[]> {
    const perThread = await Promise.all(Array.from({ length: this.#threads.size }, (_, t) => this.#threads.runOnThread<TaskStats[]>(t, { type: 'stats' })));
    return perThread.flat().sort((a, b) => a.partition - b.partition);
  }

  /** Commits, closes every task clean, leaves the group. */
  async close(): Promise<void> {
    const failed = this.#state === 'ERROR';
    this.#running = false;
    if (!failed) this.#setState('PENDING_SHUTDOWN');
    await this.#loop;
    this.#log.debug('close: loop ended');
    try {
      if (failed || this.#recoveryPending !== undefined || this.#lostThreads.size > 0) throw new EngineError('ORD_ERR_ILLEGAL_STATE', 'the engine is not in a state to commit');
      await this.#commit();
      this.#log.debug('close: committed');
      await this.#tasks.closeAll(false);
      this.#log.debug('close: tasks closed');
    } catch (err) {
      this.#log.warn({ err }, 'no final commit; closing tasks dirty');
      await this.#producer.abort().catch(() => undefined);
      await this.#tasks.closeAll(true).catch((closeErr: unknown) => this.#log.warn({ err: closeErr }, 'closing tasks failed'));
    }
    await this.#consumer.close();
    this.#log.debug('close: consumer disconnected');
    await this.#producer.close();
    this.#log.debug('close: producer closed');
    this.#setState('NOT_RUNNING');
  }
}
