// The producer of the stream engine. Under exactly_once_v2 it is transactional: a
// transaction spans one commit interval and holds the tasks' outputs, their changelog
// records and the consumed offsets (sendOffsetsToTransaction with the consumer's group
// metadata, KIP-447), so all of them commit or none. Under at_least_once the same
// calls degrade to a flush and a synchronous offset commit. The first failed delivery
// is latched and fails the next commit (RecordCollectorImpl.checkForException).
import Kafka from 'node-rdkafka';
import { EngineError } from '../errors.js';
import type { OutputRecord } from '../stream/protocol.js';

const ERR_QUEUE_FULL = Kafka.CODES.ERRORS.ERR__QUEUE_FULL;

export interface TransactionalProducerOptions {
  readonly brokers: string;
  readonly transactionalId: string;
  readonly exactlyOnce: boolean;
  readonly transactionTimeoutMs: number;
}

function call(fn: (cb: (err: Kafka.LibrdKafkaError | null | undefined) => void) => void, what: string): Promise<void> {
  return new Promise((resolve, reject) =>
    fn((err) => (err ? reject(new EngineError('ORD_ERR_KAFKA', `${what} failed: ${err.message}`, { cause: err })) : resolve())),
  );
}

export class TransactionalProducer {
  readonly #producer: Kafka.Producer;
  readonly #exactlyOnce: boolean;
  #pending = 0;
  #drained: (() => void)[] = [];
  #error: Kafka.LibrdKafkaError | undefined;
  #inTransaction = false;
  /** `topic:partition` → next offset after the last delivered record, for checkpoints. */
  readonly #ends = new Map<string, number>();

  private constructor(producer: Kafka.Producer, exactlyOnce: boolean) {
    this.#producer = producer;
    this.#exactlyOnce = exactlyOnce;
    producer.on('delivery-report', (err, report) => {
      if (err) this.#error ??= err;
      else {
        const k = `${report.topic}:${report.partition}`;
        this.#ends.set(k, Math.max(this.#ends.get(k) ?? 0, report.offset + 1));
      }
      if (--this.#pending === 0) for (const wake of this.#drained.splice(0)) wake();
    });
  }

  static async connect(options: TransactionalProducerOptions): Promise<TransactionalProducer> {
    const producer = new Kafka.Producer(
      {
        'metadata.broker.list': options.brokers,
        'client.id': options.transactionalId,
        dr_cb: true,
        'enable.idempotence': true,
        'linger.ms': 5,
        'compression.codec': 'lz4',
        'socket.keepalive.enable': true,
        // Bounded for a 2 GiB pod (librdkafka's default is 1 GiB); a full queue makes
        // send() wait for deliveries instead.
        'queue.buffering.max.kbytes': 64 * 1024,
        ...(options.exactlyOnce ? { 'transactional.id': options.transactionalId, 'transaction.timeout.ms': options.transactionTimeoutMs } : {}),
      },
      { acks: -1 },
    );
    await call((cb) => producer.connect({ timeout: 30_000 }, (err) => cb(err)), 'producer connect');
    producer.setPollInterval(5);
    // A restarted instance with the same transactional.id fences its predecessor and
    // aborts the transaction it left open, so read_committed readers are not held up.
    if (options.exactlyOnce) await call((cb) => producer.initTransactions(30_000, cb), 'initTransactions');
    return new TransactionalProducer(producer, options.exactlyOnce);
  }

  async begin(): Promise<void> {
    if (!this.#exactlyOnce || this.#inTransaction) return;
    await call((cb) => this.#producer.beginTransaction(cb), 'beginTransaction');
    this.#inTransaction = true;
  }

  /** Queues records in the open transaction; waits only when librdkafka's queue is full. */
  async send(records: readonly OutputRecord[]): Promise<void> {
    this.#check();
    for (const r of records) {
      for (;;) {
        try {
          const value = r.value === null ? null : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
          this.#producer.produce(r.topic, r.partition, value, r.key, Date.now(), undefined, r.headers as Kafka.MessageHeader[] | undefined);
          this.#pending++;
          break;
        } catch (err) {
          if ((err as Kafka.LibrdKafkaError).code !== ERR_QUEUE_FULL) throw new EngineError('ORD_ERR_KAFKA', `produce failed: ${(err as Error).message}`, { cause: err });
          await new Promise((wake) => setTimeout(wake, 2));
        }
      }
    }
  }

  /** Waits for every delivery report; throws the first failed delivery. */
  async flush(): Promise<void> {
    if (this.#pending > 0) await new Promise<void>((resolve) => this.#drained.push(resolve));
    this.#check();
  }

  /** The changelog end offsets delivered since the last call. */
  takeEnds(): Map<string, number> {
    const ends = new Map(this.#ends);
    this.#ends.clear();
    return ends;
  }

  /** Commits outputs and consumed offsets together (or, at least once, in that order). */
  async commit(offsets: Kafka.TopicPartitionOffset[], consumer: Kafka.KafkaConsumer): Promise<void> {
    await this.flush();
    if (!this.#exactlyOnce) {
      if (offsets.length > 0) consumer.commitSync(offsets);
      return;
    }
    if (offsets.length > 0) await call((cb) => this.#producer.sendOffsetsToTransaction(offsets, consumer, 30_000, cb), 'sendOffsetsToTransaction');
    await call((cb) => this.#producer.commitTransaction(30_000, cb), 'commitTransaction');
    this.#inTransaction = false;
  }

  async abort(): Promise<void> {
    this.#error = undefined;
    this.#ends.clear();
    if (!this.#exactlyOnce || !this.#inTransaction) return;
    this.#inTransaction = false;
    await call((cb) => this.#producer.abortTransaction(30_000, cb), 'abortTransaction');
  }

  #check(): void {
    if (this.#error !== undefined) {
      const err = this.#error;
      throw new EngineError('ORD_ERR_KAFKA', `a send of this transaction failed: ${err.message}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#producer.disconnect(10_000, () => resolve()));
  }
}
