// The kafka thread's task manager, after Kafka Streams' TaskManager: it turns the
// group's assignment into tasks on the stream threads and walks each through its
// lifecycle (task-lifecycle.ts): created, restored by the changelog reader while the
// loop goes on polling, running, suspended, closed; and standby tasks, warm copies of
// tasks other instances run. When to do what is the stream loop's call.
//
// Recovery by class (src/errors.ts): a task whose state is corrupted (a RocksDB
// "Corruption:" status, a checkpoint that does not parse) is wiped and restored from
// its changelogs, as Kafka Streams does on TaskCorruptedException; anything else that
// fails an open is left to the engine's classification (fatal stops the process).
import type { Config } from '../config.js';
import { recoveryOf } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ChangelogPosition, OpenResult, TaskConfig } from '../stream/protocol.js';
import type { RestoreBatch } from '../stream/restore-batch.js';
import type { ChangelogReader } from './changelog-reader.js';
import type { TaskInfo } from './engine-state.js';
import type { StreamThreads } from './stream-threads.js';
import { checkTransition, type TaskLifecycleState } from './task-lifecycle.js';

export interface TaskManagerOptions {
  readonly dlqPartitions: number;
  readonly onChanged: () => void;
}

export class TaskManager {
  readonly #config: Config;
  readonly #log: Logger;
  readonly #threads: StreamThreads;
  readonly #reader: ChangelogReader;
  readonly #options: TaskManagerOptions;
  readonly #tasks = new Map<number, TaskLifecycleState>();

  constructor(config: Config, log: Logger, threads: StreamThreads, reader: ChangelogReader, options: TaskManagerOptions) {
    this.#config = config;
    this.#log = log;
    this.#threads = threads;
    this.#reader = reader;
    this.#options = options;
  }

  get tasks(): ReadonlyMap<number, TaskLifecycleState> {
    return this.#tasks;
  }

  stateOf(partition: number): TaskLifecycleState | undefined {
    return this.#tasks.get(partition);
  }

  #in(...states: TaskLifecycleState[]): number[] {
    return [...this.#tasks].filter(([, s]) => states.includes(s)).map(([p]) => p);
  }

  running(): number[] {
    return this.#in('RUNNING');
  }

  restoring(): number[] {
    return this.#in('RESTORING');
  }

  suspended(): number[] {
    return this.#in('SUSPENDED');
  }

  standbys(): number[] {
    return this.#in('STANDBY');
  }

  /** Tasks this instance is assigned (not standbys). */
  active(): number[] {
    return this.#in('CREATED', 'RESTORING', 'RUNNING', 'SUSPENDED');
  }

  /** The tasks pinned to a stream thread. */
  onThread(thread: number): number[] {
    return [...this.#tasks.keys()].filter((p) => this.#threads.ownerOf(p) === thread);
  }

  info(): TaskInfo[] {
    const out: TaskInfo[] = [];
    for (const [partition, s] of this.#tasks) {
      const thread = this.#threads.ownerOf(partition);
      if (s === 'RUNNING') out.push({ partition, thread, state: 'RUNNING' });
      else if (s === 'STANDBY') out.push({ partition, thread, state: 'STANDBY', lag: this.#reader.lag(partition) });
      else if (s !== 'CLOSED') out.push({ partition, thread, state: 'RESTORING' });
    }
    return out.sort((a, b) => a.partition - b.partition);
  }

  #set(partition: number, to: TaskLifecycleState): void {
    const from = this.#tasks.get(partition) ?? 'CREATED';
    checkTransition(partition, from, to);
    if (to === 'CLOSED') this.#tasks.delete(partition);
    else this.#tasks.set(partition, to);
  }

  taskConfig(partition: number): TaskConfig {
    return {
      partition,
      applicationId: this.#config.applicationId,
      stateDir: this.#config.stateDir,
      joinWindowMs: this.#config.joinWindowMs,
      joinMaxWaitMs: this.#config.joinMaxWaitMs,
      numPartitions: this.#config.numPartitions,
      dlqPartitions: this.#options.dlqPartitions,
      repartitionInputs: this.#config.repartitionInputs,
    };
  }

  /**
   * Creates active tasks and registers their changelogs with the reader: they are
   * RESTORING until step() reports them caught up (then RUNNING). A standby of the same
   * task is promoted in place, as Kafka Streams recycles a standby: its stores stay
   * open and its changelog reading goes on, so only the tail past its copy is restored.
   */
  async createActive(partitions: readonly number[]): Promise<void> {
    if (partitions.length === 0) return;
    const standbys = partitions.filter((p) => this.#tasks.get(p) === 'STANDBY');
    if (standbys.length > 0) this.#log.info({ tasks: standbys }, 'standby tasks made active in place: only their changelogs\' tail is restored');
    await Promise.all(
      partitions.map(async (partition) => {
        if (this.#tasks.get(partition) === 'STANDBY' && (await this.#promote(partition))) return;
        this.#tasks.set(partition, 'CREATED');
        const opened = await this.#openOne(partition, false).catch((err: unknown) => this.#forget(partition, err));
        this.#set(partition, 'RESTORING');
        this.#reader.register(partition, opened.restoreFrom, 'restore');
      }),
    );
    this.#options.onChanged();
  }

  /** A standby made active in place; false when it could not be (it is closed then, and opened afresh). */
  async #promote(partition: number): Promise<boolean> {
    try {
      const { restoreFrom } = await this.#threads.run<OpenResult>(partition, { type: 'promote', partition });
      this.#set(partition, 'RESTORING');
      if (!this.#reader.promote(partition)) this.#reader.register(partition, restoreFrom, 'restore');
      return true;
    } catch (err) {
      this.#log.warn({ err, task: `0_${partition}` }, 'standby could not be promoted in place: closing it and opening the task afresh');
      await this.closeStandbys([partition]);
      return false;
    }
  }

  /** Reopens tasks from their committed state (a dead thread, a corrupted store): restored again. */
  async reopen(partitions: readonly number[]): Promise<void> {
    await this.close(partitions, true);
    return this.createActive(partitions);
  }

  /**
   * One step of the changelog reader (restores and standby updates); tasks it reports
   * caught up go RUNNING. Returns them, so the loop resumes their partitions.
   */
  async restoreStep(waitMs: number): Promise<number[]> {
    if (!this.#reader.hasWork) {
      this.#reader.serveIdle();
      return [];
    }
    const done = await this.#reader.step(
      (partition: number, batch: RestoreBatch, positions: ChangelogPosition[]) => this.#threads.run(partition, { type: 'restore', partition, batch, positions }, [batch.bytes]),
      waitMs,
    );
    const outOfRange = this.#reader.takeOutOfRange();
    if (outOfRange.length > 0) await this.#rebuild(outOfRange);
    // Side by side: each rebuilds its join window from its store on its own thread.
    const running = done.filter((partition) => this.#tasks.get(partition) === 'RESTORING');
    await Promise.all(running.map((partition) => this.#markRestored(partition)));
    if (running.length > 0) this.#options.onChanged();
    return running;
  }

  /**
   * Tasks whose stores are out of their changelogs' range (the changelogs recreated, a
   * new Kafka cluster say, or truncated past the checkpoint): wiped and restored from
   * nothing, active or standby as they were, as Kafka Streams does when its restore
   * consumer finds the checkpointed offset out of range.
   */
  async #rebuild(partitions: readonly number[]): Promise<void> {
    for (const partition of partitions) {
      const standby = this.#tasks.get(partition) === 'STANDBY';
      this.#log.warn({ task: `0_${partition}`, standby }, 'task state is out of its changelogs\' range (recreated or truncated): wiping it and restoring it from them');
      await this.close([partition], true);
      await this.#threads.run(partition, { type: 'wipe', task: this.taskConfig(partition) });
      if (standby) await this.setStandbys([...this.standbys(), partition]);
      else await this.createActive([partition]);
    }
  }

  async #markRestored(partition: number): Promise<void> {
    await this.#threads.run(partition, { type: 'restored', partition });
    this.#set(partition, 'RUNNING');
  }

  /** A task that did not open is not there (the thread closed what it opened). */
  #forget(partition: number, err: unknown): never {
    this.#tasks.delete(partition);
    this.#threads.release(partition);
    throw err;
  }

  async #openOne(partition: number, standby: boolean): Promise<OpenResult> {
    const task = this.taskConfig(partition);
    try {
      return await this.#threads.run<OpenResult>(partition, { type: 'open', task, standby });
    } catch (err) {
      if (recoveryOf(err) !== 'wipe') throw err;
      this.#log.warn({ err, task: `0_${partition}` }, 'task state is corrupted: wiping it and restoring it from its changelogs');
      await this.#threads.run(partition, { type: 'wipe', task });
      return this.#threads.run<OpenResult>(partition, { type: 'open', task, standby });
    }
  }

  /** Eager revocation: committed already; the tasks stop, stores open, until the next assignment. */
  suspend(partitions: readonly number[]): void {
    for (const partition of partitions) if (this.#tasks.get(partition) === 'RUNNING') this.#set(partition, 'SUSPENDED');
    this.#options.onChanged();
  }

  /** Suspended tasks assigned again: they go on from their committed state, nothing restored. */
  resumeSuspended(partitions: readonly number[]): void {
    for (const partition of partitions) this.#set(partition, 'RUNNING');
    this.#options.onChanged();
  }

  /** After an aborted transaction: every running task drops its uncommitted state. */
  async rollback(): Promise<void> {
    await Promise.all(this.running().map((partition) => this.#threads.run(partition, { type: 'rollback', partition })));
  }

  /** Closes every task (dirty: drop what is not committed), standbys included. */
  async closeAll(dirty: boolean): Promise<void> {
    await this.close([...this.#tasks.keys()], dirty);
  }

  async close(partitions: readonly number[], dirty: boolean): Promise<void> {
    const open = partitions.filter((p) => this.#tasks.has(p));
    if (open.length === 0) return;
    for (const partition of open) this.#reader.unregister(partition);
    await Promise.all(open.map((partition) => this.#threads.run(partition, { type: 'close', partition, dirty })));
    for (const partition of open) {
      this.#set(partition, 'CLOSED');
      this.#threads.release(partition);
    }
    this.#options.onChanged();
  }

  /**
   * Keeps standby tasks for exactly these partitions (those active here are left out):
   * new ones are opened and fed from their changelogs, ones no longer wanted closed.
   */
  async setStandbys(partitions: readonly number[]): Promise<void> {
    const want = new Set(partitions.filter((p) => !this.#tasks.has(p) || this.#tasks.get(p) === 'STANDBY'));
    const drop = this.standbys().filter((p) => !want.has(p));
    if (drop.length > 0) await this.closeStandbys(drop);
    const add = [...want].filter((p) => !this.#tasks.has(p));
    if (add.length === 0) return;
    this.#log.info({ tasks: add }, 'standby tasks: opening warm copies');
    await Promise.all(
      add.map(async (partition) => {
        this.#tasks.set(partition, 'CREATED');
        try {
          const opened = await this.#openOne(partition, true).catch((err: unknown) => this.#forget(partition, err));
          this.#set(partition, 'STANDBY');
          this.#reader.register(partition, opened.restoreFrom, 'standby');
        } catch (err) {
          // A standby is an optimisation: one that cannot open (its directory locked by
          // another process...) is done without, never a reason to stop.
          this.#log.warn({ err, task: `0_${partition}` }, 'standby task could not be opened; going on without it');
        }
      }),
    );
    this.#options.onChanged();
  }

  async closeStandbys(partitions: readonly number[]): Promise<void> {
    await this.close(
      partitions.filter((p) => this.#tasks.get(p) === 'STANDBY'),
      false,
    );
  }
}
