// Reads a topic read_committed with a plain assigned consumer (no group): from its
// current end, what a downstream service would see from now on; or from its
// beginning, everything committed so far. Each record keeps the moment it arrived,
// for tests that time how long something took to become visible.
import Kafka from 'node-rdkafka';
import { pollBatch } from '../../src/kafka/poll.js';
import { KAFKA_BOOTSTRAP_SERVERS } from './env.js';

export interface ReadRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string;
  readonly value: Buffer;
  readonly headers: Record<string, string>;
  /** performance.now() when this process received it. */
  /** The record's Kafka timestamp (ms). */
  readonly timestamp: number;
  readonly receivedAt: number;
}

export interface TopicReaderOptions {
  /** Default: the integration tests' broker (test/support/env.ts). */
  readonly brokers?: string;
  /** 'end' (default): only what is committed from now on; 'beginning': everything. */
  readonly from?: 'end' | 'beginning';
}

type Consumer = Kafka.KafkaConsumer;

/** A plain (never subscribed) consumer, read_committed unless `extra` says otherwise. */
export async function connect(brokers: string, extra: Kafka.ConsumerGlobalConfig = {}): Promise<Consumer> {
  const consumer = new Kafka.KafkaConsumer(
    {
      'metadata.broker.list': brokers,
      'group.id': `test-reader-${process.pid}-${Date.now()}`,
      'enable.auto.commit': false,
      'isolation.level': 'read_committed',
      // The fault tests time recoveries by when records arrive here, so this reader must
      // be back before what it measures: librdkafka's default reconnect backoff grows to
      // 10 s, and after a broker restart it added up to that much to the figures.
      'reconnect.backoff.ms': 50,
      'reconnect.backoff.max.ms': 250,
      ...extra,
    },
    {},
  );
  // A broker that goes away (a fault test kills it) is reported here; librdkafka
  // reconnects by itself, and without a listener the report would be unhandled.
  consumer.on('event.error', () => undefined);
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
  return consumer;
}

export async function partitionsOf(consumer: Consumer, topic: string): Promise<number[]> {
  const meta = await new Promise<Kafka.Metadata>((resolve, reject) =>
    consumer.getMetadata({ topic, timeout: 10_000 }, (err, m) => (err ? reject(err) : resolve(m))),
  );
  const partitions = meta.topics.find((t) => t.name === topic)?.partitions ?? [];
  if (partitions.length === 0) throw new Error(`topic ${topic} has no partitions`);
  return partitions.map((p) => p.id);
}

export function toRecord(m: Kafka.Message, receivedAt: number): ReadRecord {
  const headers: Record<string, string> = {};
  for (const h of m.headers ?? []) for (const [k, v] of Object.entries(h)) headers[k] = Buffer.from(v as Buffer).toString();
  return {
    topic: m.topic,
    partition: m.partition,
    offset: m.offset,
    key: m.key === undefined || m.key === null ? '' : m.key.toString(),
    value: m.value ?? Buffer.alloc(0),
    headers,
    timestamp: m.timestamp ?? 0,
    receivedAt,
  };
}

// librdkafka's logical offset for "the partition's first record".
const OFFSET_BEGINNING = -2;

export class TopicReader {
  readonly records: ReadRecord[] = [];
  readonly #consumer: Consumer;
  #closed = false;

  private constructor(consumer: Consumer) {
    this.#consumer = consumer;
  }

  static async fromEnd(topic: string): Promise<TopicReader> {
    return TopicReader.open(topic, { from: 'end' });
  }

  static async open(topic: string, options: TopicReaderOptions = {}): Promise<TopicReader> {
    const consumer = await connect(options.brokers ?? KAFKA_BOOTSTRAP_SERVERS);
    const partitions = await partitionsOf(consumer, topic);
    const assignments =
      options.from === 'beginning'
        ? partitions.map((partition) => ({ topic, partition, offset: OFFSET_BEGINNING }))
        : await Promise.all(
            partitions.map(
              (partition) =>
                new Promise<Kafka.Assignment & { offset: number }>((resolve, reject) =>
                  consumer.queryWatermarkOffsets(topic, partition, 10_000, (err, o) => (err ? reject(err) : resolve({ topic, partition, offset: o.highOffset }))),
                ),
            ),
          );
    consumer.assign(assignments);
    const reader = new TopicReader(consumer);
    reader.#loop();
    return reader;
  }

  #loop(): void {
    if (this.#closed) return;
    void pollBatch(this.#consumer, 500, 100).then(
      (messages) => {
        const now = performance.now();
        for (const m of messages) this.records.push(toRecord(m, now));
      },
      () => undefined, // a failed poll (broker away, or closing) is tried again
    ).finally(() => setImmediate(() => this.#loop()));
  }

  byKey(key: string): ReadRecord[] {
    return this.records.filter((r) => r.key === key);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await new Promise<void>((resolve) => this.#consumer.disconnect(() => resolve()));
  }
}

/**
 * Everything committed on `topic` now: reads every partition from its beginning,
 * read_committed, until librdkafka reports the partition's end (for read_committed,
 * its last stable offset), with a fresh consumer that shares nothing with the code
 * under test. Throws if that takes longer than `timeoutMs`.
 */
export async function readCommitted(topic: string, brokers: string, timeoutMs = 60_000): Promise<ReadRecord[]> {
  const consumer = await connect(brokers, { 'enable.partition.eof': true });
  try {
    const partitions = await partitionsOf(consumer, topic);
    const atEnd = new Set<number>();
    consumer.on('partition.eof', (eof) => atEnd.add(eof.partition));
    consumer.assign(partitions.map((partition) => ({ topic, partition, offset: OFFSET_BEGINNING })));
    const records: ReadRecord[] = [];
    const deadline = performance.now() + timeoutMs;
    // node-rdkafka emits a batch's end-of-partition events before it hands the batch
    // over, so once every partition has reported its end, every record before it is in.
    while (atEnd.size < partitions.length) {
      if (performance.now() > deadline) throw new Error(`reading ${topic} to its end took over ${timeoutMs} ms (${atEnd.size}/${partitions.length} partitions at their end)`);
      const messages = await pollBatch(consumer, 1000, 200).catch(() => []);
      const now = performance.now();
      for (const m of messages) records.push(toRecord(m, now));
    }
    return records;
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}
