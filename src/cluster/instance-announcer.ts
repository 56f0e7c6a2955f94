// Publishes this instance's record to the instance directory: on every task change,
// as a heartbeat every INSTANCE_HEARTBEAT_MS, and a tombstone when it leaves cleanly.
// Runs on the main thread (it uses a librdkafka producer: node-rdkafka lives there).
//
// A plain idempotent producer, not the transactional one: the directory is advisory
// (a reader acts on the latest record and a TTL), and a record must not wait for the
// stream's commit interval or fail with its transaction. At most one record is in
// flight; changes meanwhile are coalesced into the next one, which carries the state
// as it is when it is sent. During a broker outage the sends fail after a TTL (an older
// record is of no use) and the heartbeat tries again.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { DeliveringProducer, OutgoingRecord } from '../kafka/producer.js';
import { encodeInstanceRecord, type InstanceRecord, type StandbyPartition } from './instance-record.js';

/** A task as the engine reports it (TaskInfo): only the fields the record needs. */
export interface AnnouncedTask {
  readonly partition: number;
  readonly state: string;
  /** A standby's lag, when the engine knows it. */
  readonly lag?: number;
}

export interface AnnouncerOptions {
  readonly topic: string;
  readonly instanceId: string;
  readonly heartbeatMs: number;
  readonly log: Logger;
}

/** One warning per this long about failed publishes; the rest are counted. */
const WARN_EVERY_MS = 30_000;

export class InstanceAnnouncer {
  readonly #producer: DeliveringProducer;
  readonly #options: AnnouncerOptions;
  /** Unique per process start (instance-record.ts). */
  readonly incarnation = randomUUID();
  #endpoint: string | undefined;
  #state = 'CREATED';
  #tasks: readonly AnnouncedTask[] = [];
  #seq = 0;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #again = false;
  #left = false;
  #failures = 0;
  #lastWarning = 0;

  constructor(producer: DeliveringProducer, options: AnnouncerOptions) {
    this.#producer = producer;
    this.#options = options;
  }

  /** Starts publishing: nothing goes out before the HTTP API listens at `endpoint`. */
  advertise(endpoint: string): void {
    if (this.#left) return;
    this.#endpoint = endpoint;
    this.#timer ??= setInterval(() => this.#publish(), this.#options.heartbeatMs);
    this.#timer.unref();
    this.#publish();
  }

  /** The engine's state and tasks changed: published at once (coalesced). */
  update(state: string, tasks: readonly AnnouncedTask[]): void {
    this.#state = state;
    this.#tasks = tasks;
    this.#publish();
  }

  /** The record as it would be published now. */
  record(): InstanceRecord | undefined {
    if (this.#endpoint === undefined) return undefined;
    const running: number[] = [];
    const restoring: number[] = [];
    const standby: StandbyPartition[] = [];
    for (const t of this.#tasks) {
      if (t.state === 'RUNNING') running.push(t.partition);
      else if (t.state === 'STANDBY') standby.push(t.lag === undefined ? { partition: t.partition } : { partition: t.partition, lag: t.lag });
      // Owned but not servable (RESTORING, or a state this version does not know).
      else restoring.push(t.partition);
    }
    const byPartition = (a: number, b: number): number => a - b;
    return {
      instanceId: this.#options.instanceId,
      incarnation: this.incarnation,
      endpoint: this.#endpoint,
      state: this.#state,
      running: running.sort(byPartition),
      restoring: restoring.sort(byPartition),
      standby: standby.sort((a, b) => a.partition - b.partition),
      seq: this.#seq,
      timestamp: Date.now(),
    };
  }

  /**
   * Stops publishing and writes a tombstone, so the others stop routing here at once
   * rather than after a TTL. Waits for what is in flight first: a heartbeat landing
   * after the tombstone would bring the entry back to life.
   */
  async leave(): Promise<void> {
    if (this.#left) return;
    this.#left = true;
    clearInterval(this.#timer);
    await this.#inFlight;
    if (this.#endpoint === undefined) return; // never announced
    // node-rdkafka produces a null value as a tombstone; OutgoingRecord only types Buffers.
    const tombstone = { topic: this.#options.topic, partition: 0, key: this.#options.instanceId, value: null } as unknown as OutgoingRecord;
    await this.#producer.sendAll([tombstone]).catch((err: unknown) => this.#options.log.warn({ err }, 'instance directory: the tombstone was not written; the others drop this instance after its TTL'));
  }

  #publish(): void {
    if (this.#left || this.#endpoint === undefined) return;
    if (this.#inFlight !== undefined) {
      this.#again = true;
      return;
    }
    const record = this.record()!;
    this.#seq++;
    this.#inFlight = this.#producer
      .sendAll([{ topic: this.#options.topic, partition: 0, key: record.instanceId, value: encodeInstanceRecord(record) }])
      .then(
        () => {
          if (this.#failures > 0) this.#options.log.info({ failures: this.#failures }, 'instance directory: publishing again');
          this.#failures = 0;
        },
        (err: unknown) => {
          this.#failures++;
          if (Date.now() - this.#lastWarning >= WARN_EVERY_MS) {
            this.#lastWarning = Date.now();
            this.#options.log.warn({ err, failures: this.#failures }, 'instance directory: this instance\'s record was not published; retrying with the heartbeat');
          }
        },
      )
      .finally(() => {
        this.#inFlight = undefined;
        if (this.#again) {
          this.#again = false;
          this.#publish();
        }
      });
  }
}
