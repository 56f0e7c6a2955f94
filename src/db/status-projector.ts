// Brings the saga's decisions back into Postgres: consumes `orders` (read_committed,
// its own consumer group), and sets status and source of each decided order, in
// batches, idempotently (a replayed decision changes nothing). While Postgres is down
// the projector waits and retries; the stream engine, which never waits on Postgres,
// goes on deciding (the seed's failure table: "Database failure").
//
// The one rule: offsets are committed only for what Postgres took. A batch is
// applied, then its offsets are committed; a batch that Postgres has not taken when
// the projector stops is left uncommitted, so the next start reads it again. (The
// first version made one attempt on shutdown and committed anyway: Postgres down +
// SIGTERM lost those decisions for Postgres for good.) Replays are harmless because
// the update is idempotent.
//
// A decision Postgres refuses for its content (not for being down: a NUL in a source,
// say) would otherwise be retried forever and stall every decision behind it: the
// batch is then written row by row, and the refused row is logged with its partition
// and offset and passed over.
import Kafka from 'node-rdkafka';
import type pg from 'pg';
import { compareIds } from '../domain/id64.js';
import { parseOrderDto } from '../domain/order-dto.js';
import { recoveryOf } from '../errors.js';
import { connectClient, disconnectClient } from '../kafka/connect.js';
import { groupProtocolConfig, type GroupProtocol } from '../kafka/group-protocol.js';
import { pollBatch } from '../kafka/poll.js';
import { TOPIC_ORDERS } from '../kafka/topics.js';
import type { Logger } from '../logger.js';
import { dbError } from './pool.js';
import { nextOffsets, projectDecisions, type Decision } from './status-projection.js';

const ERR_ASSIGN = Kafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS;
const ERR_REVOKE = Kafka.CODES.ERRORS.ERR__REVOKE_PARTITIONS;
const ERR_FATAL = Kafka.CODES.ERRORS.ERR__FATAL;

export interface StatusProjectorStats {
  /** Rows whose status or source changed. */
  updated: number;
  /** Batches Postgres took. */
  batches: number;
  /** Failed attempts at a batch because Postgres was unavailable. */
  failures: number;
  /** Decisions Postgres refused for their content, passed over. */
  refused: number;
  /** Polls that failed (the loop waits and polls again). */
  consumeErrors: number;
}

export interface StatusProjectorOptions {
  /** GROUP_PROTOCOL; KIP-848's by default. */
  readonly groupProtocol?: GroupProtocol;
  /** Extra librdkafka settings (tests shorten the session and poll intervals). */
  readonly consumerConfig?: Readonly<Record<string, string | number | boolean>>;
  /** Longest wait between two attempts at a batch while Postgres is down. */
  readonly maxRetryDelayMs?: number;
  /** librdkafka's error events (broker down...), for health and metrics. */
  readonly onClientError?: (err: Kafka.LibrdKafkaError) => void;
}

const UPDATE_STATUSES = `
  update orders o set status = t.status, source = t.source, version = o.version + 1, last_modified_date = now()
    from unnest($1::bigint[], $2::text[], $3::text[]) as t(id, status, source)
   where o.id = t.id and (o.status is distinct from t.status or o.source is distinct from t.source)`;

export class StatusProjector {
  #consumer: Kafka.KafkaConsumer;
  /** A new connected consumer, to replace one that hit a fatal error. */
  readonly #connect: () => Promise<Kafka.KafkaConsumer>;
  /**
   * The assigned `orders` partitions, kept from the rebalance events: librdkafka's
   * assignments() is a synchronous round trip to its own main thread, which took 4.5%
   * of this (the kafka) thread's time at 2,000 orders/s when asked once per batch.
   */
  readonly #owned = new Set<number>();
  readonly #pool: pg.Pool;
  readonly #log: Logger;
  readonly #maxRetryDelayMs: number;
  readonly stats: StatusProjectorStats = { updated: 0, batches: 0, failures: 0, refused: 0, consumeErrors: 0 };
  #running = true;
  /** Ends the current back-off wait early (close). */
  #wake: (() => void) | undefined;
  readonly #loop: Promise<void>;

  private constructor(consumer: Kafka.KafkaConsumer, connect: () => Promise<Kafka.KafkaConsumer>, pool: pg.Pool, log: Logger, options: StatusProjectorOptions) {
    this.#consumer = consumer;
    this.#connect = connect;
    this.#pool = pool;
    this.#log = log;
    this.#maxRetryDelayMs = options.maxRetryDelayMs ?? 5000;
    this.#track(consumer);
    this.#loop = this.#run();
  }

  static async start(brokers: string, groupId: string, pool: pg.Pool, log: Logger, options: StatusProjectorOptions = {}): Promise<StatusProjector> {
    const connect = async (): Promise<Kafka.KafkaConsumer> => {
      const consumer = StatusProjector.#create(brokers, groupId, log, options);
      await connectClient(consumer, { what: 'status projector', log });
      return consumer;
    };
    const consumer = await connect();
    const projector = new StatusProjector(consumer, connect, pool, log, options);
    consumer.subscribe([TOPIC_ORDERS]);
    return projector;
  }

  static #create(brokers: string, groupId: string, log: Logger, options: StatusProjectorOptions): Kafka.KafkaConsumer {
    const consumer = new Kafka.KafkaConsumer(
      {
        'metadata.broker.list': brokers,
        'group.id': groupId,
        'enable.auto.commit': false,
        'isolation.level': 'read_committed',
        // Classic: after a broker restart the group waits out the session of the
        // membership this member left behind (librdkafka's default, 45 s, was how long
        // decisions waited to reach Postgres); 6 s is the broker's smallest
        // (group.min.session.timeout.ms). KIP-848 has no such wait.
        ...groupProtocolConfig(options.groupProtocol ?? 'consumer', { assignor: 'cooperative-sticky', sessionTimeoutMs: 6000 }),
        'reconnect.backoff.max.ms': 1000,
        // node-rdkafka assigns and revokes (incrementally, for cooperative-sticky).
        rebalance_cb: true,
        offset_commit_cb: (err: Kafka.LibrdKafkaError | null) => {
          // A lost commit only replays batches Postgres already has: harmless, but worth a line.
          if (err) log.warn({ err }, 'status projector: offset commit failed (those batches will be replayed, harmlessly)');
        },
        ...options.consumerConfig,
      },
      { 'auto.offset.reset': 'earliest' },
    );
    // Broker trouble: counted and logged (rate-limited) by the health monitor when given one.
    consumer.on('event.error', options.onClientError ?? ((err) => log.warn({ err }, 'status projector: consumer error')));
    return consumer;
  }

  /**
   * Deltas under cooperative-sticky and KIP-848; the whole set under an eager protocol.
   * Either way: assigned partitions are added, revoked (or lost) ones removed.
   */
  #track(consumer: Kafka.KafkaConsumer): void {
    consumer.on('rebalance', (err, assignment) => {
      if (consumer !== this.#consumer) return;
      this.#log.info({ event: err.message, partitions: assignment.map((a) => a.partition) }, 'status projector: rebalance');
      if (err.code === ERR_ASSIGN) for (const a of assignment) this.#owned.add(a.partition);
      else if (err.code === ERR_REVOKE) for (const a of assignment) this.#owned.delete(a.partition);
    });
  }

  /**
   * A fatal error ends a librdkafka consumer for good (seen under KIP-848: a member put
   * out of the group for exceeding max.poll.interval.ms while Postgres was down is
   * refused when it polls again). A new one joins the group in its place; what the old
   * one read and did not commit is read again, which the idempotent update allows.
   */
  async #replaceConsumer(): Promise<void> {
    this.#owned.clear();
    await disconnectClient(this.#consumer, 5000);
    for (let attempt = 0; this.#running; attempt++) {
      try {
        const next = await this.#connect();
        this.#consumer = next;
        this.#track(next);
        next.subscribe([TOPIC_ORDERS]);
        this.#log.warn('status projector: its consumer hit a fatal error and was replaced');
        return;
      } catch (err) {
        this.#log.warn({ err, attempt }, 'status projector: replacing the consumer failed; retrying');
        await this.#pause(Math.min(this.#maxRetryDelayMs, 200 * 2 ** attempt));
      }
    }
  }

  /** The `orders` partitions this instance projects now (empty while not in the group). */
  get assignment(): number[] {
    return [...this.#owned].sort((a, b) => a - b);
  }

  async #run(): Promise<void> {
    while (this.#running) {
      let messages: Kafka.Message[];
      try {
        messages = await pollBatch(this.#consumer, 1000, 100);
      } catch (err) {
        // The loop must outlive a failed poll (a broker away, the poll interval
        // exceeded while Postgres was down): the next poll rejoins the group.
        this.stats.consumeErrors++;
        this.#log.warn({ err }, 'status projector: consume failed; retrying');
        const e = err as Partial<Kafka.LibrdKafkaError>;
        if (e.isFatal === true || e.code === ERR_FATAL) await this.#replaceConsumer();
        else await this.#pause(1000);
        continue;
      }
      if (messages.length === 0) continue;
      const { decisions } = projectDecisions(messages, parseOrderDto);
      if (decisions.size > 0 && !(await this.#apply([...decisions.values()]))) {
        this.#log.warn(
          { decisions: decisions.size, offsets: nextOffsets(messages) },
          'status projector: stopping before Postgres took the batch; its offsets stay uncommitted and the next start replays it',
        );
        return;
      }
      this.#commit(messages);
    }
  }

  /** Applies the batch, retrying while Postgres is unavailable; false when stopped first. */
  async #apply(decisions: readonly Decision[]): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#applyBatch(decisions);
        return true;
      } catch (err) {
        this.stats.failures++;
        this.#log.warn({ err, attempt, decisions: decisions.length }, 'status projector: Postgres update failed; retrying');
        if (!this.#running) return false;
        await this.#pause(Math.min(this.#maxRetryDelayMs, 200 * 2 ** attempt));
        if (!this.#running) return false;
      }
    }
  }

  /** One statement for the batch; row by row when Postgres refuses its content. Throws only while Postgres is unavailable. */
  async #applyBatch(decisions: readonly Decision[]): Promise<void> {
    try {
      await this.#update(decisions);
      this.stats.batches++;
      return;
    } catch (err) {
      const mapped = dbError(err, 'project order statuses');
      if (recoveryOf(mapped) === 'retry') throw mapped;
    }
    for (const d of decisions) {
      try {
        await this.#update([d]);
      } catch (err) {
        const mapped = dbError(err, 'project an order status');
        if (recoveryOf(mapped) === 'retry') throw mapped;
        this.stats.refused++;
        this.#log.error(
          { err, orderId: d.orderId, status: d.status, topic: TOPIC_ORDERS, partition: d.partition, offset: d.offset },
          'status projector: Postgres refused a decision; passing over it',
        );
      }
    }
    this.stats.batches++;
  }

  async #update(decisions: readonly Decision[]): Promise<void> {
    // In id order: two writers locking the same rows in one order cannot deadlock.
    const sorted = [...decisions].sort((a, b) => compareIds(a.orderId, b.orderId));
    const res = await this.#pool.query(UPDATE_STATUSES, [sorted.map((d) => d.orderId), sorted.map((d) => d.status), sorted.map((d) => d.source)]);
    this.stats.updated += res.rowCount ?? 0;
  }

  #commit(messages: readonly Kafka.Message[]): void {
    // Only partitions still assigned: a batch read just before a revocation must not
    // move the new owner's committed offset (backwards, if it has gone further).
    const offsets = nextOffsets(messages).filter((o) => o.topic === TOPIC_ORDERS && this.#owned.has(o.partition));
    if (offsets.length === 0) return;
    // Asynchronous: a lost commit only replays an idempotent batch, and a synchronous
    // one would block the main thread, which every librdkafka handle shares.
    try {
      this.#consumer.commit(offsets);
    } catch (err) {
      this.#log.warn({ err }, 'status projector: offset commit failed (the batch will be replayed, harmlessly)');
    }
  }

  /** Waits `ms`, or less if close() is called meanwhile. */
  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  async close(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    await this.#loop;
    // librdkafka's close waits for the commits in flight before leaving the group.
    await disconnectClient(this.#consumer);
  }
}
