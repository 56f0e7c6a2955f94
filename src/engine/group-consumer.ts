// The stream engine's group consumer: one member of the APPLICATION_ID group with
// static membership, whose rebalance callbacks only queue work for the engine's loop
// (librdkafka waits for assign()/unassign(), and a task must never be revoked in the
// middle of a batch).
//
// Two group protocols (GROUP_PROTOCOL; docs/rebalancing.md measures both):
//   consumer  KIP-848 (Kafka 4.0+): the broker assigns, with its `range` assignor,
//             which keeps co-partitions on one member and what each member has where
//             it is. Rebalances are incremental: a member is told only which
//             partitions to add and which to give up, and the rest keep running.
//   classic   the JoinGroup/SyncGroup protocol with the eager `range` assignor, for
//             brokers before 4.0: every rebalance revokes everything, so the engine
//             suspends its tasks (stores open, committed) and resumes those it gets back.
// Either way the engine sees deltas: `assign` adds partitions, `revoke` takes them.
//
// A fatal consumer error ends a librdkafka consumer for good. With static membership
// one comes after a broker outage longer than the session timeout: the member rejoins,
// a heartbeat of its old membership is answered FENCED_INSTANCE_ID, and librdkafka
// fences itself (librdkafka #3437). The consumer is then replaced by a new one with the
// same group.instance.id, which takes the membership back; the engine treats it as
// every partition lost. Under KIP-848 a second one comes after a crash: the restarted
// instance's member is refused (UNRELEASED_INSTANCE_ID, fatal in librdkafka) while the
// dead incarnation's membership lives (group.consumer.session.timeout.ms, 45 s by
// default). The first replacement of a run therefore removes that membership first
// (src/kafka/static-member.ts: LeaveGroup by group.instance.id, as Java's
// removeMembersFromConsumerGroup does), and the new member joins at once. A clean
// predecessor left with member epoch -2, which the broker keeps for us: the first join
// succeeds, nothing is removed, and static membership saves its rebalance. Later
// replacements of a run back off and go on; only replacements that never stop for
// longer than REPLACE_GIVE_UP_MS mean another live instance really does run with our
// INSTANCE_ID, which is fatal (it is removed at most once per run, so two such
// instances do not take turns removing each other forever).
import { setTimeout as sleep } from 'node:timers/promises';
import Kafka from 'node-rdkafka';
import { EngineError } from '../errors.js';
import type { Logger } from '../logger.js';
import { connectClient, disconnectClient } from '../kafka/connect.js';
import { groupProtocolConfig, type GroupProtocol } from '../kafka/group-protocol.js';
import { pollBatch } from '../kafka/poll.js';
import { removeStaticMember } from '../kafka/static-member.js';
import { consumerLag, type PartitionLag } from './consumer-lag.js';

const ERR_ASSIGN = Kafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS;
/** Replacements closer together than this are one unbroken run of failures. */
const REPLACE_QUIET_MS = 60_000;
/** An unbroken run of replacements this long is another instance holding our INSTANCE_ID. */
const REPLACE_GIVE_UP_MS = 150_000;
/**
 * The longest pause between replacements. A try itself (a new client, its connection,
 * the join and its refusal) takes 0.3 to 1 s here, so a longer pause only widens the
 * gap between a dead incarnation's session ending and the next try, which a restart's
 * recovery waits out in full (1 s made tries up to 2 s apart).
 */
const REPLACE_MAX_BACKOFF_MS = 300;
/** How long releasing a previous membership may take (static-member.ts) before the replacements wait its session out. */
const RELEASE_TIMEOUT_MS = 5000;
/** max.partition.fetch.bytes: about 200 answers per partition per fetch (see #create). */
const PARTITION_FETCH_BYTES = 64 * 1024;
/** fetch.wait.max.ms: how long the broker may hold a fetch with nothing new (see #create). */
const FETCH_WAIT_MAX_MS = 100;

export type { GroupProtocol } from '../kafka/group-protocol.js';

export interface Rebalance {
  readonly assign: boolean;
  /** The partitions added or taken away (eager: the whole assignment). */
  readonly assignment: Kafka.Assignment[];
  /** Incremental (KIP-848 / cooperative): only these move; eager: everything is revoked first. */
  readonly incremental: boolean;
}

export interface GroupConsumerOptions {
  /** Prefetched records it may queue, in KiB (queued.max.messages.kbytes; from the memory budget). */
  readonly queueKbytes?: number;
  readonly brokers: string;
  readonly groupId: string;
  readonly clientId: string;
  readonly instanceId: string;
  readonly topics: readonly string[];
  readonly readCommitted: boolean;
  readonly protocol: GroupProtocol;
  readonly maxPollIntervalMs: number;
  /** Classic protocol only: the client's session timeout (KIP-848's is the broker's). */
  readonly sessionTimeoutMs: number;
  readonly log: Logger;
  readonly onClientError?: (err: Kafka.LibrdKafkaError) => void;
}

/** Thrown by poll() when the consumer failed fatally: every partition is lost, replace() it. */
export class ConsumerLostError extends EngineError {
  constructor(cause: unknown) {
    super('ORD_ERR_KAFKA', `the group consumer failed fatally and must be replaced: ${(cause as Error).message}`, { cause });
    this.name = 'ConsumerLostError';
  }
}

export class GroupConsumer {
  #consumer: Kafka.KafkaConsumer;
  readonly #options: GroupConsumerOptions;
  readonly #rebalances: Rebalance[] = [];
  readonly #replacedAt: number[] = [];
  #closing = false;

  private constructor(options: GroupConsumerOptions) {
    this.#options = options;
    this.#consumer = this.#create();
  }

  static async connect(options: GroupConsumerOptions): Promise<GroupConsumer> {
    const group = new GroupConsumer(options);
    await group.#connect();
    return group;
  }

  #create(): Kafka.KafkaConsumer {
    // range either way: it keeps co-partitions on one member.
    const protocol = groupProtocolConfig(this.#options.protocol, { remoteAssignor: 'range', assignor: 'range', sessionTimeoutMs: this.#options.sessionTimeoutMs });
    const consumer: Kafka.KafkaConsumer = new Kafka.KafkaConsumer(
      {
        'metadata.broker.list': this.#options.brokers,
        'group.id': this.#options.groupId,
        'client.id': this.#options.clientId,
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
        'isolation.level': this.#options.readCommitted ? 'read_committed' : 'read_uncommitted',
        ...protocol,
        // Static membership (KIP-345): a restarted instance with the same INSTANCE_ID
        // takes its partitions back at once, without a rebalance and without waiting
        // out the session timeout, so a crash-restart stays inside the join window.
        'group.instance.id': this.#options.instanceId,
        // Restores do not run inside the poll loop (ChangelogReader), so this bounds
        // one batch and one commit, not a restore.
        'max.poll.interval.ms': this.#options.maxPollIntervalMs,
        // Reconnect quickly once a restarted broker is back (librdkafka's default backs off to 10 s).
        'reconnect.backoff.max.ms': 1000,
        // Prefetch bounded by the memory budget (librdkafka's default queues 64 MiB).
        'queued.max.messages.kbytes': this.#options.queueKbytes ?? 16 * 1024,
        // A task joins records of two topics, and the loop takes them in the order the
        // fetches queued them. With librdkafka's 1 MiB per partition, one fetch after a
        // backlog (a restart, an outage) queues thousands of one topic's records ahead
        // of any of the other's, and nothing joins until the other topic's turn comes:
        // 4 to 5 s at 300 orders/s after a 45 s backlog. Small per-partition chunks
        // interleave the two topics every few hundred records; Kafka Streams reaches the
        // same end with per-partition buffers picked by timestamp.
        'max.partition.fetch.bytes': PARTITION_FETCH_BYTES,
        // A partition resumed (its task restored) joins the next fetch request, which
        // librdkafka sends only once the one in flight is answered; with nothing new on
        // the other partitions the broker holds that one fetch.wait.max.ms (500 ms by
        // default), and a restarted instance's first records waited for it.
        'fetch.wait.max.ms': FETCH_WAIT_MAX_MS,
        rebalance_cb: (err: Kafka.LibrdKafkaError | undefined, assignment: Kafka.Assignment[]) => this.#onRebalance(consumer, err?.code === ERR_ASSIGN, assignment),
      },
      { 'auto.offset.reset': 'earliest' },
    );
    if (this.#options.onClientError !== undefined) consumer.on('event.error', this.#options.onClientError);
    return consumer;
  }

  #onRebalance(consumer: Kafka.KafkaConsumer, assign: boolean, assignment: Kafka.Assignment[]): void {
    // Once closing, or from a replaced consumer (its close revokes everything), nobody
    // would handle the queue, and librdkafka waits for the answer: answer directly.
    const incremental = consumer.rebalanceProtocol() === 'COOPERATIVE';
    if (consumer !== this.#consumer || this.#closing) {
      if (incremental) {
        if (assign) consumer.incrementalAssign(assignment);
        else consumer.incrementalUnassign(assignment);
      } else if (assign) consumer.assign(assignment);
      else consumer.unassign();
      return;
    }
    this.#options.log.debug({ assign, partitions: assignment.length, incremental }, 'rebalance callback');
    this.#rebalances.push({ assign, assignment, incremental });
  }

  async #connect(): Promise<void> {
    const consumer = this.#consumer;
    await connectClient(consumer, { what: 'group consumer', log: this.#options.log });
    consumer.subscribe([...this.#options.topics]);
  }

  /** The librdkafka handle, for sendOffsetsToTransaction (its group metadata). */
  get client(): Kafka.KafkaConsumer {
    return this.#consumer;
  }

  /** The next queued rebalance event, in the order librdkafka reported them. */
  takeRebalance(): Rebalance | undefined {
    return this.#rebalances.shift();
  }

  /** Records at hand (see poll.ts); a fatal consumer error becomes ConsumerLostError, any other a retriable ORD_ERR_KAFKA. */
  async poll(max: number, waitMs: number): Promise<Kafka.Message[]> {
    try {
      return await pollBatch(this.#consumer, max, waitMs);
    } catch (err) {
      const e = err as Kafka.LibrdKafkaError;
      if (e.isFatal === true || e.code === Kafka.CODES.ERRORS.ERR__FATAL) throw new ConsumerLostError(err);
      throw new EngineError('ORD_ERR_KAFKA', `consume failed: ${e.message}`, { cause: err });
    }
  }

  /** Lag per assigned partition (consumer-lag.ts): local reads, no broker request. */
  lag(): PartitionLag[] {
    return consumerLag(this.#consumer);
  }

  /** Answers an assign event: adds its partitions (incremental) or sets the assignment (eager). */
  assign(r: Rebalance): void {
    if (r.incremental) this.#consumer.incrementalAssign(r.assignment);
    else this.#consumer.assign(r.assignment);
  }

  /** Answers a revoke event: gives up its partitions (incremental) or everything (eager). */
  unassign(r: Rebalance): void {
    if (r.incremental) this.#consumer.incrementalUnassign(r.assignment);
    else this.#consumer.unassign();
  }

  /** Stops fetching these partitions (their task restores), keeping them assigned. */
  pause(partitions: Kafka.TopicPartition[]): void {
    if (partitions.length > 0) this.#consumer.pause(partitions);
  }

  resume(partitions: Kafka.TopicPartition[]): void {
    if (partitions.length > 0) this.#consumer.resume(partitions);
  }

  /**
   * The group's committed offsets of these partitions. Under read_committed librdkafka
   * asks for stable offsets (KIP-447): the answer waits until a transaction of the
   * partitions' previous owner is complete, committed or aborted. Asked before a task
   * restores, it makes sure the changelogs' end does not move under the restore.
   */
  committed(partitions: Kafka.TopicPartition[], timeoutMs: number): Promise<Kafka.TopicPartitionOffset[]> {
    return new Promise((resolve, reject) =>
      this.#consumer.committed(partitions, timeoutMs, (err, offsets) =>
        err ? reject(new EngineError('ORD_ERR_KAFKA', `committed offsets: ${err.message}`, { cause: err })) : resolve(offsets),
      ),
    );
  }

  /** Moves the fetch position; waits until no record fetched from the old position can be returned. */
  seek(position: Kafka.TopicPartitionOffset, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) =>
      this.#consumer.seek(position, timeoutMs, (err) =>
        err ? reject(new EngineError('ORD_ERR_KAFKA', `seek ${position.topic}:${position.partition} to ${position.offset} failed: ${err.message}`, { cause: err })) : resolve(),
      ),
    );
  }

  /** Drops the failed consumer and joins the group again with a new one (same group.instance.id). */
  async replace(): Promise<void> {
    const now = Date.now();
    if (this.#replacedAt.length > 0 && now - this.#replacedAt.at(-1)! > REPLACE_QUIET_MS) this.#replacedAt.length = 0;
    if (this.#replacedAt.length > 0 && now - this.#replacedAt[0]! > REPLACE_GIVE_UP_MS) {
      throw new EngineError(
        'ORD_ERR_ILLEGAL_STATE',
        `the group consumer was refused or fenced for ${Math.round((now - this.#replacedAt[0]!) / 1000)} s (${this.#replacedAt.length} tries): another instance runs with INSTANCE_ID ${this.#options.instanceId}`,
      );
    }
    const first = this.#replacedAt.length === 0;
    if (!first) await sleep(Math.min(REPLACE_MAX_BACKOFF_MS, 250 * 2 ** (this.#replacedAt.length - 1)));
    this.#replacedAt.push(now);
    const old = this.#consumer;
    this.#rebalances.length = 0;
    this.#consumer = this.#create();
    this.#options.log.warn({ instanceId: this.#options.instanceId }, 'group consumer failed fatally: replacing it');
    await disconnectClient(old);
    if (first && this.#options.protocol === 'consumer') await this.#releaseMembership();
    await this.#connect();
  }

  /**
   * Removes the group's member with our group.instance.id (a crashed incarnation's, or
   * the failed consumer's), so the new consumer is not refused until its session ends.
   * Best effort: if it fails, the replacements wait the session out as before.
   */
  async #releaseMembership(): Promise<void> {
    const { brokers, groupId, instanceId, clientId } = this.#options;
    const started = Date.now();
    try {
      const result = await removeStaticMember({ brokers, groupId, instanceId, clientId, timeoutMs: RELEASE_TIMEOUT_MS });
      this.#options.log.info({ instanceId, result, ms: Date.now() - started }, 'group consumer: released the membership our instance id held');
    } catch (err) {
      this.#options.log.warn({ err, instanceId }, 'group consumer: could not release the membership our instance id holds; waiting for its session to end');
    }
  }

  async close(): Promise<void> {
    this.#closing = true;
    await disconnectClient(this.#consumer);
  }
}
