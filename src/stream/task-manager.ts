// The kafka thread's view of this instance's tasks, after Kafka Streams' TaskManager:
// it opens tasks on their stream threads and restores them from their changelogs,
// rolls them back after an aborted transaction, reopens those a dead thread took with
// it, and closes them. What to do when is the stream engine's call.
//
// Recovery by class (src/errors.ts): a task whose state is corrupted (a RocksDB
// "Corruption:" status, a checkpoint that does not parse) is wiped and restored from
// its changelogs, as Kafka Streams does on TaskCorruptedException; anything else that
// fails an open is left to the engine's classification (fatal stops the process).
import type Kafka from 'node-rdkafka';
import type { Config } from '../config.js';
import { recoveryOf } from '../errors.js';
import { restoreChangelogs } from '../kafka/restore-consumer.js';
import type { Logger } from '../logger.js';
import type { OpenResult, TaskConfig } from './protocol.js';
import type { StreamThreads } from './stream-threads.js';

export type TaskPhase = 'RESTORING' | 'RUNNING';

export interface TaskManagerOptions {
  readonly dlqPartitions: number;
  readonly onChanged: () => void;
  /** Where the restore consumer reports client errors (broker down...). */
  readonly onClientError?: (err: Kafka.LibrdKafkaError) => void;
}

export class TaskManager {
  readonly #config: Config;
  readonly #log: Logger;
  readonly #threads: StreamThreads;
  readonly #options: TaskManagerOptions;
  readonly #tasks = new Map<number, TaskPhase>();

  constructor(config: Config, log: Logger, threads: StreamThreads, options: TaskManagerOptions) {
    this.#config = config;
    this.#log = log;
    this.#threads = threads;
    this.#options = options;
  }

  get tasks(): ReadonlyMap<number, TaskPhase> {
    return this.#tasks;
  }

  running(): number[] {
    return [...this.#tasks].filter(([, phase]) => phase === 'RUNNING').map(([p]) => p);
  }

  /** The tasks pinned to a stream thread. */
  onThread(thread: number): number[] {
    return [...this.#tasks.keys()].filter((p) => this.#threads.ownerOf(p) === thread);
  }

  taskConfig(partition: number): TaskConfig {
    return {
      partition,
      applicationId: this.#config.applicationId,
      stateDir: this.#config.stateDir,
      joinWindowMs: this.#config.joinWindowMs,
      numPartitions: this.#config.numPartitions,
      dlqPartitions: this.#options.dlqPartitions,
      repartitionInputs: this.#config.repartitionInputs,
    };
  }

  /** Opens the tasks (a task open already is reopened from its committed state), restores them, runs them. */
  async open(partitions: readonly number[]): Promise<void> {
    if (partitions.length === 0) return;
    for (const partition of partitions) this.#tasks.set(partition, 'RESTORING');
    this.#options.onChanged();
    const opened = await Promise.all(partitions.map((partition) => this.#openOne(partition)));
    await restoreChangelogs(
      this.#config.kafkaBootstrapServers,
      `${this.#config.applicationId}-restore-consumer`,
      opened.flatMap((o) => o.restoreFrom),
      (partition, records) => this.#threads.run(partition, { type: 'restore', partition, records }),
      this.#log.child({ component: 'restore' }),
      this.#options.onClientError,
    );
    await Promise.all(partitions.map((partition) => this.#threads.run(partition, { type: 'restored', partition })));
    for (const partition of partitions) this.#tasks.set(partition, 'RUNNING');
    this.#options.onChanged();
  }

  async #openOne(partition: number): Promise<OpenResult> {
    const task = this.taskConfig(partition);
    try {
      return await this.#threads.run<OpenResult>(partition, { type: 'open', task });
    } catch (err) {
      if (recoveryOf(err) !== 'wipe') throw err;
      this.#log.warn({ err, task: `0_${partition}` }, 'task state is corrupted: wiping it and restoring it from its changelogs');
      await this.#threads.run(partition, { type: 'wipe', task });
      return this.#threads.run<OpenResult>(partition, { type: 'open', task });
    }
  }

  /** After an aborted transaction: every running task drops its uncommitted state. */
  async rollback(): Promise<void> {
    await Promise.all(this.running().map((partition) => this.#threads.run(partition, { type: 'rollback', partition })));
  }

  /** Closes every task (dirty: drop what is not committed) and forgets it. */
  async closeAll(dirty: boolean): Promise<void> {
    await this.close([...this.#tasks.keys()], dirty);
  }

  async close(partitions: readonly number[], dirty: boolean): Promise<void> {
    await Promise.all(partitions.map((partition) => this.#threads.run(partition, { type: 'close', partition, dirty })));
    for (const partition of partitions) {
      this.#threads.release(partition);
      this.#tasks.delete(partition);
    }
    this.#options.onChanged();
  }
}
