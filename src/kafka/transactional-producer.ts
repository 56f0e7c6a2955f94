// The producer of the stream engine. Under exactly_once_v2 it is transactional: a
// transaction spans one commit interval and holds the tasks' outputs, their changelog
// records and the consumed offsets (sendOffsetsToTransaction with the consumer's group
// metadata, KIP-447), so all of them commit or none. Under at_least_once the same
// calls degrade to a flush and a synchronous offset commit.
//
// Delivery reports only at least once, where the flush waits for them and the first
// failed one is latched and fails the next commit (RecordCollectorImpl.checkForException).
// Exactly once, commitTransaction itself waits for every record and fails if any did,
// so a report per record would only carry its offset (the changelog ends a checkpoint
// needs, which the commit cycle takes from high watermarks instead: commit-cycle.ts).
// They were the largest single cost of the kafka thread: node-rdkafka builds a JS
// object per report, property by property, and resolves its opaque (a V8 persistent
// handle made at produce). Under a saga at 1,000 orders/s, 18% of that thread's samples
// were under its delivery-report dispatcher (perf with --perf-basic-prof).
//
// The transaction's own lifecycle, with what moves it (txn-errors.ts classifies):
//
//   READY ──begin──► IN_TRANSACTION ──commit ok──► READY
//     ▲                  │   │
//     │           abortable  fatal ───────────────► FATAL ──begin: replace the producer──► READY
//     │                  ▼                             ▲     (initTransactions fences the old epoch
//     └──abort ok── ABORT_REQUIRED ──abort: fatal──────┘      and aborts what it left open)
//
// A call that fails retriably (timed out, or "Conflicting ... API call is already in
// progress") is called again until it completes: librdkafka resumes it in the
// background, and starting any other call meanwhile only conflicts. That is what kept
// the engine from ever coming back after a broker restart: a timed-out abort was
// never resumed, and every beginTransaction after it conflicted with it.
import { setTimeout as sleep } from 'node:timers/promises';
import Kafka from 'node-rdkafka';
import { EngineError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { OutputRecord } from '../stream/protocol.js';
import { connectClient, disconnectProducer } from './connect.js';
import { NativeCalls } from './native-calls.js';
import { txnBackoffMs, txnErrorAction } from './txn-errors.js';
import { queryWatermarks } from './watermarks.js';

const ERR_QUEUE_FULL = Kafka.CODES.ERRORS.ERR__QUEUE_FULL;
/** librdkafka's recommended timeout for transactional calls: the transaction's remaining time. */
const REMAINING_TXN_TIME = -1;
/**
 * A transactional call that has not returned in this long (or 1.5 transaction
 * timeouts) is stuck: each attempt is bounded by the transaction's remaining time, and
 * a transaction open longer than its timeout is aborted by the coordinator anyway.
 */
const STUCK_CALL_MIN_MS = 15_000;
/** How long close() waits for a running transactional call before it leaves the producer as it is. */
const CLOSE_WAIT_MS = 10_000;
/** More replacements than this within REPLACE_WINDOW_MS means something else holds our transactional.id. */
const MAX_REPLACEMENTS = 5;
const REPLACE_WINDOW_MS = 60_000;

export type TxnState = 'READY' | 'IN_TRANSACTION' | 'ABORT_REQUIRED' | 'FATAL';

export interface TransactionalProducerOptions {
  /** Records it may queue unsent, in KiB (queue.buffering.max.kbytes; from the memory budget). */
  readonly queueKbytes?: number;
  readonly brokers: string;
  readonly transactionalId: string;
  readonly exactlyOnce: boolean;
  readonly transactionTimeoutMs: number;
  /**
   * A transactional call not returned in this long is given up as stuck and the
   * producer replaced (default: 1.5 transaction timeouts, at least 15 s).
   */
  readonly stuckCallMs?: number;
  readonly log: Logger;
  /** Every librdkafka error event of the handle (broker down, transport...), for health and metrics. */
  readonly onClientError?: (err: Kafka.LibrdKafkaError) => void;
}

export interface TransactionCounters {
  /** Calls resumed after a retriable error (timeouts, conflicts with a call in progress). */
  resumed: number;
  aborts: number;
  /** Producers replaced after a fatal error. */
  replaced: number;
  /** Transactional calls that never returned (the producer was then replaced). */
  stuck: number;
  /** What the producer waits on now (a transactional call, delivery reports, a full queue, a replacement), or '' . */
  waiting: string;
}

type Callback = (err: Kafka.LibrdKafkaError | null | undefined) => void;


export class TransactionalProducer {
  #producer: Kafka.Producer;
  readonly #options: TransactionalProducerOptions;
  #state: TxnState = 'READY';
  /** Bumped by every abort: delivery reports of purged records from before it are ignored (at least once). */
  #generation = 0;
  #pending = 0;
  #drained: (() => void)[] = [];
  #error: Kafka.LibrdKafkaError | undefined;
  /** Which record the latched error was reported for (`topic[partition] key`). */
  #errorAt = '';
  #closing = false;
  readonly #replacedAt: number[] = [];
  /** Transactional calls still running in librdkafka, per producer: none is destroyed under one. */
  readonly #calls = new NativeCalls<Kafka.Producer>();
  /** `topic:partition` → next offset after the last delivered record, for checkpoints. */
  readonly #ends = new Map<string, number>();
  readonly counters: TransactionCounters = { resumed: 0, aborts: 0, replaced: 0, stuck: 0, waiting: '' };

  private constructor(producer: Kafka.Producer, options: TransactionalProducerOptions) {
    this.#producer = producer;
    this.#options = options;
    this.#listen(producer);
  }

  static async connect(options: TransactionalProducerOptions): Promise<TransactionalProducer> {
    const producer = await TransactionalProducer.#create(options);
    return new TransactionalProducer(producer, options);
  }

  static async #create(options: TransactionalProducerOptions): Promise<Kafka.Producer> {
    const producer = new Kafka.Producer(
      {
        'metadata.broker.list': options.brokers,
        'client.id': options.transactionalId,
        // Delivery reports at least once only (see the head of this file).
        dr_cb: !options.exactlyOnce,
        'enable.idempotence': true,
        'linger.ms': 1,
        'compression.codec': 'lz4',
        'socket.keepalive.enable': true,
        // Reconnect quickly once a restarted broker is back (defaults: 100 ms → 10 s).
        'reconnect.backoff.max.ms': 1000,
        // A transaction's requests that meet CONCURRENT_TRANSACTIONS (the previous
        // commit's or abort's markers not yet written) are retried with this backoff,
        // doubling up to the max: librdkafka's 100 ms → 1 s held the first commit after
        // an abort for seconds (confluent-kafka-python #967). Java retries
        // AddPartitionsToTxn after 20 ms for the same reason.
        'retry.backoff.ms': 20,
        'retry.backoff.max.ms': 250,
        // Bounded by the memory budget (librdkafka's default is 1 GiB); a full queue
        // makes send() wait for deliveries instead.
        'queue.buffering.max.kbytes': options.queueKbytes ?? 64 * 1024,
        ...(options.exactlyOnce ? { 'transactional.id': options.transactionalId, 'transaction.timeout.ms': options.transactionTimeoutMs } : {}),
      },
      { acks: -1 },
    );
    if (options.onClientError !== undefined) producer.on('event.error', options.onClientError);
    await connectClient(producer, { what: 'transactional producer', log: options.log });
    // Polling serves the delivery reports (at least once) and the error events; the
    // transactional calls wait on their own. Without reports, 1,000 polls a second
    // would only look for errors.
    producer.setPollInterval(options.exactlyOnce ? 50 : 1);
    // A restarted instance with the same transactional.id fences its predecessor and
    // aborts the transaction it left open, so read_committed readers are not held up.
    if (options.exactlyOnce) {
      for (let attempt = 0; ; attempt++) {
        const err = await new Promise<Kafka.LibrdKafkaError | null | undefined>((resolve) => producer.initTransactions(REMAINING_TXN_TIME, resolve));
        if (!err) break;
        if (txnErrorAction(err) !== 'resume' || attempt >= 20) {
          void disconnectProducer(producer, 5000);
          throw new EngineError('ORD_ERR_KAFKA', `initTransactions failed: ${err.message}`, { cause: err });
        }
        options.log.warn({ err: err.message, attempt }, 'initTransactions: retrying');
        await sleep(txnBackoffMs(attempt));
      }
    }
    return producer;
  }

  #listen(producer: Kafka.Producer): void {
    producer.on('delivery-report', (err, report) => {
      // Reports of a replaced producer, or of records from an aborted (purged) transaction: not this one's business.
      if (report.opaque !== this.#generation || producer !== this.#producer) return;
      if (err) {
        if (this.#error === undefined) {
          this.#error = err;
          this.#errorAt = `${report.topic}[${report.partition}] key ${String(report.key)}`;
        }
      } else {
        const k = `${report.topic}:${report.partition}`;
        this.#ends.set(k, Math.max(this.#ends.get(k) ?? 0, report.offset + 1));
      }
      if (--this.#pending === 0) this.#wake();
    });
  }

  get state(): TxnState {
    return this.#state;
  }

  async begin(): Promise<void> {
    if (!this.#options.exactlyOnce) return;
    if (this.#state === 'ABORT_REQUIRED') await this.abort();
    if (this.#state === 'FATAL') await this.#replace();
    if (this.#state === 'IN_TRANSACTION') return;
    await this.#call('beginTransaction', (cb) => this.#producer.beginTransaction(cb));
    this.#state = 'IN_TRANSACTION';
  }

  /** Queues records in the open transaction; waits only when librdkafka's queue is full. */
  async send(records: readonly OutputRecord[]): Promise<void> {
    this.#check();
    for (const r of records) {
      for (;;) {
        try {
          const value = r.value === null ? null : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
          // Exactly once, no opaque: there are no reports to carry it to.
          const opaque = this.#options.exactlyOnce ? undefined : this.#generation;
          this.#producer.produce(r.topic, r.partition, value, r.key, Date.now(), opaque, r.headers as Kafka.MessageHeader[] | undefined);
          if (opaque !== undefined) this.#pending++;
          break;
        } catch (err) {
          if ((err as Kafka.LibrdKafkaError).code !== ERR_QUEUE_FULL) throw new EngineError('ORD_ERR_KAFKA', `produce failed: ${(err as Error).message}`, { cause: err });
          // Full: wait for deliveries, unless they are failing (the broker is away and the
          // records time out), which dooms the transaction anyway.
          this.#check();
          this.counters.waiting = 'queue full';
          await sleep(2);
          this.counters.waiting = '';
        }
      }
    }
  }

  /** Waits for every delivery report of this transaction; throws the first failed delivery. */
  async flush(): Promise<void> {
    await this.#drain();
    this.#check();
  }

  /** Until every record sent in this transaction has its delivery report. */
  async #drain(): Promise<void> {
    if (this.#pending === 0) return;
    this.counters.waiting = `delivery reports (${this.#pending})`;
    await new Promise<void>((resolve) => this.#drained.push(resolve));
    this.counters.waiting = '';
  }

  get exactlyOnce(): boolean {
    return this.#options.exactlyOnce;
  }

  /**
   * At least once: the end offsets delivered since the last call. Reports of a flushed
   * batch may still be on their way: those come with a later call (an abort drops
   * them). Exactly once there are no reports: see highWatermarks.
   */
  takeEnds(): Map<string, number> {
    const ends = new Map(this.#ends);
    this.#ends.clear();
    return ends;
  }

  /**
   * Each partition's high watermark, keyed `topic:partition`; a partition the broker
   * did not answer for is left out. One request at a time: each holds a libuv thread
   * while it waits, and a broker that is away must not take the whole pool (see
   * docs/performance.md, "A broker restart starved libuv's threadpool").
   */
  async highWatermarks(partitions: readonly { readonly topic: string; readonly partition: number }[], timeoutMs: number): Promise<Map<string, number>> {
    const ends = new Map<string, number>();
    for (const { topic, partition } of partitions) {
      const high = await queryWatermarks(this.#producer, topic, partition, timeoutMs).then(
        (o) => o.highOffset,
        () => undefined,
      );
      if (high !== undefined && high >= 0) ends.set(`${topic}:${partition}`, high);
    }
    return ends;
  }

  /**
   * Exactly once: adds the consumed offsets to the open transaction (AddOffsetsToTxn,
   * then TxnOffsetCommit at the group's coordinator). The commit cycle starts it before
   * the tasks prepare, so its two round trips overlap the prepare and the sends instead
   * of following them, and passes `offsetsSent` to commit(). Records may be sent while
   * it runs; no other transactional call may (librdkafka refuses a second one). At least
   * once there is nothing to do: commit() commits the offsets after the flush.
   */
  async sendOffsets(offsets: Kafka.TopicPartitionOffset[], consumer: Kafka.KafkaConsumer): Promise<void> {
    if (!this.#options.exactlyOnce || offsets.length === 0) return;
    this.#check();
    await this.#call('sendOffsetsToTransaction', (cb) => this.#producer.sendOffsetsToTransaction(offsets, consumer, REMAINING_TXN_TIME, cb));
  }

  /**
   * Commits outputs and consumed offsets together (or, at least once, in that order).
   * `offsetsSent`: exactly once, sendOffsets() has already put these offsets into the
   * transaction.
   */
  async commit(offsets: Kafka.TopicPartitionOffset[], consumer: Kafka.KafkaConsumer, offsetsSent = false): Promise<void> {
    if (!this.#options.exactlyOnce) {
      await this.flush();
      if (offsets.length > 0) consumer.commitSync(offsets);
      return;
    }
    // No flush of our own first: commitTransaction flushes (ignoring linger.ms) and
    // fails the transaction if any record failed, as Java's does, so the offsets'
    // round trip overlaps the records' acknowledgements instead of following them.
    this.#check();
    if (!offsetsSent) await this.sendOffsets(offsets, consumer);
    await this.#call('commitTransaction', (cb) => this.#producer.commitTransaction(REMAINING_TXN_TIME, cb));
    this.#state = 'READY';
  }

  /**
   * Drops the open transaction: records still queued are purged (their reports are
   * ignored), and the abort is resumed until the coordinator has taken it. A fatal
   * producer is left to begin(), which replaces it.
   */
  async abort(): Promise<void> {
    this.#generation++;
    this.#error = undefined;
    this.#ends.clear();
    this.#pending = 0;
    this.#wake();
    if (!this.#options.exactlyOnce || this.#state === 'READY' || this.#state === 'FATAL') return;
    this.counters.aborts++;
    await this.#call('abortTransaction', (cb) => this.#producer.abortTransaction(REMAINING_TXN_TIME, cb));
    this.#state = 'READY';
  }

  /**
   * Calls a transactional API until it completes, resuming after retriable errors.
   * One attempt that never returns (librdkafka #5456: sendOffsetsToTransaction waits
   * on its coordinator request past its own timeout after a broker was killed; seen
   * stuck for 7 to 10 minutes while the instance looked ready) is given up after
   * `stuckMs`: the producer is marked FATAL and the next begin() replaces it, whose
   * initTransactions fences the stuck one and aborts its transaction.
   */
  async #call(what: string, fn: (cb: Callback) => void): Promise<void> {
    const stuckMs = this.#options.stuckCallMs ?? Math.max(STUCK_CALL_MIN_MS, 1.5 * this.#options.transactionTimeoutMs);
    for (let attempt = 0; ; attempt++) {
      let timer: NodeJS.Timeout | undefined;
      this.counters.waiting = what;
      const outcome = await Promise.race([
        this.#calls.track(this.#producer, new Promise<Kafka.LibrdKafkaError | null | undefined>((resolve) => fn(resolve))),
        new Promise<'stuck'>((resolve) => (timer = setTimeout(() => resolve('stuck'), stuckMs))),
      ]);
      clearTimeout(timer);
      this.counters.waiting = '';
      if (outcome === 'stuck') {
        this.#state = 'FATAL';
        this.counters.stuck++;
        this.#options.log.error({ stuckMs }, `${what} did not return in ${stuckMs} ms: the producer will be replaced`);
        throw new EngineError('ORD_ERR_KAFKA', `${what} did not return in ${stuckMs} ms`);
      }
      const err = outcome;
      if (!err) return;
      const action = txnErrorAction(err);
      if (action === 'resume' && !this.#closing) {
        this.counters.resumed++;
        // Every attempt while the broker is away would log: say it on the first and then every 10th.
        if (attempt % 10 === 0) this.#options.log.warn({ err: err.message, code: err.code, attempt }, `${what}: retriable error, resuming the call`);
        await sleep(txnBackoffMs(attempt));
        continue;
      }
      // Given up (fatal, doomed, or closing with the call still running): the next
      // begin() aborts or replaces before anything else is sent.
      this.#state = action === 'replace' ? 'FATAL' : 'ABORT_REQUIRED';
      throw new EngineError('ORD_ERR_KAFKA', `${what} failed (${action}): ${err.message}`, { cause: err });
    }
  }

  /** A fatal error ended this producer: a new one with the same transactional.id takes over. */
  async #replace(): Promise<void> {
    const now = Date.now();
    while (this.#replacedAt.length > 0 && this.#replacedAt[0]! < now - REPLACE_WINDOW_MS) this.#replacedAt.shift();
    if (this.#replacedAt.length >= MAX_REPLACEMENTS) {
      throw new EngineError(
        'ORD_ERR_ILLEGAL_STATE',
        `the transactional producer ${this.#options.transactionalId} was fenced ${MAX_REPLACEMENTS} times in ${REPLACE_WINDOW_MS / 1000} s: another instance runs with the same INSTANCE_ID`,
      );
    }
    this.#replacedAt.push(now);
    this.#options.log.warn({ transactionalId: this.#options.transactionalId }, 'transactional producer hit a fatal error: replacing it');
    const old = this.#producer;
    this.counters.waiting = 'replacing the producer';
    this.#generation++;
    this.#pending = 0;
    this.#error = undefined;
    this.#wake();
    // The old producer is not waited for: its disconnect took up to its 5 s timeout after
    // a broker restart, and the new one's initTransactions fences it anyway (its reports
    // are ignored: #listen). It is destroyed only once no call of ours runs in it.
    void this.#retire(old);
    const started = Date.now();
    this.#producer = await TransactionalProducer.#create(this.#options);
    this.#listen(this.#producer);
    this.counters.replaced++;
    this.counters.waiting = '';
    this.#state = 'READY';
    this.#options.log.info({ ms: Date.now() - started }, 'transactional producer replaced: the new one has fenced the old');
  }

  #wake(): void {
    for (const wake of this.#drained.splice(0)) wake();
  }

  #check(): void {
    if (this.#error !== undefined) {
      const err = this.#error;
      throw new EngineError('ORD_ERR_KAFKA', `a send of this transaction failed: ${err.message} (${this.#errorAt})`, { cause: err });
    }
  }

  /**
   * Disconnects a replaced producer once the call it was replaced for has returned:
   * destroying a librdkafka client under a running transactional call crashes the
   * process (native-calls.ts). A call that never returns keeps its fenced producer.
   */
  async #retire(old: Kafka.Producer): Promise<void> {
    const running = this.#calls.running(old);
    if (running > 0) {
      this.#options.log.warn({ running }, 'the replaced producer still has a transactional call running in librdkafka: it is disconnected once that returns');
    }
    await this.#calls.idle(old);
    await disconnectProducer(old, 5000);
    this.#options.log.debug('the replaced producer is disconnected');
  }

  async close(): Promise<void> {
    this.#closing = true;
    if (!(await this.#calls.idle(this.#producer, CLOSE_WAIT_MS))) {
      this.#options.log.warn(
        { waitedMs: CLOSE_WAIT_MS },
        'a transactional call is still running in librdkafka: the producer is left connected (destroying it under the call would crash the process)',
      );
      return;
    }
    await disconnectProducer(this.#producer, 10_000);
  }
}
