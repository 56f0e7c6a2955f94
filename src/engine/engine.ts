// The stream engine on the kafka (main) thread, put together as Kafka Streams' runtime
// is: a group consumer (group-consumer.ts), a task manager (task-manager.ts, with the
// tasks' lifecycle in task-lifecycle.ts), a changelog reader for restores and standbys
// (changelog-reader.ts), the stream loop and commit cycle (stream-loop.ts), and the
// stream threads that run the tasks (stream-threads.ts). This file owns their start
// and stop and the engine's lifecycle (engine-state.ts).
import { getHeapStatistics } from 'node:v8';
import type { MessagePort } from 'node:worker_threads';
import type { Config } from '../config.js';
import { EngineError } from '../errors.js';
import type { KafkaHealth } from '../kafka/kafka-health.js';
import { TransactionalProducer } from '../kafka/transactional-producer.js';
import { JOIN_INPUTS, TOPIC_ORDERS, repartitionTopic } from '../kafka/topics.js';
import type { Logger } from '../logger.js';
import type { TaskStats } from '../stream/protocol.js';
import { ChangelogReader } from './changelog-reader.js';
import { CommitTimings } from './commit-timings.js';
import { newCounters, type EngineCounters } from './counters.js';
import { EngineLifecycle, type EngineState, type TaskInfo } from './engine-state.js';
import type { EngineStats, ThreadTaskStats } from './engine-stats.js';
import { GroupConsumer } from './group-consumer.js';
import { StreamLoop } from './stream-loop.js';
import type { StreamThreads } from './stream-threads.js';
import { TaskManager } from './task-manager.js';

export type { EngineCounters } from './counters.js';
export type { EngineState, TaskInfo } from './engine-state.js';
export type { EngineStats } from './engine-stats.js';

const heapOfThisThread = (): EngineStats['kafkaThreadHeap'] => {
  const heap = getHeapStatistics();
  return { usedBytes: heap.used_heap_size, limitBytes: heap.heap_size_limit };
};

export interface EngineEvents {
  onTasksChanged(state: EngineState, tasks: readonly TaskInfo[]): void;
  /** A stream thread was replaced: its new query port, for the HTTP thread. */
  onQueryPort(thread: number, port: MessagePort): void;
  onFatal(err: Error): void;
}

export interface EngineOptions {
  /** Partitions of recovererDLQ, from the topic check at start. */
  readonly dlqPartitions: number;
  readonly health: KafkaHealth;
}

/** The least time a member without an assignment waits for one before it runs with no tasks. */
const JOIN_GRACE_MS = 15_000;

export function sourceTopics(config: Pick<Config, 'applicationId' | 'repartitionInputs'>): string[] {
  const repartition = config.repartitionInputs ? JOIN_INPUTS.map((input) => repartitionTopic(config.applicationId, input)) : [];
  return [...JOIN_INPUTS, TOPIC_ORDERS, ...repartition];
}

export class StreamEngine {
  readonly #log: Logger;
  readonly #threads: StreamThreads;
  readonly #events: EngineEvents;
  readonly #consumer: GroupConsumer;
  readonly #producer: TransactionalProducer;
  readonly #reader: ChangelogReader;
  readonly #tasks: TaskManager;
  readonly #lifecycle: EngineLifecycle;
  readonly #loop: StreamLoop;
  #running: Promise<void> | undefined;
  readonly #health: KafkaHealth;
  readonly #sessionTimeoutMs: number;
  #isolationTimer: NodeJS.Timeout | undefined;
  /** Kafka unreachable for longer than the session timeout: the tasks are not served. */
  #isolated = false;
  /**
   * Kafka reachable again after an isolation: the tasks stay unserved until the group
   * has spoken (a rebalance) or this time (Date.now()) has passed. The group may have
   * moved them while this instance was away, and the revocation arrives a heartbeat
   * or two after the connection: serving at once answered for partitions the new
   * owners were already serving (seen: 0.3 s of double-served reads).
   */
  #rejoinBy: number | undefined;
  #peers = 0;
  /**
   * Whether the group has told this member what it has (its first assignment). Until
   * then the member has no tasks only because nobody has assigned any yet: without
   * this, the engine went RUNNING with no tasks a moment after start, and readiness
   * said UP before the instance had joined the group or restored anything.
   */
  #joined = false;
  readonly #startedAt = Date.now();
  readonly counters: EngineCounters;
  readonly #timings = new CommitTimings();

  private constructor(
    config: Config,
    log: Logger,
    threads: StreamThreads,
    events: EngineEvents,
    parts: { consumer: GroupConsumer; producer: TransactionalProducer; reader: ChangelogReader },
    options: EngineOptions,
  ) {
    this.#log = log;
    this.#threads = threads;
    this.#events = events;
    this.#consumer = parts.consumer;
    this.#producer = parts.producer;
    this.#reader = parts.reader;
    this.counters = newCounters(parts.producer.counters);
    this.#health = options.health;
    this.#sessionTimeoutMs = config.sessionTimeoutMs;
    this.#lifecycle = new EngineLifecycle(() => this.#publishTasks());
    this.#tasks = new TaskManager(config, log, threads, parts.reader, {
      dlqPartitions: options.dlqPartitions,
      onChanged: () => this.#publishTasks(),
    });
    this.#loop = new StreamLoop(
      config,
      log,
      { threads, consumer: parts.consumer, producer: parts.producer, tasks: this.#tasks, sources: sourceTopics(config) },
      this.counters,
      this.#timings,
      {
        changed: () => this.#settle(),
        rebalanced: () => {
          this.#joined = true;
          if (this.#rejoinBy !== undefined) this.#rejoined('the group has reassigned this instance\'s tasks');
        },
        threadReplaced: async (thread) => this.#events.onQueryPort(thread, await this.#threads.queryPort(thread)),
        fatal: (err) => this.#fail(err),
        active: () => this.#lifecycle.active,
      },
    );
  }

  /**
   * The transactional producer is created first and on its own (see service.ts): its
   * initTransactions fences a crashed predecessor and aborts the transaction it left
   * open, which holds back every read_committed reader of `orders` until then.
   */
  static async createProducer(config: Config, log: Logger, health: KafkaHealth): Promise<TransactionalProducer> {
    return TransactionalProducer.connect({
      brokers: config.kafkaBootstrapServers,
      transactionalId: `${config.applicationId}-${config.instanceId}`,
      exactlyOnce: config.processingGuarantee === 'exactly_once_v2',
      transactionTimeoutMs: Math.max(10_000, config.commitIntervalMs * 3),
      queueKbytes: config.memory.kafkaKbytes.transactionalProducer,
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
    const [consumer, reader] = await Promise.all([
      GroupConsumer.connect({
        brokers: config.kafkaBootstrapServers,
        groupId: config.applicationId,
        clientId: `${config.applicationId}-${config.instanceId}`,
        instanceId: config.instanceId,
        topics: sourceTopics(config),
        readCommitted: config.processingGuarantee === 'exactly_once_v2',
        protocol: config.groupProtocol,
        maxPollIntervalMs: config.maxPollIntervalMs,
        sessionTimeoutMs: config.sessionTimeoutMs,
        queueKbytes: config.memory.kafkaKbytes.streamConsumer,
        log: log.child({ component: 'consumer' }),
        onClientError: options.health.listener('stream-consumer'),
      }),
      ChangelogReader.connect({
        brokers: config.kafkaBootstrapServers,
        clientId: `${config.applicationId}-${config.instanceId}-restore-consumer`,
        log: log.child({ component: 'restore' }),
        onClientError: (err) => options.health.report('restore-consumer', err),
        maxRecords: config.restoreMaxPollRecords,
        queueKbytes: config.memory.kafkaKbytes.changelogConsumer,
      }),
    ]);
    const engine = new StreamEngine(config, log, threads, events, { consumer, producer, reader }, options);
    engine.#lifecycle.to('STARTING');
    engine.#lifecycle.to('REBALANCING');
    engine.#running = engine.#loop.run();
    engine.#isolationTimer = setInterval(() => engine.#checkIsolation(), 500);
    engine.#isolationTimer.unref();
    return engine;
  }

  /**
   * An instance cut off from Kafka (a network partition) for half the session timeout
   * is about to lose its tasks to the others, who go on with them: its
   * stores fall behind, so it stops serving them (store reads here answer 503 or go to
   * the new owner) and is not ready, until it reaches Kafka again and the group tells
   * it what it has.
   */
  #checkIsolation(): void {
    // A member the group gives nothing (more instances than partitions) may never hear
    // of an assignment: after this long it counts as joined with no tasks.
    if (!this.#joined && Date.now() - this.#startedAt > Math.max(JOIN_GRACE_MS, this.#sessionTimeoutMs)) {
      this.#joined = true;
      this.#log.info({ afterMs: Date.now() - this.#startedAt }, 'no assignment from the group yet: running with no tasks until one comes');
    }
    const { up, since } = this.#health.snapshot();
    // Half the session: the outage began up to a probe round before it was seen, and
    // the others take the tasks over once the session has ended. Alone (no other live
    // instance in the directory), nobody can take them: the store stays served.
    const cutOff = this.#peers > 0 && !up && Date.now() - since > this.#sessionTimeoutMs / 2;
    if (this.#isolated && !cutOff) {
      // Reachable again: wait for the group (see #rejoinBy).
      if (this.#rejoinBy === undefined) {
        this.#rejoinBy = Date.now() + this.#sessionTimeoutMs / 2;
        this.#log.info('kafka reachable again: waiting for the group to confirm or move this instance\'s tasks');
      } else if (Date.now() >= this.#rejoinBy) this.#rejoined('no rebalance came');
      return;
    }
    this.#rejoinBy = undefined;
    if (cutOff && !this.#isolated) {
      this.#isolated = true;
      this.#log.warn({ sessionTimeoutMs: this.#sessionTimeoutMs }, 'kafka unreachable for longer than the session timeout: this instance\'s tasks are no longer served here');
      this.#settle();
      return;
    }
    // A change the loop did not report (seen: an instance left REBALANCING for 158 s
    // after an isolation ended, its tasks running): the state is recomputed here too.
    const state = this.#lifecycle.state;
    if ((state === 'REBALANCING' || state === 'RUNNING') && state !== this.#target()) this.#settle();
  }

  #rejoined(why: string): void {
    this.#rejoinBy = undefined;
    this.#isolated = false;
    this.#log.info({ why }, 'serving the tasks the group gives this instance again');
    this.#settle();
  }

  get state(): EngineState {
    return this.#lifecycle.state;
  }

  /** A stream thread died (StreamThreads' onThreadLost): the loop reopens its tasks. */
  threadLost(thread: number, err: Error): void {
    this.counters.threadsLost++;
    this.#log.error({ err, thread }, 'stream thread died: its tasks will be reopened on its replacement');
    this.#loop.threadLost(thread);
    this.#settle();
  }

  /** How many other live instances the directory knows: only with some can the tasks move away. */
  setPeers(peers: number): void {
    this.#peers = peers;
  }

  /** Standby tasks this instance should keep (see standby-placement.ts). */
  setStandbys(partitions: readonly number[]): void {
    this.#loop.setStandbys(partitions);
  }

  get tasks(): readonly TaskInfo[] {
    const tasks = this.#tasks.info();
    return this.#isolated ? tasks.map((t) => ({ partition: t.partition, thread: t.thread, state: 'SUSPENDED' as const })) : tasks;
  }

  /** RUNNING once every active task runs; REBALANCING while any is being created or restored, or Kafka is out of reach. */
  #settle(): void {
    if (!this.#lifecycle.active) return;
    this.counters.restored = this.#reader.restoredTotal;
    this.#lifecycle.to(this.#target());
    this.#publishTasks();
  }

  #target(): 'REBALANCING' | 'RUNNING' {
    return !this.#joined || this.#loop.rebalancing || this.#isolated ? 'REBALANCING' : 'RUNNING';
  }

  #publishTasks(): void {
    this.#events.onTasksChanged(this.#lifecycle.state, this.tasks);
  }

  #fail(err: unknown): void {
    if (!this.#lifecycle.active) return;
    this.#lifecycle.to('ERROR');
    this.#events.onFatal(err instanceof Error ? err : new Error(String(err)));
  }

  /** Counters, every task's stats (asked of the stream threads), restores, consumer lag, and the commit timings taken since the last call. */
  async stats(): Promise<EngineStats> {
    this.counters.restored = this.#reader.restoredTotal;
    const perThread = await Promise.all(
      Array.from({ length: this.#threads.size }, async (_, thread) =>
        (await this.#threads.runOnThread<TaskStats[]>(thread, { type: 'stats' })).map((t): ThreadTaskStats => ({ ...t, thread })),
      ),
    );
    return {
      counters: structuredClone(this.counters),
      tasks: perThread.flat().sort((a, b) => a.partition - b.partition),
      restores: this.#reader.restores(),
      consumerLag: this.#consumer.lag(),
      commitSeconds: this.#timings.take(),
      kafkaThreadHeap: heapOfThisThread(),
    };
  }

  /** Commits, closes every task clean, leaves the group. */
  async close(): Promise<void> {
    clearInterval(this.#isolationTimer);
    const failed = this.#lifecycle.state === 'ERROR';
    this.#lifecycle.to('PENDING_SHUTDOWN');
    await this.#running;
    this.#log.debug('close: loop ended');
    try {
      if (failed || !this.#loop.canCommit) throw new EngineError('ORD_ERR_ILLEGAL_STATE', 'the engine is not in a state to commit');
      await this.#loop.commit();
      this.#log.debug('close: committed');
      await this.#tasks.closeAll(false);
      this.#log.debug('close: tasks closed');
    } catch (err) {
      this.#log.warn({ err }, 'no final commit; closing tasks dirty');
      this.#loop.forget();
      await this.#producer.abort().catch(() => undefined);
      await this.#tasks.closeAll(true).catch((closeErr: unknown) => this.#log.warn({ err: closeErr }, 'closing tasks failed'));
    }
    await Promise.all([this.#consumer.close(), this.#reader.close()]);
    this.#log.debug('close: consumers disconnected');
    await this.#producer.close();
    this.#log.debug('close: producer closed');
    this.#lifecycle.to('DEAD');
  }
}
