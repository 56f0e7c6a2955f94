// Reads a topic from its current end, read_committed, with a plain assigned consumer
// (no group): what a downstream service would see from now on.
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
}

export class TopicReader {
  readonly records: ReadRecord[] = [];
  readonly #consumer: Kafka.KafkaConsumer;
  #closed = false;

  private constructor(consumer: Kafka.KafkaConsumer) {
    this.#consumer = consumer;
  }

  static async fromEnd(topic: string): Promise<TopicReader> {
    const consumer = new Kafka.KafkaConsumer(
      {
        'metadata.broker.list': KAFKA_BOOTSTRAP_SERVERS,
        'group.id': `test-reader-${process.pid}-${Date.now()}`,
        'enable.auto.commit': false,
        'isolation.level': 'read_committed',
      },
      {},
    );
    await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
    const meta = await new Promise<Kafka.Metadata>((resolve, reject) =>
      consumer.getMetadata({ topic, timeout: 10_000 }, (err, m) => (err ? reject(err) : resolve(m))),
    );
    const partitions = meta.topics.find((t) => t.name === topic)?.partitions ?? [];
    if (partitions.length === 0) throw new Error(`topic ${topic} has no partitions`);
    const assignments = await Promise.all(
      partitions.map(
        (p) =>
          new Promise<Kafka.Assignment & { offset: number }>((resolve, reject) =>
            consumer.queryWatermarkOffsets(topic, p.id, 10_000, (err, o) => (err ? reject(err) : resolve({ topic, partition: p.id, offset: o.highOffset }))),
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
        for (const m of messages) {
          const headers: Record<string, string> = {};
          for (const h of m.headers ?? []) for (const [k, v] of Object.entries(h)) headers[k] = Buffer.from(v as Buffer).toString();
          this.records.push({
            topic: m.topic,
            partition: m.partition,
            offset: m.offset,
            key: m.key === undefined || m.key === null ? '' : m.key.toString(),
            value: m.value ?? Buffer.alloc(0),
            headers,
          });
        }
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
