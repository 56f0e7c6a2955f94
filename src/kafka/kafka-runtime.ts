// Every librdkafka handle of the process, on the main thread. node-rdkafka must live
// on the main thread: it is not context-aware (a second thread that requires it fails
// with "Module did not self-register"), and even alone in a worker it delivers its
// callbacks (delivery reports, events, rebalances) through a uv_async handle on the
// *default* loop (src/callbacks.cc: uv_async_init(uv_default_loop(), ...)), which
// aborts the process with "Cannot create a handle without a HandleScope". So the main
// thread is the kafka thread, and HTTP and stream processing run in workers.
import { ClusterMembership } from '../cluster/cluster-membership.js';
import type { Config } from '../config.js';
import type { OutboxDoorbell } from '../db/outbox-doorbell.js';
import { OutboxRelay, type OutboxStats } from '../db/outbox-relay.js';
import { createPool } from '../db/pool.js';
import { StatusProjector } from '../db/status-projector.js';
import { TableVacuum } from '../db/table-vacuum.js';
import type { Logger } from '../logger.js';
import { ensureTopics } from './admin.js';
import type { KafkaHealth } from './kafka-health.js';
import { OutboxTail } from './outbox-tail.js';
import { DeliveringProducer } from './producer.js';
import { TOPIC_DLQ, TOPIC_ORDERS, topicLayout } from './topics.js';

export class KafkaRuntime {
  readonly #producer: DeliveringProducer;
  readonly #relay: OutboxRelay;
  readonly #projector: StatusProjector;
  readonly #closePool: () => Promise<void>;
  /** Partitions of recovererDLQ as found (or created) at start. */
  readonly dlqPartitions: number;
  /** The instance directory: this instance's record, and everybody's (src/cluster/). */
  readonly cluster: ClusterMembership;

  private constructor(
    producer: DeliveringProducer,
    relay: OutboxRelay,
    projector: StatusProjector,
    closePool: () => Promise<void>,
    dlqPartitions: number,
    cluster: ClusterMembership,
  ) {
    this.#producer = producer;
    this.#relay = relay;
    this.#projector = projector;
    this.#closePool = closePool;
    this.dlqPartitions = dlqPartitions;
    this.cluster = cluster;
  }

  /** `bell`: where the HTTP thread announces committed outbox rows (src/db/outbox-doorbell.ts). */
  static async start(config: Config, log: Logger, health: KafkaHealth, bell?: OutboxDoorbell): Promise<KafkaRuntime> {
    // Every record of a claim is acknowledged or failed well inside the claim's lease.
    const deliveryTimeoutMs = Math.min(30_000, Math.floor(config.outboxLeaseMs / 2));
    const producer = await DeliveringProducer.connect({
      brokers: config.kafkaBootstrapServers,
      clientId: `${config.applicationId}-outbox`,
      deliveryTimeoutMs,
      log,
      extra: { 'queue.buffering.max.kbytes': config.memory.kafkaKbytes.outboxProducer },
    });
    producer.client.on('event.error', health.listener('outbox-producer'));
    health.start(
      (timeout) =>
        new Promise<void>((resolve, reject) => {
          producer.client.getMetadata({ timeout }, (err) => (err ? reject(err) : resolve()));
        }),
    );
    const { created, partitions } = await ensureTopics(config.kafkaBootstrapServers, producer.client, topicLayout(config));
    if (created.length > 0) log.info({ topics: created }, 'created topics');
    const dlqPartitions = partitions.get(TOPIC_DLQ) ?? config.numPartitions;
    if (dlqPartitions < config.numPartitions) {
      // Spring's recoverer would fail every such send; the tasks route by key instead (dead-letter.ts).
      log.warn({ topic: TOPIC_DLQ, partitions: dlqPartitions, inputs: config.numPartitions }, 'the dead-letter topic has fewer partitions than the inputs: dead letters go by key');
    }

    const cluster = await ClusterMembership.start(config, log.child({ component: 'cluster' }), (client) => health.listener(client));

    const pool = createPool({ connectionString: config.databaseUrl, max: 3, applicationName: `${config.applicationId}-outbox` });
    const outboxLog = log.child({ component: 'outbox' });
    // The write path's churned tables, vacuumed on their own connection as the relay
    // completes rows (src/db/table-vacuum.ts): the pending entries and the claims (one
    // dead row each per row published) at about every pass; outbox (dead rows only from
    // the retention job) and orders (one per decision) once ten passes' worth is dead.
    const everyRows = config.outboxVacuumRows;
    const vacuumPool = everyRows > 0 ? createPool({ connectionString: config.databaseUrl, max: 1, applicationName: `${config.applicationId}-vacuum`, queryTimeoutMs: 600_000 }) : undefined;
    const vacuum =
      vacuumPool === undefined
        ? undefined
        : new TableVacuum(
            vacuumPool,
            {
              everyRows,
              tables: [
                { table: 'outbox_pending', deadRows: Math.ceil(everyRows / 2) },
                { table: 'outbox_claims', deadRows: Math.ceil(everyRows / 2) },
                { table: 'outbox', deadRows: everyRows * 10 },
                { table: 'orders', deadRows: everyRows * 10 },
              ],
            },
            outboxLog,
          );
    const relay = new OutboxRelay(
      pool,
      producer,
      new OutboxTail(producer.client, { brokers: config.kafkaBootstrapServers, clientId: `${config.applicationId}-outbox` }, outboxLog),
      {
        instanceId: config.instanceId,
        topics: [TOPIC_ORDERS],
        batchSize: config.outboxBatchSize,
        pollMs: config.outboxPollMs,
        positionsRetentionMs: 24 * 3600 * 1000,
        leaseMs: config.outboxLeaseMs,
        deliveryTimeoutMs,
      },
      outboxLog,
      bell,
      vacuum,
    );
    if (config.outboxRelayEnabled) relay.start();
    else log.warn('outbox relay disabled (OUTBOX_RELAY_ENABLED=false): new orders stay in the outbox');
    const projector = await StatusProjector.start(
      config.kafkaBootstrapServers,
      `${config.applicationId}-status-projector`,
      pool,
      log.child({ component: 'status-projector' }),
      { onClientError: (err) => health.report('status-projector', err), groupProtocol: config.groupProtocol },
    );
    const closePools = async (): Promise<void> => {
      await Promise.all([pool.end(), vacuumPool?.end()]);
    };
    return new KafkaRuntime(producer, relay, projector, closePools, dlqPartitions, cluster);
  }

  wakeOutbox(): void {
    this.#relay.wake();
  }

  get outboxStats(): OutboxStats {
    return { ...this.#relay.stats };
  }

  async close(): Promise<void> {
    await this.cluster.close();
    await this.#relay.stop();
    await this.#projector.close();
    await this.#producer.close();
    await this.#closePool();
  }
}
