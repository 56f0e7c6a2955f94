// The stream loop, after Kafka Streams' StreamThread.runLoop:
//
//   loop: answer queued rebalances → poll (restoring tasks' partitions paused) →
//         hand the running tasks' records to the commit cycle (commit-cycle.ts: each
//         partition's batch to the stream thread that owns its task, outputs into the
//         open transaction) → a step of the changelog reader (restores, standbys) →
//         when the pacer says so (commit-pacer.ts): the cycle's two-phase commit.
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
import type { Logger } from '../logger.js';
import { CommitCycle } from './commit-cycle.js';
import type { CommitTimings } from './commit-timings.js';
import { enterStep, type EngineCounters } from './counters.js';
import { ConsumerLostError, type GroupConsumer, type Rebalance } from './group-consumer.js';
import { PartitionGroup } from './partition-group.js';
import type { StreamThreads } from './stream-threads.js';
import type { TaskManager } from './task-manager.js';

/** Records per poll (Kafka Streams' max.poll.records is 1000 too). */
const MAX_POLL_RECORDS = 1000;
/** Records taken from the consumer and held for timestamp order at most (partition-group.ts): 20 polls. */
const MAX_HELD_RECORDS = 20 * MAX_POLL_RECORDS;
/**
 * Per-partition flow control, after Kafka Streams' buffered.records.per.partition: a
 * partition holding more than its share of MAX_HELD_RECORDS (the bound over the
 * assigned partitions, at least FLOW_MIN_SHARE) while another input of its task is
 * still being read (PartitionGroup.aheadOf) is paused until it holds at most half.
 * Under a backlog (a fresh application id replaying `orders`, the answers after an
 * outage) one topic's fetches can run far ahead of the other's; held for timestamp
 * order, its records would reach MAX_HELD_RECORDS, which releases everything out of
 * order. librdkafka drops a paused partition's prefetched records and fetches again
 * from the first one not handed over when it resumes, so the gap between the two
 * marks is what keeps pausing from refetching all the time.
 */
const FLOW_MIN_SHARE = 200;
/** How long an idle poll waits for a record before the loop checks commits and rebalances. */
const POLL_WAIT_MS = 50;
/** While a task restores: how long a step of the changelog reader waits for records when the poll brought none. */
const RESTORE_WAIT_MS = 20;
/** Backoff after consecutive failed cycles: 100 ms doubling up to this. */
const MAX_BACKOFF_MS = 5000;
/** A seek waits this long for the fetcher to drop what it prefetched from the old position. */
const SEEK_TIMEOUT_MS = 5000;
/** Stable committed offsets (KIP-447) wait for a previous owner's transaction: its timeout bounds this. */
const COMMITTED_TIMEOUT_MS = 60_000;

export interface LoopHooks {
  /** Anything about the tasks or the loop changed: the engine recomputes its state. */
  changed(): void;
  /** The group delivered an assignment change (handled before changed() is called). */
  rebalanced(): void;
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
  readonly #cycle: CommitCycle;
  /** Partitions the group gave this member, by `topic:partition`. */
  readonly #assigned = new Map<string, Kafka.TopicPartition>();
  /** Stream threads that died since the last recovery; their tasks must be reopened. */
  readonly #lostThreads = new Set<number>();
  /** When each task was assigned, for the rebalance duration logged when it runs. */
  readonly #assignedAt = new Map<number, number>();
  #standbysWanted: readonly number[] | undefined;
  /** After the consumer was replaced: tasks the new assignment leaves out are closed. */
  #replaced = false;
  #failures = 0;
  /** When the current run of failed cycles began (logged with the first commit after it). */
  #failingSince: number | undefined;
  /** Set when recovery itself failed: the loop retries it before consuming anything. */
  #recoveryPending: { reopen: boolean } | undefined;
  /**
   * Where partitions must be rewound to before any more of their records count: the
   * first record not committed (after an abort), or the first record of a paused
   * partition handed over anyway. An entry stays until its seek succeeded: a seek that
   * fails (a timeout while a broker is away) is tried again, and the records polled
   * from such a partition meanwhile are not processed, since they start past it.
   */
  readonly #rewinds = new Map<string, Kafka.TopicPartitionOffset>();
  /** Records taken from the consumer, not yet processed: released in timestamp order per task. */
  readonly #held: PartitionGroup<Kafka.Message>;
  /** Partitions paused because they hold too many records (#flowControl), by key. */
  readonly #flowPaused = new Map<string, Kafka.TopicPartition>();

  constructor(
    config: Config,
    log: Logger,
    parts: { threads: StreamThreads; consumer: GroupConsumer; producer: TransactionalProducer; tasks: TaskManager; sources: readonly string[] },
    counters: EngineCounters,
    timings: CommitTimings,
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
    this.#cycle = new CommitCycle(config, log, parts, counters, timings);
    this.#held = new PartitionGroup(parts.sources, MAX_HELD_RECORDS);
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
        this.#step('rebalance');
        await this.#handleRebalances();
        if (this.#recoveryPending !== undefined || this.#lostThreads.size > 0) {
          this.#step('recover');
          await this.#recoverTasks(this.#recoveryPending?.reopen ?? false);
          continue;
        }
        if (this.#standbysWanted !== undefined) {
          const wanted = this.#standbysWanted;
          this.#standbysWanted = undefined;
          await this.#tasks.setStandbys(wanted);
          // Opening or closing standbys can end a task that was counted as not yet running.
          this.#hooks.changed();
        }
        const restoring = this.#tasks.restoring().length > 0;
        this.#step('poll');
        // Records held for timestamp order go on at once: no waiting for more.
        const messages = await this.#consumer.poll(MAX_POLL_RECORDS, restoring || this.#held.size > 0 ? 0 : POLL_WAIT_MS);
        const drained = messages.length < MAX_POLL_RECORDS;
        if (messages.length > 0 || this.#held.size > 0) await this.#process(messages, drained);
        this.#flowControl();
        this.#step('restore');
        await this.#restoreStep(restoring && messages.length === 0 ? RESTORE_WAIT_MS : 0);
        if (this.#cycle.due(drained && this.#held.size === 0)) await this.#commitCycle();
      } catch (err) {
        this.#step('recover');
        await this.#recover(err);
      }
    }
  }

  #step(step: string): void {
    enterStep(this.#counters, step);
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

  /** `drained`: the poll came back short, so everything fetched has been seen. */
  async #process(messages: Kafka.Message[], drained: boolean): Promise<void> {
    // A paused partition may still hand over what was fetched before it was paused:
    // such records are not processed, and the partition is rewound to the first of them.
    // A partition still waiting for its rewind hands over records past it: the same.
    const live: Kafka.Message[] = [];
    for (const m of messages) {
      const k = key(m.topic, m.partition);
      if (this.#tasks.stateOf(m.partition) === 'RUNNING' && this.#assigned.has(k) && !this.#rewinds.has(k)) live.push(m);
      else this.#rewindTo({ topic: m.topic, partition: m.partition, offset: m.offset });
    }
    await this.#applyRewinds();
    this.#held.add(live);
    const ready = this.#held.take(drained, MAX_POLL_RECORDS);
    this.#counters.heldReleasedPastBound = this.#held.releasedPastBound;
    if (ready.length > 0) await this.#cycle.process(ready);
  }

  /**
   * Pauses the partitions that hold more than their share of the bound ahead of another
   * input of their task (PartitionGroup.aheadOf) and resumes the paused ones back at
   * half of it or below. A partition no longer assigned, or
   * whose task is not running (restoring after a reopen), is only forgotten here: the
   * rebalance or the restore resumes it.
   */
  #flowControl(): void {
    const pauseOver = Math.max(FLOW_MIN_SHARE, Math.floor(MAX_HELD_RECORDS / Math.max(1, this.#assigned.size)));
    for (const [k, tp] of this.#flowPaused) {
      if (this.#held.sizeOf(tp.topic, tp.partition) > pauseOver / 2) continue;
      this.#flowPaused.delete(k);
      if (this.#assigned.has(k) && this.#tasks.stateOf(tp.partition) === 'RUNNING') this.#consumer.resume([tp]);
    }
    const over = this.#held.aheadOf(pauseOver).filter((tp) => !this.#flowPaused.has(key(tp.topic, tp.partition)));
    if (over.length === 0) return;
    this.#consumer.pause(over);
    for (const tp of over) this.#flowPaused.set(key(tp.topic, tp.partition), tp);
    this.#counters.flowPauses += over.length;
  }

  /** Resumes every partition #flowControl paused (their held records were dropped, or they are being revoked). */
  #resumeFlowPaused(only?: ReadonlySet<string>): void {
    const resume: Kafka.TopicPartition[] = [];
    for (const [k, tp] of this.#flowPaused) {
      if (only !== undefined && !only.has(k)) continue;
      this.#flowPaused.delete(k);
      if (this.#assigned.has(k)) resume.push(tp);
    }
    try {
      this.#consumer.resume(resume);
    } catch (err) {
      // A consumer that cannot resume is failing: it is replaced, or the partitions revoked.
      this.#log.warn({ err, partitions: resume }, 'resuming flow-paused partitions failed');
    }
  }

  /** Records a rewind (the partition's held records dropped); of two for one partition, the earlier position stands. */
  #rewindTo(position: Kafka.TopicPartitionOffset): void {
    const k = key(position.topic, position.partition);
    if (!this.#assigned.has(k)) return;
    const heldFrom = this.#held.drop(position.topic, position.partition);
    if (heldFrom !== undefined && heldFrom < position.offset) position = { ...position, offset: heldFrom };
    const pending = this.#rewinds.get(k);
    if (pending === undefined || position.offset < pending.offset) this.#rewinds.set(k, position);
  }

  /** Seeks every partition with a pending rewind; each is forgotten only once its seek succeeded. */
  async #applyRewinds(): Promise<void> {
    for (const [k, position] of this.#rewinds) {
      if (this.#assigned.has(k)) await this.#consumer.seek(position, SEEK_TIMEOUT_MS);
      this.#rewinds.delete(k);
    }
  }

  /** The final commit of a clean close. */
  async commit(): Promise<void> {
    await this.#commitCycle();
  }

  async #commitCycle(): Promise<void> {
    if (!(await this.#cycle.commit())) return;
    if (this.#failingSince !== undefined) {
      this.#log.info({ failures: this.#failures, ms: Date.now() - this.#failingSince, commit: this.#cycle.lastCommit }, 'commit cycle: committing again');
      this.#failingSince = undefined;
    }
    this.#failures = 0;
  }

  async #handleRebalances(): Promise<void> {
    let handled = false;
    for (let r = this.#consumer.takeRebalance(); r !== undefined; r = this.#consumer.takeRebalance()) {
      handled = true;
      if (r.assign) await this.#onAssigned(r);
      else await this.#onRevoked(r);
    }
    if (!handled) return;
    this.#hooks.rebalanced();
    this.#hooks.changed();
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
        await this.#commitCycle();
      } catch (err) {
        clean = false;
        this.#log.warn({ err, tasks: affected }, 'commit on revocation failed: closing the revoked tasks dirty, rolling the others back');
      }
    }
    if (!clean) {
      await this.#producer.abort().catch((err: unknown) => this.#log.warn({ err }, 'abort on revocation failed'));
      this.#cycle.dropConsumed();
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
    // librdkafka keeps a partition's pause across its revocation and a later assignment.
    this.#resumeFlowPaused(new Set(revoked.map((a) => key(a.topic, a.partition))));
    for (const a of revoked) {
      this.#held.drop(a.topic, a.partition);
      this.#assigned.delete(key(a.topic, a.partition));
      this.#rewinds.delete(key(a.topic, a.partition));
      this.#cycle.forgetPartition(a.topic, a.partition);
    }
    for (const p of affected) this.#assignedAt.delete(p);
    this.#consumer.unassign(r);
    // A recovery already pending keeps what it must do (a reopen stays a reopen).
    if (!clean && this.#tasks.running().length > 0) this.#recoveryPending = { reopen: this.#recoveryPending?.reopen ?? false };
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
    this.#failingSince ??= Date.now();
    this.#log.warn({ err, recovery, failures: this.#failures }, 'commit cycle failed: aborting the transaction and rolling tasks back to their committed state');
    // The failed consumer cannot seek; its replacement starts from the committed offsets.
    if (err instanceof ConsumerLostError) {
      this.#cycle.takeRewinds();
      this.#rewinds.clear();
      this.#held.clear();
      this.#flowPaused.clear();
    }
    const reopen = this.#cycle.takeReopenRequired();
    // A lost consumer's replacement backs off on its own (GroupConsumer.replace, at most
    // 1 s): the loop's growing backoff on top of it left up to 4.6 s between tries while a
    // restarted instance waited for the broker to end its predecessor's session, which
    // was most of a kill -9's recovery time.
    const lost = err instanceof ConsumerLostError;
    await this.#recoverTasks(recovery === 'wipe' || reopen || (this.#recoveryPending?.reopen ?? false), !lost);
    if (lost && this.#hooks.active()) await this.#replaceConsumer();
  }

  /**
   * Every partition is lost with the failed consumer (Kafka Streams' handleLostAll),
   * but the tasks are rolled back already and kept open: the new member normally gets
   * the same partitions back (static membership), and #onAssigned closes the others.
   */
  async #replaceConsumer(): Promise<void> {
    this.#flowPaused.clear();
    this.#assigned.clear();
    this.#rewinds.clear();
    this.#held.clear();
    this.#cycle.forget();
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
  async #recoverTasks(reopenAll: boolean, backoff = true): Promise<void> {
    this.#recoveryPending = { reopen: reopenAll };
    // Taken into #rewinds first, so a recovery that fails anywhere below still rewinds them when retried.
    for (const position of [...this.#cycle.takeRewinds(), ...this.#held.dropAll()]) this.#rewindTo(position);
    // Nothing is held any more: fetching resumes before the seeks (a reopen pauses again below).
    this.#resumeFlowPaused();
    try {
      this.#cycle.dropConsumed();
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
      await this.#applyRewinds();
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
    if (backoff || this.#recoveryPending !== undefined) await sleep(Math.min(MAX_BACKOFF_MS, 100 * 2 ** Math.max(0, this.#failures - 1)));
  }

  /** For close(): whether a final commit makes sense. */
  get canCommit(): boolean {
    return this.#recoveryPending === undefined && this.#lostThreads.size === 0 && !this.#cycle.reopenRequired;
  }

  /** Drops what was processed but not committed (close after a failed final commit). */
  forget(): void {
    this.#cycle.forget();
  }
}

