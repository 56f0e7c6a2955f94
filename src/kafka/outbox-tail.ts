// The topic side of outbox recovery (src/db/outbox-recovery.ts): the watermarks of the
// topics the relay publishes to, and a scan of partition tails for the outbox ids the
// records carry in their headers. Runs in the kafka thread like every librdkafka handle.
//
// The scan is a plain assigned consumer (no group, no commits) reading
// read_uncommitted: the outbox producer is idempotent but not transactional, so its
// records are final once acknowledged, and read_uncommitted reads up to the high
// watermark instead of stopping at an open stream transaction (the last stable offset).
// The stream's own records (decisions, in transactions, aborted ones included) carry no
// outbox-id header and are skipped.
import Kafka from 'node-rdkafka';
import type { OutboxLog } from '../db/outbox-recovery.js';
import { outboxIdOf, type ScanRange, type Watermarks } from '../db/outbox-positions.js';
import { EngineError } from '../errors.js';
import type { Logger } from '../logger.js';
import { pollBatch } from './poll.js';
import { queryWatermarks } from './watermarks.js';

const kafkaError = (what: string) => (err: Kafka.LibrdKafkaError) => new EngineError('ORD_ERR_KAFKA', `${what}: ${err.message}`, { cause: err });

export interface OutboxTailOptions {
  readonly brokers: string;
  readonly clientId: string;
  /** Give up a scan that has not reached the end of every range after this long. */
  readonly scanTimeoutMs?: number;
  /** Log progress this often during a long scan. */
  readonly progressEveryMs?: number;
}

export class OutboxTail implements OutboxLog {
  readonly #client: Kafka.Producer;
  readonly #options: OutboxTailOptions;
  readonly #log: Logger;

  /** `client` is any connected handle (the relay's producer): it answers metadata and watermark queries. */
  constructor(client: Kafka.Producer, options: OutboxTailOptions, log: Logger) {
    this.#client = client;
    this.#options = options;
    this.#log = log;
  }

  async watermarks(topic: string): Promise<Watermarks[]> {
    const meta = await new Promise<Kafka.Metadata>((resolve, reject) => {
      this.#client.getMetadata({ topic, timeout: 10_000 }, (err, m) => (err ? reject(kafkaError(`metadata of ${topic}`)(err)) : resolve(m)));
    });
    const partitions = meta.topics.find((t) => t.name === topic)?.partitions ?? [];
    if (partitions.length === 0) throw new EngineError('ORD_ERR_KAFKA', `topic ${topic} has no partitions (does it exist?)`);
    return Promise.all(
      partitions.map(
        (p) =>
          queryWatermarks(this.#client, topic, p.id, 10_000).then(
            (o): Watermarks => ({ topic, partition: p.id, low: o.lowOffset, high: o.highOffset }),
            (err: Kafka.LibrdKafkaError) => {
              throw kafkaError(`watermarks of ${topic}-${p.id}`)(err);
            },
          ),
      ),
    );
  }

  async findOutboxIds(ranges: readonly ScanRange[]): Promise<Map<number, string>> {
    const found = new Map<number, string>();
    const open = new Map(ranges.filter((r) => r.to > r.from).map((r) => [`${r.topic}:${r.partition}`, r]));
    if (open.size === 0) return found;
    const total = [...open.values()].reduce((n, r) => n + (r.to - r.from), 0);
    const consumer = new Kafka.KafkaConsumer(
      {
        'metadata.broker.list': this.#options.brokers,
        'client.id': `${this.#options.clientId}-scan`,
        // Required by the client; never joined (assign only) and never committed.
        'group.id': `${this.#options.clientId}-scan`,
        'enable.auto.commit': false,
        'enable.partition.eof': true,
        'isolation.level': 'read_uncommitted',
        'fetch.max.bytes': 16 * 1024 * 1024,
      },
      // A position deleted by retention meanwhile: read what is left.
      { 'auto.offset.reset': 'earliest' },
    );
    await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 30_000 }, (err) => (err ? reject(kafkaError('cannot connect the outbox scan consumer')(err)) : resolve())));
    try {
      // The end may be a transaction marker, which no message reaches: EOF closes it.
      // node-rdkafka emits the EOF events of one consume call before it returns that
      // call's messages, so an EOF closes its range only after the batch it came with is
      // read: closed at once, the records fetched with it would be skipped, and their
      // orphans taken for unpublished and sent again. (librdkafka has so far delivered
      // EOF in a later call than the records before it: test/integration/outbox-tail.)
      const ended = new Map<string, number>();
      consumer.on('partition.eof', (eof) => ended.set(`${eof.topic}:${eof.partition}`, eof.offset));
      consumer.assign([...open.values()].map((r) => ({ topic: r.topic, partition: r.partition, offset: r.from })));
      this.#log.info({ partitions: [...open.keys()], records: total }, 'outbox scan: started');
      const deadline = Date.now() + (this.#options.scanTimeoutMs ?? 600_000);
      const every = this.#options.progressEveryMs ?? 2000;
      let scanned = 0;
      let lastLog = Date.now();
      while (open.size > 0) {
        if (Date.now() > deadline) {
          throw new EngineError('ORD_ERR_KAFKA', `outbox scan did not reach the end of ${[...open.keys()].join(', ')} in time`);
        }
        for (const m of await pollBatch(consumer, 5000, 500)) {
          const k = `${m.topic}:${m.partition}`;
          const r = open.get(k);
          if (r === undefined || m.offset >= r.to) continue; // past the snapshot: not this scan's business
          scanned++;
          const id = outboxIdOf(m.headers);
          if (id !== undefined) found.set(id, m.key === undefined || m.key === null ? '' : m.key.toString());
          if (m.offset + 1 >= r.to) open.delete(k);
        }
        for (const [k, offset] of ended) if (offset >= (open.get(k)?.to ?? 0)) open.delete(k);
        ended.clear();
        if (Date.now() - lastLog > every) {
          lastLog = Date.now();
          this.#log.info({ scanned, of: total, found: found.size }, 'outbox scan: progress');
        }
      }
      this.#log.info({ scanned, found: found.size }, 'outbox scan: done');
      return found;
    } finally {
      await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
    }
  }
}
