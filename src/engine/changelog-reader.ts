// The state manager's changelog reader, after Kafka Streams' StoreChangelogReader: one
// long-lived, plain (never a group member, never committing) read_committed consumer
// that feeds task stores from their changelogs while the group consumer keeps polling.
//
//   restoring  an active task's changelogs, from its checkpoint to the end offset taken
//              when it registered (nobody else writes them meanwhile: the previous
//              owner is fenced, see TaskManager). Caught up: the task may run.
//   standby    a warm copy of a task another instance runs: read on and on, never
//              caught up; its lag is the distance to the high watermark.
//
// step() is called by the stream loop between polls; each call takes what librdkafka
// has fetched (bounded), hands it to the tasks' stream threads, and reports the tasks
// that caught up. The loop never blocks on a restore, so the member keeps its place
// in the group however long a restore takes.
//
// Steps overlap: a step hands its batch to the stream threads and returns without
// waiting for the writes; the next step polls (and the loop goes on) while they run,
// and waits for them only before it hands over its own batch. A task is reported
// caught up only once every batch of it has been written, and a failed write fails
// the step after it. Serial, a restore ran the kafka thread's share (consume, routing,
// the hand-over) and the stream threads' writes one after the other, each idle while
// the other worked: the stream threads were 15% busy during a 1M-record restore.
//
// The consumer is not node-rdkafka's but the addon's (src/native/packed-consumer.ts):
// its fetch hands over each partition's records packed in one ArrayBuffer, the layout
// the stream threads read (src/stream/restore-batch.ts), which is transferred to them as
// it is. node-rdkafka's per-record JS objects were half of the kafka thread's time in a
// restore, and its ceiling.
import { EngineError } from '../errors.js';
import type { Logger } from '../logger.js';
import { PackedConsumer, type NativeFetchedBatch, type NativeFetchResult } from '../native/packed-consumer.js';
import type { ChangelogPosition } from '../stream/protocol.js';
import type { RestoreBatch } from '../stream/restore-batch.js';

export type ChangelogMode = 'restore' | 'standby';

interface Reading {
  readonly task: number;
  readonly mode: ChangelogMode;
  /** Next offset to read, per changelog topic. */
  readonly next: Map<string, number>;
  /** Next offset fetched (handed to a stream thread, perhaps not written yet), per changelog topic. */
  readonly fetched: Map<string, number>;
  /** Restore: the end offset to reach, per changelog topic (deleted once reached). */
  readonly end: Map<string, number>;
  /** Standby: the high watermark last seen, per changelog topic (for the lag). */
  readonly high: Map<string, number>;
  readonly startedAt: number;
  restored: number;
  total: number;
  /** Restore: the end offsets have been looked up, so `total` means something. */
  totalKnown: boolean;
  /**
   * A standby's reading turned into a restore in place (promote()): its partitions were
   * never reassigned, so an end already reached may not be reported again, and `end`
   * holds the high watermarks looked up at promotion instead.
   */
  promoted: boolean;
  /**
   * Its checkpoint is out of a changelog's range, as Kafka Streams' restore consumer
   * finds with an out-of-range offset, and the store no longer matches the changelog:
   *  - past its end: the store holds what the changelog no longer does (the topics were
   *    recreated, a new Kafka cluster). Read on, it would never reach its end.
   *  - before its start: the records from the checkpoint to the log's start were
   *    deleted (DeleteRecords, a retention set on it). librdkafka's offset reset would
   *    read on from the start, over a store that never saw the records in between:
   *    values they replaced or deleted would stay.
   * Either way the task is wiped and restored from what the changelog holds (takeOutOfRange()).
   */
  outOfRange: boolean;
}

export interface ChangelogReaderOptions {
  /** Prefetched records it may queue, in KiB (queued.max.messages.kbytes; from the memory budget). */
  readonly queueKbytes?: number;
  readonly brokers: string;
  readonly clientId: string;
  readonly log: Logger;
  /** A client error librdkafka reported (it retries on its own): for health and logs. */
  readonly onClientError?: (err: { code: number; message: string }) => void;
  /** Records taken per step (bounded memory per step). */
  readonly maxRecords?: number;
  /** Key and value bytes taken per step at most (bounded memory per step; default 16 MiB). */
  readonly maxBytes?: number;
}

export interface RestoreProgress {
  readonly tasks: number;
  readonly restored: number;
  readonly remaining: number;
}

/** One active task's restore: records applied so far, and those left (undefined until the end offsets are known). */
export interface TaskRestoreProgress {
  readonly partition: number;
  readonly restored: number;
  readonly remaining: number | undefined;
}

/** Writes a task's batch to its stores; `batch.bytes` is the callee's (transferred). */
export type ApplyBatch = (task: number, batch: RestoreBatch, positions: ChangelogPosition[]) => Promise<void>;

const WATERMARK_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;
/** A changelog's end is asked this many times, this far apart, before it is left unknown. */
const LOOKUP_ATTEMPTS = 30;
const LOOKUP_RETRY_MS = 1000;
/** With nothing to read, the consumer's client errors are taken this often (serveIdle). */
const IDLE_SERVE_MS = 1000;
const PROGRESS_LOG_MS = 2000;
const STANDBY_LAG_REFRESH_MS = 5000;

export class ChangelogReader {
  readonly #fetcher: PackedConsumer;
  readonly #options: ChangelogReaderOptions;
  readonly #readings = new Map<number, Reading>();
  /** `topic:partition` → task, for routing fetched records. */
  readonly #owners = new Map<string, number>();
  /** `topic:partition` → the offset of its last partition EOF (librdkafka reports each end once). */
  readonly #eofAt = new Map<string, number>();
  #lastProgressLog = 0;
  #lastIdleServe = 0;
  #lastLagRefresh = 0;
  #refreshing = false;
  /** Changelog records applied since start (metrics). */
  restoredTotal = 0;
  /** The last step's batch, being written by the stream threads (see the head of this file). */
  #inflight: Promise<void> | undefined;
  /** The tasks with records in #inflight: not caught up before it is written. */
  readonly #applying = new Set<number>();

  private constructor(fetcher: PackedConsumer, options: ChangelogReaderOptions) {
    this.#fetcher = fetcher;
    this.#options = options;
  }

  /**
   * Creates the reader's consumer. It connects when it is first assigned partitions
   * (the engine's other clients have waited for a broker already); a broker that is
   * away then only makes its steps come back empty, as librdkafka retries.
   */
  static connect(options: ChangelogReaderOptions): Promise<ChangelogReader> {
    const fetcher = new PackedConsumer({
      'bootstrap.servers': options.brokers,
      // A group id is required by librdkafka's consumer; nothing is ever committed
      // or subscribed under it.
      'group.id': `${options.clientId}-unused`,
      'client.id': options.clientId,
      'enable.auto.commit': false,
      'enable.auto.offset.store': false,
      'enable.partition.eof': true,
      'isolation.level': 'read_committed',
      'fetch.max.bytes': 16 * 1024 * 1024,
      // A changelog with nothing past the checkpoint reports its end after one empty
      // fetch, which the broker holds this long: the restore of a warm task waits it.
      'fetch.wait.max.ms': 50,
      'queued.max.messages.kbytes': options.queueKbytes ?? 16 * 1024,
      // A partition whose prefetched records pass the queue's bounds is not fetched
      // again for this long (librdkafka's default is 1 s). A restore drains the queue
      // in a fraction of that and then waited out the rest: with the default, a 1M-record
      // restore spent about half its time in empty steps (183k records/s against 467k).
      'fetch.queue.backoff.ms': 10,
      'reconnect.backoff.max.ms': 1000,
      'auto.offset.reset': 'earliest',
      // librdkafka would print its logs to stderr: its errors come back with the fetches.
      log_level: 0,
    });
    return Promise.resolve(new ChangelogReader(fetcher, options));
  }

  /**
   * Between steps with nothing to read: takes the client errors librdkafka reported
   * meanwhile (a broker away), which only a fetch takes otherwise and which it keeps
   * until then. Never waits; at most once a second.
   */
  serveIdle(): void {
    const now = Date.now();
    if (now - this.#lastIdleServe < IDLE_SERVE_MS) return;
    this.#lastIdleServe = now;
    for (const e of this.#fetcher.takeErrors()) this.#options.onClientError?.(e);
  }

  get hasWork(): boolean {
    return this.#readings.size > 0 || this.#inflight !== undefined;
  }

  get hasRestoring(): boolean {
    for (const r of this.#readings.values()) if (r.mode === 'restore') return true;
    return false;
  }

  progress(): RestoreProgress {
    let restored = 0;
    let remaining = 0;
    let tasks = 0;
    for (const r of this.#readings.values()) {
      if (r.mode !== 'restore') continue;
      tasks++;
      restored += r.restored;
      remaining += Math.max(0, r.total - r.restored);
    }
    return { tasks, restored, remaining };
  }

  /** Per restoring task, for metrics and readiness details. */
  restores(): TaskRestoreProgress[] {
    const out: TaskRestoreProgress[] = [];
    for (const r of this.#readings.values()) {
      if (r.mode !== 'restore') continue;
      out.push({ partition: r.task, restored: r.restored, remaining: r.totalKnown ? Math.max(0, r.total - r.restored) : undefined });
    }
    return out.sort((a, b) => a.partition - b.partition);
  }

  /** A standby's lag in records (undefined: not a standby here, or not known yet). */
  lag(task: number): number | undefined {
    const r = this.#readings.get(task);
    if (r === undefined || r.mode !== 'standby' || r.high.size === 0) return undefined;
    let lag = 0;
    for (const [topic, high] of r.high) lag += Math.max(0, high - (r.next.get(topic) ?? 0));
    return lag;
  }

  /**
   * Starts reading a task's changelogs from `from`. A restore is caught up when every
   * changelog reports its end (partition EOF, read_committed: the last stable offset);
   * the stream loop has read the group's stable committed offsets first, so no
   * transaction of a previous owner can still move that end. The end offsets are
   * looked up on the side, for progress only: nothing here waits on the broker.
   */
  register(task: number, from: readonly ChangelogPosition[], mode: ChangelogMode): void {
    this.unregister(task);
    const reading: Reading = { task, mode, next: new Map(), fetched: new Map(), end: new Map(), high: new Map(), startedAt: Date.now(), restored: 0, total: 0, totalKnown: false, promoted: false, outOfRange: false };
    const added: ChangelogPosition[] = [];
    for (const p of from) {
      reading.next.set(p.topic, p.offset);
      if (mode === 'restore') reading.end.set(p.topic, Number.POSITIVE_INFINITY);
      this.#owners.set(`${p.topic}:${task}`, task);
      added.push({ topic: p.topic, partition: task, offset: p.offset });
    }
    this.#readings.set(task, reading);
    // Incremental: the other readings' partitions are left as they are. (Replacing the
    // whole assignment of a plain consumer while librdkafka still stops partitions of
    // the previous one trips an assertion in rd_kafka_assignment_partition_stopped.)
    this.#fetcher.assign(added);
    void this.#lookUpEnds(reading, from);
  }

  async #lookUpEnds(reading: Reading, from: readonly ChangelogPosition[]): Promise<void> {
    for (const p of from) {
      // Asked again while the broker does not answer: besides progress and lag, the end
      // tells a store that is ahead of its changelog, which nothing else does.
      for (let attempt = 0; attempt < LOOKUP_ATTEMPTS && this.#readings.get(reading.task) === reading; attempt++) {
        try {
          const { lowOffset, highOffset } = await this.#watermarks(p.topic, p.partition);
          if (reading.mode === 'standby') reading.high.set(p.topic, Math.max(reading.high.get(p.topic) ?? 0, highOffset));
          else reading.total += Math.max(0, highOffset - Math.max(p.offset, lowOffset));
          this.#checkRange(reading, p.topic, p.offset, lowOffset, highOffset);
          break;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, LOOKUP_RETRY_MS));
        }
      }
    }
    reading.totalKnown = true;
    if (reading.mode === 'restore' && this.#readings.get(reading.task) === reading) {
      this.#options.log.info({ task: `0_${reading.task}`, records: reading.total, from: Object.fromEntries(from.map((p) => [p.topic, p.offset])) }, 'restore: started');
    }
  }

  /**
   * Marks the reading out of range when a store that has read `from` records of a
   * changelog can no longer go on from there (see Reading.outOfRange). From 0 the
   * store has nothing of it, and reading from the log's start, wherever that is, is
   * the whole of it.
   */
  #checkRange(reading: Reading, topic: string, from: number, low: number, high: number): void {
    if (high < from) {
      reading.outOfRange = true;
      this.#options.log.warn({ task: `0_${reading.task}`, changelog: topic, checkpoint: from, end: high }, 'a store is ahead of its changelog: its checkpoint is past the changelog\'s end');
    } else if (from > 0 && low > from) {
      reading.outOfRange = true;
      this.#options.log.warn({ task: `0_${reading.task}`, changelog: topic, checkpoint: from, start: low }, 'a changelog was truncated past a store\'s checkpoint: the records from the checkpoint to its start are gone');
    }
  }

  /**
   * A standby's reading becomes its task's restore, without reassigning its partitions
   * (which costs a fetch round of its own before the first record, about half a second
   * here): the restore goes on from what the standby applied. The end to reach is the
   * high watermark looked up now (the stream loop has read the stable committed offsets,
   * so the previous owner has no transaction open). False when the task has no
   * standby reading here.
   */
  promote(task: number): boolean {
    const standby = this.#readings.get(task);
    if (standby === undefined || standby.mode !== 'standby') return false;
    const reading: Reading = {
      task,
      mode: 'restore',
      next: standby.next,
      fetched: standby.fetched,
      end: new Map([...standby.next.keys()].map((topic) => [topic, Number.POSITIVE_INFINITY])),
      high: new Map(),
      startedAt: Date.now(),
      restored: 0,
      total: 0,
      totalKnown: false,
      promoted: true,
      outOfRange: false,
    };
    this.#readings.set(task, reading);
    void this.#lookUpPromotedEnds(reading);
    return true;
  }

  async #lookUpPromotedEnds(reading: Reading): Promise<void> {
    const from = [...reading.next].map(([topic, offset]) => ({ topic, partition: reading.task, offset }));
    for (const p of from) {
      let low: number;
      let high: number;
      try {
        ({ lowOffset: low, highOffset: high } = await this.#watermarks(p.topic, p.partition));
      } catch (err) {
        if (this.#readings.get(reading.task) !== reading) return;
        // Without the end, only a fresh assignment reports it: read from where the standby was.
        this.#options.log.warn({ err, task: `0_${reading.task}` }, 'restore of a promoted standby: its changelogs\' end is unknown; reading them afresh');
        this.register(reading.task, [...reading.next].map(([topic, offset]) => ({ topic, partition: reading.task, offset })), 'restore');
        return;
      }
      if (this.#readings.get(reading.task) !== reading) return;
      // A standby behind a truncation: the records it missed are gone.
      this.#checkRange(reading, p.topic, p.offset, low, high);
      reading.total += Math.max(0, high - p.offset);
      reading.end.set(p.topic, high);
      if (this.#reached(p.topic, reading.task, high)) reading.end.delete(p.topic);
    }
    reading.totalKnown = true;
    this.#options.log.info({ task: `0_${reading.task}`, records: reading.total, from: Object.fromEntries(from.map((p) => [p.topic, p.offset])), promoted: true }, 'restore: started');
  }

  /** The partition's end `high` has been reached: reported by an EOF, or read up to. */
  #reached(topic: string, task: number, high: number): boolean {
    const r = this.#readings.get(task);
    return (this.#eofAt.get(`${topic}:${task}`) ?? -1) >= high || (r?.next.get(topic) ?? 0) >= high;
  }

  /**
   * The tasks whose stores are out of their changelogs' range (see Reading.outOfRange),
   * no longer read: the caller wipes them and registers them again from nothing.
   */
  takeOutOfRange(): number[] {
    const tasks = [...this.#readings.values()].filter((r) => r.outOfRange).map((r) => r.task);
    for (const task of tasks) this.unregister(task);
    return tasks;
  }

  /** Stops reading a task's changelogs (closed, or made active elsewhere). */
  unregister(task: number): void {
    if (!this.#readings.delete(task)) return;
    const removed: { topic: string; partition: number }[] = [];
    for (const [k, t] of this.#owners) {
      if (t !== task) continue;
      this.#owners.delete(k);
      this.#eofAt.delete(k);
      removed.push({ topic: k.slice(0, k.lastIndexOf(':')), partition: task });
    }
    if (removed.length > 0) this.#fetcher.unassign(removed);
  }

  #onEof(topic: string, partition: number, offset: number): void {
    const task = this.#owners.get(`${topic}:${partition}`);
    const r = task === undefined ? undefined : this.#readings.get(task);
    if (r === undefined) return;
    this.#eofAt.set(`${topic}:${partition}`, offset);
    // The end may be a transaction marker, which no record reaches: EOF closes it. An
    // EOF comes after the records before it, which have been fetched (#finished waits
    // for them to be written). A promoted standby's end is the high watermark looked up
    // at promotion (unknown: not yet).
    const at = r.fetched.get(topic) ?? r.next.get(topic) ?? 0;
    if (r.mode === 'restore' && offset >= (r.promoted ? (r.end.get(topic) ?? 0) : at)) r.end.delete(topic);
    if (r.mode === 'standby') r.high.set(topic, Math.max(r.high.get(topic) ?? 0, offset));
  }

  /**
   * Reads what has been fetched (waiting at most `waitMs` for the first record), applies
   * it, and returns the tasks whose restore is complete (unregistered already).
   */
  async step(apply: ApplyBatch, waitMs: number): Promise<number[]> {
    if (this.#owners.size === 0) {
      await this.#settle();
      return this.#finished();
    }
    // A task read to its end needs nothing more from the broker: report it once written.
    if (this.#inflight !== undefined && [...this.#applying].some((task) => this.#readings.get(task)?.mode === 'restore' && this.#readings.get(task)?.end.size === 0)) {
      await this.#settle();
    }
    let fetched: NativeFetchResult;
    try {
      fetched = await this.#fetcher.fetch({ maxRecords: this.#options.maxRecords ?? 5000, maxBytes: this.#options.maxBytes ?? DEFAULT_MAX_BYTES, waitMs });
    } catch (err) {
      await this.#settle().catch(() => undefined);
      throw new EngineError('ORD_ERR_KAFKA', `changelog read failed: ${(err as Error).message}`, { cause: err });
    }
    for (const e of fetched.errors) this.#options.onClientError?.(e);
    // The previous batch is written (or its failure thrown) before this one is handed over.
    await this.#settle();
    const handed: { task: number; reading: Reading; batch: NativeFetchedBatch }[] = [];
    let taken = 0;
    for (const batch of fetched.batches) {
      const task = batch.partition;
      const r = this.#readings.get(task);
      // Unregistered since the fetch (a task's changelogs are assigned and unassigned together).
      if (r === undefined || batch.topics.some((topic) => this.#owners.get(`${topic}:${task}`) !== task)) continue;
      for (const p of batch.positions) r.fetched.set(p.topic, p.offset);
      handed.push({ task, reading: r, batch });
      taken += batch.count;
    }
    for (const eof of fetched.eofs) this.#onEof(eof.topic, eof.partition, eof.offset);
    if (handed.length > 0) {
      for (const { task } of handed) this.#applying.add(task);
      const written = Promise.all(
        handed.map(async ({ task, reading: r, batch }) => {
          const positions = batch.positions.map((p) => ({ topic: p.topic, partition: task, offset: p.offset }));
          await apply(task, { topics: batch.topics, count: batch.count, bytes: batch.bytes }, positions);
          // Re-registered meanwhile (a reopen): the new reading starts from its own positions.
          if (this.#readings.get(task) !== r) return;
          r.restored += batch.count;
          for (const { topic, offset } of batch.positions) {
            r.next.set(topic, offset);
            if (r.promoted && offset >= (r.end.get(topic) ?? 0)) r.end.delete(topic);
            if (r.mode === 'standby' && offset > (r.high.get(topic) ?? 0)) r.high.set(topic, offset);
          }
        }),
      ).then(() => undefined);
      // Observed by the next step's #settle; this only keeps it from being reported unhandled meanwhile.
      written.catch(() => undefined);
      this.#inflight = written;
    }
    this.restoredTotal += taken;
    this.#logProgress();
    this.#refreshStandbyLag();
    return this.#finished();
  }

  /** Waits for the batch being written; its failure is thrown here. */
  async #settle(): Promise<void> {
    const inflight = this.#inflight;
    if (inflight === undefined) return;
    this.#inflight = undefined;
    try {
      await inflight;
    } finally {
      this.#applying.clear();
    }
  }

  #finished(): number[] {
    const done: number[] = [];
    for (const r of this.#readings.values()) {
      // Not before its range was checked: a truncated changelog's rest can be read to
      // its end before the watermarks come back, over a store that no longer matches it.
      if (r.mode !== 'restore' || r.end.size > 0 || !r.totalKnown || r.outOfRange || this.#applying.has(r.task)) continue;
      const seconds = (Date.now() - r.startedAt) / 1000;
      this.#options.log.info(
        { task: `0_${r.task}`, restored: r.restored, seconds, recordsPerSecond: seconds > 0 ? Math.round(r.restored / seconds) : r.restored },
        'restore: done',
      );
      done.push(r.task);
    }
    for (const task of done) this.unregister(task);
    return done;
  }

  #logProgress(): void {
    const now = Date.now();
    if (now - this.#lastProgressLog < PROGRESS_LOG_MS || !this.hasRestoring) return;
    this.#lastProgressLog = now;
    const p = this.progress();
    this.#options.log.info({ tasks: p.tasks, restored: p.restored, remaining: p.remaining }, 'restore: progress');
  }

  /**
   * Standbys' high watermarks move on as their active tasks commit: looked up now and
   * then, on the side. Never awaited by a step: a watermark query waits behind the
   * consumer's own fetch to the same broker (up to fetch.wait.max.ms, 500 ms), and a
   * dozen of them in the loop held a rebalance up for seconds.
   */
  #refreshStandbyLag(): void {
    const now = Date.now();
    if (this.#refreshing || now - this.#lastLagRefresh < STANDBY_LAG_REFRESH_MS) return;
    this.#lastLagRefresh = now;
    this.#refreshing = true;
    void this.#refreshHighWatermarks().finally(() => {
      this.#refreshing = false;
    });
  }

  async #refreshHighWatermarks(): Promise<void> {
    for (const r of [...this.#readings.values()]) {
      if (r.mode !== 'standby') continue;
      for (const topic of r.high.keys()) {
        try {
          r.high.set(topic, (await this.#watermarks(topic, r.task)).highOffset);
        } catch {
          // the broker is away: the lag stays what it was
        }
      }
    }
  }

  async #watermarks(topic: string, partition: number): Promise<{ lowOffset: number; highOffset: number }> {
    try {
      return await this.#fetcher.watermarks(topic, partition, WATERMARK_TIMEOUT_MS);
    } catch (err) {
      throw new EngineError('ORD_ERR_KAFKA', `watermarks of ${topic}:${partition}: ${(err as Error).message}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    await this.#settle().catch(() => undefined);
    // librdkafka's close can wait on a broker that is gone: the client is left to finish it.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 10_000);
      void this.#fetcher.close().finally(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
