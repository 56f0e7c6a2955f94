// The consume → decide → answer loop of one simulated participant: a group consumer
// on `orders`, a SimulatedService deciding, answers sent on the participant's topic
// with the order's key (so the default partitioner puts them on the order's
// partition number), and offsets committed only once every answer of the batch is
// acknowledged. A crash between the two answers a batch again on restart (at least
// once), never loses one. Runs on the main thread: node-rdkafka is not
// context-aware and dispatches its callbacks on the default loop.
import Kafka from 'node-rdkafka';
import { outboxIdOf } from '../db/outbox-positions.js';
import { parseOrderDto, serializeOrderDto, type OrderDto } from '../domain/order-dto.js';
import { connectClient } from '../kafka/connect.js';
import { groupProtocolConfig, type GroupProtocol } from '../kafka/group-protocol.js';
import { pollBatch } from '../kafka/poll.js';
import { queryWatermarks } from '../kafka/watermarks.js';
import type { OutgoingRecord } from '../kafka/producer.js';
import { TOPIC_ORDERS } from '../kafka/topics.js';
import type { Logger } from '../logger.js';
import type { ServiceStats, SimulatedService } from './simulated-service.js';

export interface AnswerSender {
  sendAll(records: readonly OutgoingRecord[]): Promise<void>;
}

export interface ParticipantOptions {
  readonly brokers: string;
  readonly groupId: string;
  readonly answerTopic: string;
  readonly batchSize: number;
  /** GROUP_PROTOCOL: KIP-848 assigns incrementally, classic (eager) revokes everything first. */
  readonly groupProtocol: GroupProtocol;
}

export interface ParticipantStats extends ServiceStats {
  /** Records that are not an OrderDto, logged and skipped. */
  readonly poison: number;
  /** Orders the service failed on (a bug), logged and skipped. */
  readonly failed: number;
}

const { ERR__ASSIGN_PARTITIONS, ERR__REVOKE_PARTITIONS } = Kafka.CODES.ERRORS;

/** The record's outbox-id header: which publication of the order this is. */
function publicationOf(m: Kafka.Message): string | undefined {
  const id = outboxIdOf(m.headers);
  return id === undefined ? undefined : String(id);
}
const OFFSET_INVALID = -1001; // librdkafka: no committed offset
const CONSUME_TIMEOUT_MS = 200; // bounds how long stop() waits for an idle consume
/** Broker trouble repeats at every poll and event: say it once per this long, with a count. */
const WARN_EVERY_MS = 10_000;
const METADATA_TIMEOUT_MS = 10_000;
/**
 * Answered offsets are committed at most this often (and before a revocation and at
 * stop): a commit per batch was an OffsetCommit per batch of one or two orders at low
 * rates, 120 a second for the two participants of a saga at 200 orders/s, beside 8
 * other broker requests per order. A crash answers at most this much again, which
 * the books recognize as duplicates.
 */
const COMMIT_EVERY_MS = 100;

export class Participant {
  readonly #consumer: Kafka.KafkaConsumer;
  readonly #service: SimulatedService;
  readonly #sender: AnswerSender;
  readonly #options: ParticipantOptions;
  readonly #log: Logger;
  readonly #assigned: Promise<readonly number[]>;
  #onAssigned: (partitions: readonly number[]) => void = () => undefined;
  #poison = 0;
  #failed = 0;
  readonly #warned = new Map<string, { at: number; count: number }>();
  #stopping = false;
  #loop: Promise<void> = Promise.resolve();
  /** The batch being answered; a revocation waits for it so its offsets commit first. */
  #batch: Promise<void> = Promise.resolve();
  /** Rebalance steps run one after the other, in the order librdkafka reported them. */
  #rebalancing: Promise<void> = Promise.resolve();
  /** Offsets of answered (acknowledged) records not committed yet, per partition. */
  readonly #answered = new Map<string, Kafka.TopicPartitionOffset>();
  #lastCommit = 0;

  private constructor(service: SimulatedService, sender: AnswerSender, options: ParticipantOptions, log: Logger) {
    this.#service = service;
    this.#sender = sender;
    this.#options = options;
    this.#log = log;
    this.#assigned = new Promise((resolve) => (this.#onAssigned = resolve));
    this.#consumer = new Kafka.KafkaConsumer(
      {
        'metadata.broker.list': options.brokers,
        'group.id': options.groupId,
        'client.id': options.groupId,
        'enable.auto.commit': false,
        'isolation.level': 'read_committed',
        'socket.keepalive.enable': true,
        // Classic: after a broker restart the group waits out the session of the
        // membership this member itself left behind before it assigns anything
        // (librdkafka's default, 45 s, was all of the saga's recovery time); 6 s is the
        // broker's smallest (group.min.session.timeout.ms). Under KIP-848 (the default)
        // the member rejoins at once; its session is the broker's.
        ...groupProtocolConfig(options.groupProtocol, { assignor: 'range', sessionTimeoutMs: 6000 }),
        'reconnect.backoff.max.ms': 1000,
        rebalance_cb: (err: Kafka.LibrdKafkaError, assignment: Kafka.Assignment[]) => this.#onRebalance(err, assignment),
      },
      // Only for a committed offset that fell out of retention; a new group's start
      // is resolved explicitly in #assign.
      { 'auto.offset.reset': 'latest' },
    );
    this.#consumer.on('event.error', (err) => this.#warn('consumer error', err));
  }

  /** Connects, subscribes to `orders` and starts answering. */
  static async start(service: SimulatedService, sender: AnswerSender, options: ParticipantOptions, log: Logger): Promise<Participant> {
    const participant = new Participant(service, sender, options, log);
    const consumer = participant.#consumer;
    await connectClient(consumer, { what: `${options.groupId} consumer`, log });
    consumer.subscribe([TOPIC_ORDERS]);
    participant.#loop = participant.#run();
    return participant;
  }

  /** Resolves with the partitions of the first assignment, once consuming from known offsets. */
  get assigned(): Promise<readonly number[]> {
    return this.#assigned;
  }

  /** Settles when the loop ends: after stop(), or on an unexpected failure (rejects). */
  get done(): Promise<void> {
    return this.#loop;
  }

  get stats(): ParticipantStats {
    return { ...this.#service.stats, poison: this.#poison, failed: this.#failed };
  }

  /** Stops consuming, lets the batch in hand be answered and committed, then leaves the group. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#loop.catch(() => undefined);
    await this.#rebalancing;
    // librdkafka's close waits for commits in flight.
    this.#commitAnswered(true);
    // KafkaConsumer.disconnect takes only a callback (the typings' timeout overload is the Producer's).
    await new Promise<void>((resolve) => this.#consumer.disconnect(() => resolve()));
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      const messages = await this.#consume();
      this.#commitAnswered(false);
      if (messages.length === 0) continue;
      this.#batch = this.#answerBatch(messages);
      await this.#batch;
    }
  }

  async #consume(): Promise<Kafka.Message[]> {
    try {
      return await pollBatch(this.#consumer, this.#options.batchSize, CONSUME_TIMEOUT_MS);
    } catch (err) {
      // Broker trouble shows here and in event.error; librdkafka reconnects by itself.
      this.#warn('consume failed', err);
      await new Promise((r) => setTimeout(r, CONSUME_TIMEOUT_MS));
      return [];
    }
  }

  #warn(what: string, err: unknown): void {
    const now = Date.now();
    const last = this.#warned.get(what);
    if (last !== undefined && now - last.at < WARN_EVERY_MS) {
      last.count++;
      return;
    }
    this.#log.warn({ err, repeated: last?.count ?? 0 }, what);
    this.#warned.set(what, { at: now, count: 0 });
  }

  async #answerBatch(messages: readonly Kafka.Message[]): Promise<void> {
    const answers: OutgoingRecord[] = [];
    const next = new Map<string, Kafka.TopicPartitionOffset>();
    for (const m of messages) {
      next.set(`${m.topic}:${m.partition}`, { topic: m.topic, partition: m.partition, offset: m.offset + 1 });
      const answer = this.#answer(m);
      if (answer !== undefined) answers.push(answer);
    }
    if (!(await this.#sendUntilAcknowledged(answers))) return;
    for (const [k, offset] of next) this.#answered.set(k, offset);
    this.#commitAnswered(false);
  }

  /** Commits the answered offsets, if COMMIT_EVERY_MS has passed since the last commit or `now`. */
  #commitAnswered(now: boolean): void {
    if (this.#answered.size === 0 || (!now && Date.now() - this.#lastCommit < COMMIT_EVERY_MS)) return;
    const offsets = [...this.#answered.values()];
    this.#answered.clear();
    this.#lastCommit = Date.now();
    try {
      // Asynchronous: commitSync blocks this thread, which both participants share,
      // until the coordinator answers; with the broker away that stalled everything for
      // tens of seconds after it came back. A lost commit only replays answered orders,
      // which the books recognize as duplicates and do not answer again.
      this.#consumer.commit(offsets);
    } catch (err) {
      // Typically the partitions moved to another member meanwhile: it answers them again.
      this.#log.warn({ err, offsets }, 'offset commit failed; these records will be answered again');
    }
  }

  #answer(m: Kafka.Message): OutgoingRecord | undefined {
    const key = m.key === undefined || m.key === null ? undefined : m.key.toString();
    const where = { topic: m.topic, partition: m.partition, offset: m.offset, key };
    let order: OrderDto;
    try {
      order = parseOrderDto(m.value ?? Buffer.alloc(0));
    } catch (err) {
      // A poison record is skipped for good (its offset commits with the batch); a
      // crash loop on it would stop every order behind it.
      this.#poison++;
      this.#log.warn({ ...where, reason: (err as Error).message }, 'skipped a record that is not an OrderDto');
      return undefined;
    }
    let answer: OrderDto | undefined;
    try {
      answer = this.#service.handle(order, publicationOf(m));
    } catch (err) {
      // A bug in the simulated books must not stop the saga either: skip, loudly.
      this.#failed++;
      this.#log.error({ ...where, err }, 'failed to handle an order; skipped');
      return undefined;
    }
    return answer === undefined ? undefined : { topic: this.#options.answerTopic, key: key ?? String(order.orderId), value: serializeOrderDto(answer) };
  }

  /**
   * Retries until the broker acknowledges every answer (a resend may duplicate some:
   * at least once, as the outbox). Gives up only when stopping: the batch is then
   * not committed and is answered again after a restart. Returns whether all were sent.
   */
  async #sendUntilAcknowledged(answers: readonly OutgoingRecord[]): Promise<boolean> {
    for (let backoffMs = 100; ; backoffMs = Math.min(backoffMs * 2, 5000)) {
      try {
        await this.#sender.sendAll(answers);
        return true;
      } catch (err) {
        this.#log.error({ err, answers: answers.length }, 'answers not acknowledged; retrying');
        if (this.#stopping) return false;
        await new Promise((wake) => setTimeout(wake, backoffMs));
      }
    }
  }

  #onRebalance(err: Kafka.LibrdKafkaError, assignment: Kafka.Assignment[]): void {
    if (err.code === ERR__ASSIGN_PARTITIONS) {
      this.#rebalancing = this.#rebalancing.then(() => this.#assign(assignment));
    } else if (err.code === ERR__REVOKE_PARTITIONS) {
      this.#rebalancing = this.#rebalancing.then(() => this.#revoke(assignment));
    } else {
      this.#log.error({ err }, 'rebalance failed');
    }
  }

  /**
   * Assigns with explicit start offsets: the committed one, or else the end of the
   * partition. A new group thus starts at "latest" *before* the assignment is
   * reported, so a record produced after `assigned` resolves is never skipped (with
   * auto.offset.reset the end is looked up later, racing such a record).
   */
  async #assign(assignment: Kafka.Assignment[]): Promise<void> {
    let start: Kafka.Assignment[] = assignment;
    try {
      start = await this.#startOffsets(assignment);
    } catch (err) {
      this.#log.warn({ err }, 'cannot resolve start offsets; falling back to the committed offsets or auto.offset.reset');
    }
    try {
      if (this.#incremental()) this.#consumer.incrementalAssign(start);
      else this.#consumer.assign(start);
    } catch (err) {
      if (!this.#stopping) this.#log.error({ err }, 'assign failed');
      return;
    }
    const partitions = assignment.map((a) => a.partition).sort((a, b) => a - b);
    this.#log.info({ group: this.#options.groupId, partitions }, 'partitions assigned');
    // (KIP-848 may report an empty assignment first: ready means owning partitions.)
    if (partitions.length > 0) this.#onAssigned(partitions);
  }

  async #startOffsets(assignment: Kafka.Assignment[]): Promise<Kafka.TopicPartitionOffset[]> {
    const consumer = this.#consumer;
    const committed = await new Promise<Kafka.TopicPartitionOffset[]>((resolve, reject) =>
      consumer.committed(assignment, METADATA_TIMEOUT_MS, (err, offsets) => (err ? reject(err) : resolve(offsets))),
    );
    return Promise.all(
      committed.map(async (tp) => {
        if (tp.offset !== OFFSET_INVALID && tp.offset >= 0) return { topic: tp.topic, partition: tp.partition, offset: tp.offset };
        const { highOffset } = await queryWatermarks(consumer, tp.topic, tp.partition, METADATA_TIMEOUT_MS);
        return { topic: tp.topic, partition: tp.partition, offset: highOffset };
      }),
    );
  }

  async #revoke(assignment: Kafka.Assignment[]): Promise<void> {
    // Let the batch in hand and everything answered commit while this member still owns its partitions.
    await this.#batch;
    this.#commitAnswered(true);
    try {
      if (this.#incremental()) this.#consumer.incrementalUnassign(assignment);
      else this.#consumer.unassign();
    } catch (err) {
      // Closing: librdkafka reports the final revocation after disconnect began.
      if (!this.#stopping) this.#log.warn({ err }, 'unassign failed');
    }
    const partitions = assignment.map((a) => a.partition).sort((a, b) => a - b);
    this.#log.info({ group: this.#options.groupId, partitions }, 'partitions revoked');
  }

  /** KIP-848 (and cooperative) rebalances move only what changes: assign and revoke deltas. */
  #incremental(): boolean {
    return this.#consumer.rebalanceProtocol() === 'COOPERATIVE';
  }
}
