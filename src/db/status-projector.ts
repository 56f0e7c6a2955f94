// Brings the saga's decisions back into Postgres: consumes `orders` (read_committed,
// its own consumer group), and sets status and source of each decided order, in
// batches, idempotently (a replayed decision changes nothing). Offsets are committed
// only after Postgres took the batch, so a crash replays rather than loses. While
// Postgres is down the projector waits and retries; the stream engine, which never
// waits on Postgres, goes on deciding (the seed's failure table: "Database failure").
import Kafka from 'node-rdkafka';
import type pg from 'pg';
import { parseOrderDto } from '../domain/order-dto.js';
import { pollBatch } from '../kafka/poll.js';
import { TOPIC_ORDERS } from '../kafka/topics.js';
import type { Logger } from '../logger.js';

const FINAL = new Set(['CONFIRMED', 'REJECTED', 'ROLLBACK', 'FAILED']);

export interface StatusProjectorStats {
  updated: number;
  batches: number;
  failures: number;
}

export class StatusProjector {
  readonly #consumer: Kafka.KafkaConsumer;
  readonly #pool: pg.Pool;
  readonly #log: Logger;
  readonly stats: StatusProjectorStats = { updated: 0, batches: 0, failures: 0 };
  #running = true;
  readonly #loop: Promise<void>;

  private constructor(consumer: Kafka.KafkaConsumer, pool: pg.Pool, log: Logger) {
    this.#consumer = consumer;
    this.#pool = pool;
    this.#log = log;
    this.#loop = this.#run();
  }

  static async start(brokers: string, groupId: string, pool: pg.Pool, log: Logger, onClientError?: (err: Kafka.LibrdKafkaError) => void): Promise<StatusProjector> {
    const consumer = new Kafka.KafkaConsumer(
      {
        'metadata.broker.list': brokers,
        'group.id': groupId,
        'enable.auto.commit': false,
        'isolation.level': 'read_committed',
        'partition.assignment.strategy': 'cooperative-sticky',
        // librdkafka's default session (45 s) is how long decisions waited to reach
        // Postgres after a broker restart, for the membership this member left behind.
        'session.timeout.ms': 10_000,
        'heartbeat.interval.ms': 3000,
        'reconnect.backoff.max.ms': 1000,
        rebalance_cb: true,
      },
      { 'auto.offset.reset': 'earliest' },
    );
    if (onClientError !== undefined) consumer.on('event.error', onClientError);
    await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 30_000 }, (err) => (err ? reject(err) : resolve())));
    consumer.subscribe([TOPIC_ORDERS]);
    return new StatusProjector(consumer, pool, log);
  }

  async #run(): Promise<void> {
    while (this.#running) {
      let messages: Kafka.Message[];
      try {
        messages = await pollBatch(this.#consumer, 1000, 100);
      } catch (err) {
        this.#log.warn({ err }, 'status projector: consume failed; retrying');
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      if (messages.length === 0) continue;
      const latest = new Map<number, { status: string; source: string | null }>();
      for (const m of messages) {
        if (m.value === null || m.value === undefined) continue;
        try {
          const dto = parseOrderDto(m.value);
          if (FINAL.has(dto.status)) latest.set(dto.orderId, { status: dto.status, source: dto.source });
        } catch {
          // Not an OrderDto: the stream task sends it to the DLQ; nothing to project.
        }
      }
      // Postgres first, offsets after: retried until it takes the batch or we stop.
      for (let attempt = 0; this.#running || attempt === 0; attempt++) {
        try {
          if (latest.size > 0) await this.#apply(latest);
          break;
        } catch (err) {
          this.stats.failures++;
          this.#log.warn({ err, attempt }, 'status projector: Postgres update failed; retrying');
          await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** attempt)));
        }
      }
      const offsets = new Map<string, Kafka.TopicPartitionOffset>();
      for (const m of messages) offsets.set(`${m.topic}:${m.partition}`, { topic: m.topic, partition: m.partition, offset: m.offset + 1 });
      // Asynchronous: a lost commit only replays an idempotent batch, and a synchronous
      // one would block the main thread, which every librdkafka handle shares.
      try {
        this.#consumer.commit([...offsets.values()]);
      } catch (err) {
        this.#log.warn({ err }, 'status projector: offset commit failed (the batch will be replayed, harmlessly)');
      }
    }
  }

  async #apply(latest: Map<number, { status: string; source: string | null }>): Promise<void> {
    const ids = [...latest.keys()];
    const res = await this.#pool.query(
      `update orders o set status = t.status, source = t.source, version = o.version + 1, last_modified_date = now()
         from unnest($1::bigint[], $2::text[], $3::text[]) as t(id, status, source)
        where o.id = t.id and (o.status is distinct from t.status or o.source is distinct from t.source)`,
      [ids, ids.map((id) => latest.get(id)!.status), ids.map((id) => latest.get(id)!.source)],
    );
    this.stats.updated += res.rowCount ?? 0;
    this.stats.batches++;
  }

  async close(): Promise<void> {
    this.#running = false;
    await this.#loop;
    await new Promise<void>((resolve) => this.#consumer.disconnect(() => resolve()));
  }
}
