// A node-rdkafka producer whose sends resolve on the broker's acknowledgement, with
// where each record landed. A failed delivery rejects the batch it belongs to; it
// never vanishes into a callback (Kafka Streams' RecordCollectorImpl latches the first
// send error the same way).
import Kafka from 'node-rdkafka';
import { EngineError } from '../errors.js';
import type { Logger } from '../logger.js';
import { connectClient, disconnectProducer } from './connect.js';

export interface OutgoingRecord {
  readonly topic: string;
  readonly key: string;
  readonly value: Buffer;
  /** Omit to let the murmur2_random partitioner choose, as the Java client would. */
  readonly partition?: number;
  readonly headers?: readonly Record<string, string | Buffer>[];
  /** The record's timestamp (ms since the epoch); omit for the time of the send. */
  readonly timestamp?: number;
}

/** Where the broker appended an acknowledged record. */
export interface Delivery {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

interface Batch {
  remaining: number;
  error: Kafka.LibrdKafkaError | undefined;
  readonly delivered: Delivery[];
  readonly resolve: (delivered: Delivery[]) => void;
  readonly reject: (err: unknown) => void;
}

const ERR_QUEUE_FULL = Kafka.CODES.ERRORS.ERR__QUEUE_FULL;

export interface ProducerOptions {
  readonly brokers: string;
  readonly clientId: string;
  /** Fail a delivery that the broker has not acknowledged after this long. */
  readonly deliveryTimeoutMs: number;
  readonly extra?: Kafka.ProducerGlobalConfig;
  /** Where waiting for a broker at start is reported. */
  readonly log?: Logger;
}

export class DeliveringProducer {
  readonly #producer: Kafka.Producer;

  private constructor(producer: Kafka.Producer) {
    this.#producer = producer;
    producer.on('delivery-report', (err, report) => {
      const batch = report.opaque as Batch;
      if (err) batch.error ??= err;
      else batch.delivered.push({ topic: report.topic, partition: report.partition, offset: report.offset });
      if (--batch.remaining === 0) {
        if (batch.error) batch.reject(new EngineError('ORD_ERR_KAFKA', `delivery failed: ${batch.error.message}`, { cause: batch.error }));
        else batch.resolve(batch.delivered);
      }
    });
  }

  static async connect(options: ProducerOptions): Promise<DeliveringProducer> {
    const producer = new Kafka.Producer(
      {
        'metadata.broker.list': options.brokers,
        'client.id': options.clientId,
        dr_cb: true,
        // Idempotent: retries never duplicate or reorder within a partition; acks=all.
        'enable.idempotence': true,
        'linger.ms': 2,
        'compression.codec': 'lz4',
        'socket.keepalive.enable': true,
        // Reconnect within a second of a restarted broker's return: librdkafka's default
        // backs off to 10 s, which left the outbox's queued records (orders taken during
        // the outage) waiting out their delivery timeout instead of going out.
        'reconnect.backoff.max.ms': 1000,
        'queue.buffering.max.kbytes': 32 * 1024,
        ...options.extra,
      },
      {
        acks: -1,
        'message.timeout.ms': options.deliveryTimeoutMs,
        // Byte-for-byte the Java client's default partitioner for keyed records
        // (librdkafka's default is consistent_random, a different hash).
        partitioner: 'murmur2_random',
      },
    );
    await connectClient(producer, { what: `producer ${options.clientId}`, ...(options.log === undefined ? {} : { log: options.log }) });
    producer.setPollInterval(5);
    return new DeliveringProducer(producer);
  }

  get client(): Kafka.Producer {
    return this.#producer;
  }

  /** Sends every record; resolves when all are acknowledged, rejects if any fails. */
  async sendAll(records: readonly OutgoingRecord[]): Promise<void> {
    await this.deliverAll(records);
  }

  /** As sendAll, resolving with where each record landed (in the order of the acknowledgements). */
  async deliverAll(records: readonly OutgoingRecord[]): Promise<Delivery[]> {
    if (records.length === 0) return [];
    return new Promise<Delivery[]>((resolve, reject) => {
      void this.#produceAll(records, { remaining: records.length, error: undefined, delivered: [], resolve, reject });
    });
  }

  async #produceAll(records: readonly OutgoingRecord[], batch: Batch): Promise<void> {
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      for (;;) {
        try {
          this.#producer.produce(r.topic, r.partition ?? null, r.value, r.key, r.timestamp ?? Date.now(), batch, r.headers as Kafka.MessageHeader[] | undefined);
          break;
        } catch (err) {
          if ((err as Kafka.LibrdKafkaError).code === ERR_QUEUE_FULL) {
            // The local queue is full: wait for deliveries to drain it (backpressure).
            await new Promise((wake) => setTimeout(wake, 5));
            continue;
          }
          // Records already queued still report; the ones never queued are settled here.
          batch.error ??= err as Kafka.LibrdKafkaError;
          batch.remaining -= records.length - i;
          if (batch.remaining === 0) batch.reject(new EngineError('ORD_ERR_KAFKA', `produce failed: ${(err as Error).message}`, { cause: err }));
          return;
        }
      }
    }
  }

  async close(timeoutMs = 10_000): Promise<void> {
    await new Promise<void>((resolve) => this.#producer.flush(timeoutMs, () => resolve()));
    await disconnectProducer(this.#producer, timeoutMs);
  }
}
