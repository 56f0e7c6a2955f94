// This instance's membership in the instance directory: it publishes its own record
// (InstanceAnnouncer) and follows everybody's (InstanceDirectoryReader), and hands the
// live records to whoever routes queries (the HTTP thread). Runs on the main thread,
// which owns every librdkafka handle; started and closed by KafkaRuntime.
import type Kafka from 'node-rdkafka';
import type { Config } from '../config.js';
import { DeliveringProducer } from '../kafka/producer.js';
import { instancesTopic } from '../kafka/topics.js';
import type { Logger } from '../logger.js';
import { InstanceAnnouncer, type AnnouncedTask } from './instance-announcer.js';
import { InstanceDirectory } from './instance-directory.js';
import { InstanceDirectoryReader } from './instance-directory-reader.js';
import type { InstanceRecord } from './instance-record.js';

type Settings = Pick<Config, 'kafkaBootstrapServers' | 'applicationId' | 'instanceId' | 'instanceHeartbeatMs' | 'instanceTtlMs'>;

export class ClusterMembership {
  readonly #producer: DeliveringProducer;
  readonly #announcer: InstanceAnnouncer;
  readonly #log: Logger;
  #reader: InstanceDirectoryReader | undefined;
  #live: readonly InstanceRecord[] = [];
  readonly #listeners: ((live: readonly InstanceRecord[]) => void)[] = [];
  #closed: Promise<void> | undefined;

  private constructor(producer: DeliveringProducer, announcer: InstanceAnnouncer, log: Logger) {
    this.#producer = producer;
    this.#announcer = announcer;
    this.#log = log;
  }

  /** Connects both clients and starts reading; publishing starts with advertise(). The topic must exist. */
  static async start(config: Settings, log: Logger, onClientError?: (client: string) => (err: Kafka.LibrdKafkaError) => void): Promise<ClusterMembership> {
    const topic = instancesTopic(config.applicationId);
    const clientId = `${config.applicationId}-${config.instanceId}-instances`;
    const producer = await DeliveringProducer.connect({
      brokers: config.kafkaBootstrapServers,
      clientId,
      // A record older than a TTL says nothing anymore: fail it, the heartbeat sends a fresh one.
      deliveryTimeoutMs: config.instanceTtlMs,
      log,
      extra: { 'linger.ms': 0 },
    });
    if (onClientError !== undefined) producer.client.on('event.error', onClientError('instance-directory-producer'));
    const announcer = new InstanceAnnouncer(producer, { topic, instanceId: config.instanceId, heartbeatMs: config.instanceHeartbeatMs, log });
    const membership = new ClusterMembership(producer, announcer, log);
    const directory = new InstanceDirectory({ selfId: config.instanceId, selfIncarnation: announcer.incarnation, ttlMs: config.instanceTtlMs });
    membership.#reader = await InstanceDirectoryReader.start(directory, {
      brokers: config.kafkaBootstrapServers,
      topic,
      clientId,
      sweepMs: Math.min(1000, config.instanceHeartbeatMs),
      log,
      onChange: (live) => membership.#changed(live),
      ...(onClientError === undefined ? {} : { onClientError: onClientError('instance-directory-reader') }),
    });
    return membership;
  }

  /** The live instances now, ours included. */
  get live(): readonly InstanceRecord[] {
    return this.#live;
  }

  /** Calls `listener` with the live instances now and after every change. */
  onChange(listener: (live: readonly InstanceRecord[]) => void): void {
    this.#listeners.push(listener);
    listener(this.#live);
  }

  /** The HTTP API listens at `endpoint`: publish this instance's record from now on. */
  advertise(endpoint: string): void {
    this.#log.info({ endpoint }, 'instance directory: advertising this instance');
    this.#announcer.advertise(endpoint);
  }

  /** The engine's tasks changed (EngineEvents.onTasksChanged). */
  updateTasks(state: string, tasks: readonly AnnouncedTask[]): void {
    this.#announcer.update(state, tasks);
  }

  /** Leaves the directory (a tombstone) and stops publishing; the first step of a clean shutdown. */
  leave(): Promise<void> {
    return this.#announcer.leave();
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.leave();
      await this.#reader?.close();
      await this.#producer.close();
    })();
    return this.#closed;
  }

  #changed(live: readonly InstanceRecord[]): void {
    this.#live = live;
    this.#log.info({ instances: live.map((r) => ({ id: r.instanceId, endpoint: r.endpoint, state: r.state, running: r.running, restoring: r.restoring })) }, 'instance directory changed');
    for (const listener of this.#listeners) listener(live);
  }
}
