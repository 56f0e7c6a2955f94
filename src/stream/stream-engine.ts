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
// Any failure of the cycle aborts the transaction and reinitializes the tasks from
// their committed state; a fatal one (fenced producer) stops the process.
import Kafka from 'node-rdkafka';
import type { Config } from '../config.js';
import { EngineError } from '../errors.js';
import { pollBatch } from '../kafka/poll.js';
import { restoreChangelogs } from '../kafka/restore-consumer.js';
import { TransactionalProducer } from '../kafka/transactional-producer.js';
import { JOIN_STORE, ORDERS_STORE, TOPIC_ORDERS, TOPIC_PAYMENT_ORDERS, TOPIC_STOCK_ORDERS, changelogTopic } from '../kafka/topics.js';
import type { Logger } from '../logger.js';
import type { ChangelogPosition, InputRecord, OpenResult, PrepareCommitResult, ProcessResult, TaskStats } from './protocol.js';
import type { StreamThreads } from './stream-threads.js';
import { groupByPartition } from './thread-assignment.js';

const ERR_ASSIGN = Kafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS;
const SOURCE_TOPICS = [TOPIC_PAYMENT_ORDERS, TOPIC_STOCK_ORDERS, TOPIC_ORDERS];
/** Records per poll (Kafka Streams' max.poll.records is 1000 too). */
const MAX_POLL_RECORDS = 1000;
/** How long an idle poll waits for a record before the loop checks commits and rebalances. */
const POLL_WAIT_MS = 50;

export type EngineState = 'CREATED' | 'REBALANCING' | 'RUNNING' | 'PENDING_SHUTDOWN' | 'NOT_RUNNING' | 'ERROR';

export interface TaskInfo {
  readonly partition: number;
  readonly thread: number;
  readonly state: 'RESTORING' | 'RUNNING';
}

export interface EngineEvents {
  onTasksChanged(state: EngineState, tasks: readonly TaskInfo[]): void;
  onFatal(err: Error): void;
}

export interface EngineCounters {
  processed: number;
  skipped: number;
  commits: number;
  commitSeconds: number;
  /** Where commit time goes: tasks' prepareCommit, producer flush, the transaction, postCommit. */
  commitPhases: { prepare: number; flush: number; transaction: number; postCommit: number };
  aborts: number;
}

type Rebalance = { readonly assign: boolean; readonly assignment: Kafka.Assignment[] };

export class StreamEngine {
  readonly #config: Config;
  readonly #log: Logger;
  readonly #threads: StreamThreads;
  readonly #events: EngineEvents;
  readonly #consumer: Kafka.KafkaConsumer;
  readonly #producer: TransactionalProducer;
  readonly #tasks = new Map<number, 'RESTORING' | 'RUNNING'>();
  readonly #consumed = new Map<string, Kafka.TopicPartitionOffset>();
  readonly #rebalances: Rebalance[] & { closing?: boolean };
  #assignment: Kafka.Assignment[] = [];
  #state: EngineState = 'CREATED';
  #running = true;
  #loop: Promise<void> | undefined;
  #lastCommit = Date.now();
  #reinitializePending = false;
  readonly counters: EngineCounters = {
    processed: 0,
    skipped: 0,
    commits: 0,
    commitSeconds: 0,
    commitPhases: { prepare: 0, flush: 0, transaction: 0, postCommit: 0 },
    aborts: 0,
  };

  private constructor(
    config: Config,
    log: Logger,
    threads: StreamThreads,
    events: EngineEvents,
    consumer: Kafka.KafkaConsumer,
    producer: TransactionalProducer,
    rebalances: Rebalance[] & { closing?: boolean },
  ) {
    this.#rebalances = rebalances;
    this.#config = config;
    this.#log = log;
    this.#threads = threads;
    this.#events = events;
    this.#consumer = consumer;
    this.#producer = producer;
  }

  static async start(config: Config, log: Logger, threads: StreamThreads, events: EngineEvents): Promise<StreamEngine> {
    const exactlyOnce = config.processingGuarantee === 'exactly_once_v2';
    const producer = await TransactionalProducer.connect({
      brokers: config.kafkaBootstrapServers,
      transactionalId: `${config.applicationId}-${config.instanceId}`,
      exactlyOnce,
      transactionTimeoutMs: Math.max(10_000, config.commitIntervalMs * 3),
    });
    // librdkafka waits for assign()/unassign(): while the loop runs, the callback only
    // queues the event for it. Once the loop has ended (closing), nobody would handle
    // the queue, and leaving the group revokes everything: answer directly, or
    // disconnect() waits forever for an unassign.
    const rebalances: Rebalance[] & { closing?: boolean } = [];
    const consumer = new Kafka.KafkaConsumer(
      {
        'metadata.broker.list': config.kafkaBootstrapServers,
        'group.id': config.applicationId,
        'client.id': `${config.applicationId}-${config.instanceId}`,
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
        'isolation.level': exactlyOnce ? 'read_committed' : 'read_uncommitted',
        'partition.assignment.strategy': 'range',
        // Static membership (KIP-345): a restarted instance with the same INSTANCE_ID
        // takes its partitions back at once, without a rebalance and without waiting
        // out the session timeout, so a crash-restart stays inside the join window.
        'group.instance.id': config.instanceId,
        'session.timeout.ms': 10_000,
        'heartbeat.interval.ms': 3000,
        'max.poll.interval.ms': 300_000,
        // Prefetch bounded for a 2 GiB pod (librdkafka's default queues 64 MiB).
        'queued.max.messages.kbytes': 16 * 1024,
        rebalance_cb: function (this: Kafka.KafkaConsumer, err: Kafka.LibrdKafkaError | undefined, assignment: Kafka.Assignment[]) {
          const assign = err?.code === ERR_ASSIGN;
          if (rebalances.closing !== true) rebalances.push({ assign, assignment });
          else if (assign) this.assign(assignment);
          else this.unassign();
        },
      },
      { 'auto.offset.reset': 'earliest' },
    );
    await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 30_000 }, (err) => (err ? reject(err) : resolve())));
    const engine = new StreamEngine(config, log, threads, events, consumer, producer, rebalances);
    consumer.subscribe(SOURCE_TOPICS);
    engine.#setState('REBALANCING');
    engine.#loop = engine.#run();
    return engine;
  }

  get state(): EngineState {
    return this.#state;
  }

  #setState(state: EngineState): void {
    this.#state = state;
    this.#events.onTasksChanged(state, [...this.#tasks].map(([partition, s]) => ({ partition, thread: this.#threads.ownerOf(partition), state: s })));
  }

  async #run(): Promise<void> {
    while (this.#running) {
      try {
        await this.#handleRebalances();
        if (this.#reinitializePending) {
          await this.#reinitialize();
          continue;
        }
        const messages = await pollBatch(this.#consumer, MAX_POLL_RECORDS, POLL_WAIT_MS);
        if (messages.length > 0) await this.#process(messages);
        if (Date.now() - this.#lastCommit >= this.#config.commitIntervalMs) await this.#commit();
      } catch (err) {
        await this.#recover(err);
      }
    }
  }

  async #process(messages: Kafka.Message[]): Promise<void> {
    const now = Date.now();
    await this.#producer.begin();
    const results = await Promise.all(
      [...groupByPartition(messages)].map(async ([partition, batch]) => {
        if (this.#tasks.get(partition) !== 'RUNNING') throw new EngineError('ORD_ERR_ILLEGAL_STATE', `records for task 0_${partition}, which is not running`);
        const records: InputRecord[] = batch.map((m) => ({
          topic: m.topic,
          offset: m.offset,
          key: m.key === null || m.key === undefined ? null : m.key.toString(),
          value: m.value ?? null,
          timestamp: now,
        }));
        return this.#threads.run<ProcessResult>(partition, { type: 'process', partition, records });
      }),
    );
    for (const r of results) {
      await this.#producer.send(r.outputs);
      this.counters.processed += r.processed;
      this.counters.skipped += r.skipped;
    }
    for (const m of messages) this.#consumed.set(`${m.topic}:${m.partition}`, { topic: m.topic, partition: m.partition, offset: m.offset + 1 });
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
    const running = [...this.#tasks].filter(([, s]) => s === 'RUNNING').map(([p]) => p);
    await this.#producer.begin();
    const prepared = await Promise.all(running.map((partition) => this.#threads.run<PrepareCommitResult>(partition, { type: 'prepareCommit', partition })));
    for (const p of prepared) await this.#producer.send(p.changelog);
    let t = lap('prepare', started);
    await this.#producer.flush();
    t = lap('flush', t);
    await this.#producer.commit([...this.#consumed.values()], this.#consumer);
    t = lap('transaction', t);
    this.#consumed.clear();
    const ends = this.#producer.takeEnds();
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
    lap('postCommit', t);
    this.counters.commits++;
    this.counters.commitSeconds += Number(process.hrtime.bigint() - started) / 1e9;
  }

  #changelogs(): string[] {
    return [changelogTopic(this.#config.applicationId, ORDERS_STORE), changelogTopic(this.#config.applicationId, JOIN_STORE)];
  }

  async #handleRebalances(): Promise<void> {
    while (this.#rebalances.length > 0) {
      const { assign, assignment } = this.#rebalances.shift()!;
      if (assign) await this.#onAssigned(assignment);
      else await this.#onRevoked();
    }
  }

  /** Eager revocation: commit what was processed, close every task clean, unassign. */
  async #onRevoked(): Promise<void> {
    this.#setState('REBALANCING');
    let clean = true;
    try {
      await this.#commit();
    } catch (err) {
      clean = false;
      this.#log.warn({ err }, 'commit on revocation failed; closing tasks dirty');
      await this.#producer.abort().catch(() => undefined);
    }
    await this.#closeTasks(!clean);
    this.#consumer.unassign();
    this.#assignment = [];
    this.#setState('REBALANCING');
  }

  async #onAssigned(assignment: Kafka.Assignment[]): Promise<void> {
    this.#assignment = assignment;
    await this.#openTasks([...new Set(assignment.map((a) => a.partition))].sort((a, b) => a - b));
    // Positions come from the group's committed offsets.
    this.#consumer.assign(assignment);
    this.#log.info({ tasks: [...this.#tasks.keys()] }, 'tasks assigned and restored');
    this.#setState('RUNNING');
  }

  async #openTasks(partitions: number[]): Promise<void> {
    for (const partition of partitions) this.#tasks.set(partition, 'RESTORING');
    this.#setState('REBALANCING');
    const opened = await Promise.all(
      partitions.map((partition) =>
        this.#threads.run<OpenResult>(partition, {
          type: 'open',
          task: {
            partition,
            applicationId: this.#config.applicationId,
            stateDir: this.#config.stateDir,
            joinWindowMs: this.#config.joinWindowMs,
            numPartitions: this.#config.numPartitions,
          },
        }),
      ),
    );
    const positions = opened.flatMap((o) => o.restoreFrom);
    await restoreChangelogs(
      this.#config.kafkaBootstrapServers,
      `${this.#config.applicationId}-restore-consumer`,
      positions,
      (partition, records) => this.#threads.run(partition, { type: 'restore', partition, records }),
      this.#log.child({ component: 'restore' }),
    );
    await Promise.all(partitions.map((partition) => this.#threads.run(partition, { type: 'restored', partition })));
    for (const partition of partitions) this.#tasks.set(partition, 'RUNNING');
  }

  async #closeTasks(dirty: boolean): Promise<void> {
    await Promise.all([...this.#tasks.keys()].map((partition) => this.#threads.run(partition, { type: 'close', partition, dirty })));
    for (const partition of this.#tasks.keys()) this.#threads.release(partition);
    this.#tasks.clear();
  }

  /** Abort, then reinitialize every task from committed state and rewind the consumer. */
  async #recover(err: unknown): Promise<void> {
    this.counters.aborts++;
    const fatal = err instanceof EngineError && err.recovery === 'fatal';
    const cause = (err as { cause?: Kafka.LibrdKafkaError }).cause;
    if (fatal || cause?.isFatal === true) {
      this.#running = false;
      this.#setState('ERROR');
      this.#events.onFatal(err as Error);
      return;
    }
    this.#log.warn({ err }, 'commit cycle failed: aborting the transaction and reinitializing tasks from committed state');
    this.#consumed.clear();
    this.#reinitializePending = true;
    await this.#producer.abort().catch((abortErr: unknown) => this.#log.warn({ err: abortErr }, 'abortTransaction failed'));
    await this.#reinitialize();
  }

  /**
   * Closes every task dirty and reopens it from committed state, with the consumer
   * rewound to the committed offsets. Until that has succeeded (the broker may still
   * be away), the loop tries again each round, a second apart, and consumes nothing.
   */
  async #reinitialize(): Promise<void> {
    try {
      const partitions = [...new Set(this.#assignment.map((a) => a.partition))];
      this.#consumer.unassign();
      await this.#closeTasks(true);
      if (partitions.length > 0) {
        await this.#openTasks(partitions);
        this.#consumer.assign(this.#assignment);
      }
      this.#reinitializePending = false;
      this.#setState('RUNNING');
    } catch (err) {
      this.#setState('REBALANCING');
      this.#log.error({ err }, 'reinitializing tasks failed; retrying in 1 s');
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  async stats(): Promise<TaskStats[]> {
    const perThread = await Promise.all(Array.from({ length: this.#threads.size }, (_, t) => this.#threads.runOnThread<TaskStats[]>(t, { type: 'stats' })));
    return perThread.flat().sort((a, b) => a.partition - b.partition);
  }

  /** Commits, closes every task clean, leaves the group. */
  async close(): Promise<void> {
    this.#running = false;
    this.#setState('PENDING_SHUTDOWN');
    await this.#loop;
    this.#log.debug('close: loop ended');
    try {
      await this.#commit();
      this.#log.debug('close: committed');
      await this.#closeTasks(false);
      this.#log.debug('close: tasks closed');
      this.#rebalances.closing = true;
    } catch (err) {
      this.#log.warn({ err }, 'final commit failed; closing tasks dirty');
      await this.#producer.abort().catch(() => undefined);
      await this.#closeTasks(true);
    }
    this.#rebalances.closing = true;
    await new Promise<void>((resolve) => this.#consumer.disconnect(() => resolve()));
    this.#log.debug('close: consumer disconnected');
    await this.#producer.close();
    this.#log.debug('close: producer closed');
    this.#setState('NOT_RUNNING');
  }
}
