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
//
// The consumer is the addon's (src/native/packed-consumer.ts), which keeps only the
// records whose value names a final status and packs them, on a libuv worker: under
// intake every record on `orders` is a NEW one, and node-rdkafka's JS object for each,
// only to be passed over here, cost the kafka thread a fifth of its POSTs per second.
// The offsets committed still cover every record polled, kept or not.
import type pg from 'pg';
import { compareIds } from '../domain/id64.js';
import { parseOrderDto } from '../domain/order-dto.js';
import { recoveryOf } from '../errors.js';
import { groupProtocolConfig, type GroupProtocol } from '../kafka/group-protocol.js';
import { TOPIC_ORDERS } from '../kafka/topics.js';
import type { Logger } from '../logger.js';
import { PackedConsumer, type NativeClientError, type NativeFetchResult } from '../native/packed-consumer.js';
import { forEachRestoreRecord } from '../stream/restore-batch.js';
import { dbError } from './pool.js';
import { FINAL_STATUSES, projectDecisions, type Decision, type NextOffset, type ProjectableRecord } from './status-projection.js';

/** librdkafka's ERR__FATAL: the consumer is done for and is replaced. */
const ERR_FATAL = -150;
/** Records per poll, and the key and value bytes of the records kept per poll at most. */
const MAX_POLL_RECORDS = 1000;
const MAX_POLL_BYTES = 16 * 1024 * 1024;
const POLL_WAIT_MS = 100;
/**
 * Offsets of applied batches are committed at most this often: a commit per poll was
 * 3% of the kafka thread under intake (a poll brings what arrived in the last few ms),
 * and an offset not yet committed only replays batches Postgres already has.
 */
const COMMIT_INTERVAL_MS = 500;

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
  readonly onClientError?: (err: { code: number; message: string }) => void;
}

const UPDATE_STATUSES = `
  update orders o set status = t.status, source = t.source, version = o.version + 1, last_modified_date = now()
    from unnest($1::bigint[], $2::text[], $3::text[]) as t(id, status, source)
   where o.id = t.id and (o.status is distinct from t.status or o.source is distinct from t.source)`;

export class StatusProjector {
  #consumer: PackedConsumer;
  readonly #create: () => PackedConsumer;
  /** The assigned `orders` partitions, as the last fetch reported them. */
  #owned = new Set<number>();
  /** Next offsets of batches Postgres took, not committed yet, per `orders` partition. */
  readonly #pending = new Map<number, number>();
  #lastCommit = 0;
  readonly #pool: pg.Pool;
  readonly #log: Logger;
  readonly #maxRetryDelayMs: number;
  readonly #onClientError: (err: NativeClientError) => void;
  readonly stats: StatusProjectorStats = { updated: 0, batches: 0, failures: 0, refused: 0, consumeErrors: 0 };
  #running = true;
  /** Ends the current back-off wait early (close). */
  #wake: (() => void) | undefined;
  readonly #loop: Promise<void>;

  private constructor(create: () => PackedConsumer, pool: pg.Pool, log: Logger, options: StatusProjectorOptions) {
    this.#create = create;
    this.#consumer = create();
    this.#pool = pool;
    this.#log = log;
    this.#maxRetryDelayMs = options.maxRetryDelayMs ?? 5000;
    this.#onClientError = options.onClientError ?? ((err) => log.warn({ err: err.message, code: err.code }, 'status projector: consumer error'));
    this.#loop = this.#run();
  }

  /** Joins the group; a broker that is not there yet only delays the first records (librdkafka retries). */
  static start(brokers: string, groupId: string, pool: pg.Pool, log: Logger, options: StatusProjectorOptions = {}): Promise<StatusProjector> {
    const create = (): PackedConsumer => {
      const consumer = StatusProjector.#createConsumer(brokers, groupId, options);
      consumer.subscribe([TOPIC_ORDERS]);
      return consumer;
    };
    return Promise.resolve(new StatusProjector(create, pool, log, options));
  }

  static #createConsumer(brokers: string, groupId: string, options: StatusProjectorOptions): PackedConsumer {
    return new PackedConsumer(
      {
        'bootstrap.servers': brokers,
        'group.id': groupId,
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
        'isolation.level': 'read_committed',
        // Classic: after a broker restart the group waits out the session of the
        // membership this member left behind (librdkafka's default, 45 s, was how long
        // decisions waited to reach Postgres); 6 s is the broker's smallest
        // (group.min.session.timeout.ms). KIP-848 has no such wait. librdkafka assigns
        // and revokes by itself (incrementally, for cooperative-sticky).
        ...(groupProtocolConfig(options.groupProtocol ?? 'consumer', { assignor: 'cooperative-sticky', sessionTimeoutMs: 6000 }) as Readonly<Record<string, string | number>>),
        'reconnect.backoff.max.ms': 1000,
        // A catch-up (Postgres back after an outage) drains the prefetch queue faster
        // than librdkafka's default second before it fetches a full partition again.
        'fetch.queue.backoff.ms': 10,
        'auto.offset.reset': 'earliest',
        // librdkafka would print its logs to stderr: its errors come back with the fetches.
        log_level: 0,
        ...options.consumerConfig,
      },
      // A final status's name is in the value of every record that can change a row;
      // a record that merely names one elsewhere is parsed and passed over.
      { valueContains: [...FINAL_STATUSES], offsets: true },
    );
  }

  /**
   * A fatal error ends a librdkafka consumer for good (seen under KIP-848: a member put
   * out of the group for exceeding max.poll.interval.ms while Postgres was down is
   * refused when it polls again). A new one joins the group in its place; what the old
   * one read and did not commit is read again, which the idempotent update allows.
   */
  async #replaceConsumer(): Promise<void> {
    this.#owned = new Set();
    this.#pending.clear();
    const old = this.#consumer;
    await Promise.race([old.close().catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
    for (let attempt = 0; this.#running; attempt++) {
      try {
        this.#consumer = this.#create();
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

  #track(assignment: NativeFetchResult['assignment']): void {
    if (assignment === undefined) return;
    const now = new Set(assignment.filter((a) => a.topic === TOPIC_ORDERS).map((a) => a.partition));
    if (now.size === this.#owned.size && [...now].every((p) => this.#owned.has(p))) return;
    this.#log.info({ partitions: [...now].sort((a, b) => a - b), before: this.assignment }, 'status projector: rebalance');
    this.#owned = now;
    // A partition gone elsewhere is not committed for: its new owner reads on from the
    // group's offset, which this one's pending offset could move (backwards, if it has
    // gone further). What was applied and not committed is replayed there, harmlessly.
    for (const partition of this.#pending.keys()) if (!now.has(partition)) this.#pending.delete(partition);
  }

  async #run(): Promise<void> {
    while (this.#running) {
      let fetched: NativeFetchResult;
      try {
        fetched = await this.#consumer.fetch({ maxRecords: MAX_POLL_RECORDS, maxBytes: MAX_POLL_BYTES, waitMs: POLL_WAIT_MS });
      } catch (err) {
        this.stats.consumeErrors++;
        this.#log.warn({ err }, 'status projector: consume failed; retrying');
        await this.#pause(1000);
        continue;
      }
      this.#track(fetched.assignment);
      for (const e of fetched.errors) if (!e.polled) this.#onClientError(e);
      const records: ProjectableRecord[] = [];
      const offsets: NextOffset[] = [];
      for (const batch of fetched.batches) {
        let i = 0;
        forEachRestoreRecord(batch, (topic, _key, value) => {
          records.push({ topic, partition: batch.partition, offset: batch.offsets?.[i] ?? -1, value });
          i++;
        });
        for (const p of batch.positions) offsets.push({ topic: p.topic, partition: batch.partition, offset: p.offset });
      }
      const { decisions } = projectDecisions(records, parseOrderDto);
      if (decisions.size > 0 && !(await this.#apply([...decisions.values()]))) {
        this.#log.warn({ decisions: decisions.size, offsets }, 'status projector: stopping before Postgres took the batch; its offsets stay uncommitted and the next start replays it');
        return;
      }
      for (const o of offsets) if (o.topic === TOPIC_ORDERS && this.#owned.has(o.partition)) this.#pending.set(o.partition, o.offset);
      if (Date.now() - this.#lastCommit >= COMMIT_INTERVAL_MS) this.#commit();
      // The loop must outlive a failed poll (a broker away, the poll interval exceeded
      // while Postgres was down): the next poll rejoins the group.
      const polled = fetched.errors.filter((e) => e.polled || e.fatal);
      if (polled.length > 0) {
        this.stats.consumeErrors++;
        this.#log.warn({ errors: polled.map((e) => ({ code: e.code, message: e.message })) }, 'status projector: consume failed; retrying');
        if (polled.some((e) => e.fatal || e.code === ERR_FATAL)) await this.#replaceConsumer();
        else await this.#pause(1000);
      }
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
    // Named: parsed and planned once per connection, not per batch.
    const res = await this.#pool.query({ name: 'project-statuses', text: UPDATE_STATUSES, values: [sorted.map((d) => d.orderId), sorted.map((d) => d.status), sorted.map((d) => d.source)] });
    this.stats.updated += res.rowCount ?? 0;
  }

  /** Commits the pending offsets (those of batches Postgres took, on partitions still owned). */
  #commit(): void {
    this.#lastCommit = Date.now();
    if (this.#pending.size === 0) return;
    // Only partitions still assigned (#track drops the others): the assignment changes
    // only inside a fetch, so it is the one the last fetch reported.
    const offsets = [...this.#pending].map(([partition, offset]) => ({ topic: TOPIC_ORDERS, partition, offset }));
    this.#pending.clear();
    // Asynchronous: a lost commit only replays an idempotent batch (its failure is
    // reported as a client error).
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
    this.#commit();
    // librdkafka's close waits for the commits in flight before leaving the group; it
    // can wait on a broker that is gone, so the client is left to finish it after 10 s.
    await Promise.race([this.#consumer.close().catch(() => undefined), new Promise((r) => setTimeout(r, 10_000).unref())]);
  }
}
