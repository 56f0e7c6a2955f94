// The outbox relay: publishes outbox rows to Kafka and stamps them completed. It runs
// in the kafka thread. Rows are claimed with FOR UPDATE SKIP LOCKED so several
// instances share the work without sending a row twice; a row is stamped only after
// the broker acknowledged it, so a crash between commit and publish resends it on the
// next start (at least once; consumers key on the order id). Nothing committed in
// Postgres is lost on the way to Kafka.
import type pg from 'pg';
import type { Logger } from '../logger.js';
import type { OutgoingRecord } from '../kafka/producer.js';
import { isUnavailable } from './pool.js';

export interface OutboxPublisher {
  sendAll(records: readonly OutgoingRecord[]): Promise<void>;
}

export interface OutboxRelayOptions {
  readonly batchSize: number;
  /** Poll even without wake-ups, for rows written by other instances or before a crash. */
  readonly pollMs: number;
  /** Completed rows older than this are deleted (archive retention). */
  readonly retentionMs: number;
}

export interface OutboxStats {
  published: number;
  batches: number;
  failures: number;
  lastError: string | undefined;
}

interface OutboxRow {
  id: number;
  topic: string;
  event_key: string;
  payload: string;
}

export class OutboxRelay {
  readonly #pool: pg.Pool;
  readonly #publisher: OutboxPublisher;
  readonly #options: OutboxRelayOptions;
  readonly #log: Logger;
  readonly stats: OutboxStats = { published: 0, batches: 0, failures: 0, lastError: undefined };
  #running = false;
  #draining: Promise<void> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  #lastPurge = 0;

  constructor(pool: pg.Pool, publisher: OutboxPublisher, options: OutboxRelayOptions, log: Logger) {
    this.#pool = pool;
    this.#publisher = publisher;
    this.#options = options;
    this.#log = log;
  }

  start(): void {
    this.#running = true;
    this.wake();
    this.#timer = setInterval(() => this.wake(), this.#options.pollMs);
  }

  /** Asks for a drain; concurrent wake-ups coalesce into one more pass. */
  wake(): void {
    if (!this.#running) return;
    if (this.#draining) {
      this.#again = true;
      return;
    }
    this.#draining = this.#drain().finally(() => {
      this.#draining = undefined;
      if (this.#again) {
        this.#again = false;
        this.wake();
      }
    });
  }

  async stop(): Promise<void> {
    this.#running = false;
    clearInterval(this.#timer);
    await this.#draining;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#running && (await this.#publishBatch()) === this.#options.batchSize);
      await this.#maybePurge();
    } catch (err) {
      this.stats.failures++;
      this.stats.lastError = (err as Error).message;
      // Rows stay pending; the next wake-up or poll retries them.
      this.#log.warn({ err, unavailable: isUnavailable(err) }, 'outbox relay pass failed; will retry');
    }
  }

  /** Claims, publishes and completes one batch; returns how many rows it published. */
  async #publishBatch(): Promise<number> {
    const client = await this.#pool.connect();
    try {
      await client.query('begin');
      const { rows } = await client.query<OutboxRow>(
        `select id, topic, event_key, payload from outbox
          where completed_at is null order by id limit $1 for update skip locked`,
        [this.#options.batchSize],
      );
      if (rows.length > 0) {
        await this.#publisher.sendAll(rows.map((r) => ({ topic: r.topic, key: r.event_key, value: Buffer.from(r.payload) })));
        await client.query('update outbox set completed_at = now(), attempts = attempts + 1 where id = any($1::bigint[])', [
          rows.map((r) => r.id),
        ]);
      }
      await client.query('commit');
      this.stats.published += rows.length;
      if (rows.length > 0) this.stats.batches++;
      return rows.length;
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async #maybePurge(): Promise<void> {
    const now = Date.now();
    if (now - this.#lastPurge < 60_000) return;
    this.#lastPurge = now;
    await this.#pool.query(`delete from outbox where completed_at < now() - make_interval(secs => $1)`, [this.#options.retentionMs / 1000]);
  }
}
