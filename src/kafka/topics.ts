// The topic layout of the seed: co-partitioned input topics (the same order id lands
// on the same partition number in every one), the dead-letter topic, and the
// compacted changelog of each store. Created by the service at start, idempotently;
// an existing topic with another partition count is a fatal misconfiguration because
// the saga join depends on co-partitioning.
import type { Config } from '../config.js';

export const TOPIC_ORDERS = 'orders';
export const TOPIC_PAYMENT_ORDERS = 'payment-orders';
export const TOPIC_STOCK_ORDERS = 'stock-orders';
export const TOPIC_DLQ = 'recovererDLQ';
export const ORDERS_STORE = 'orders-store';
export const JOIN_STORE = 'saga-join-store';

export function changelogTopic(applicationId: string, store: string): string {
  return `${applicationId}-${store}-changelog`;
}

/** The saga join's inputs: the answers of the payment and inventory services. */
export const JOIN_INPUTS = [TOPIC_PAYMENT_ORDERS, TOPIC_STOCK_ORDERS] as const;
export type JoinInput = (typeof JOIN_INPUTS)[number];

/**
 * The internal topic through which records of a join input that arrived on another
 * partition than their key's are forwarded to it (REPARTITION_INPUTS), named as Kafka
 * Streams names its repartition topics.
 */
export function repartitionTopic(applicationId: string, input: JoinInput): string {
  return `${applicationId}-${input}-repartition`;
}

/**
 * The instance directory (src/cluster/): one compacted record per live instance, keyed
 * by INSTANCE_ID, saying where its HTTP API is and which tasks it serves. Kafka Streams
 * spreads `application.server` through its assignor; librdkafka's assignors cannot
 * carry it, so the instances publish it here. One partition: every instance reads all
 * of it, in one order.
 */
export function instancesTopic(applicationId: string): string {
  return `${applicationId}-instances`;
}

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly config: Readonly<Record<string, string>>;
  /** Must have exactly `partitions` partitions (co-partitioned with the others). */
  readonly coPartitioned: boolean;
}

export function topicLayout(
  config: Pick<Config, 'numPartitions' | 'replicationFactor' | 'applicationId'> & Partial<Pick<Config, 'repartitionInputs'>>,
): TopicSpec[] {
  const base = { partitions: config.numPartitions, replicationFactor: config.replicationFactor, coPartitioned: true };
  const repartition = config.repartitionInputs === true ? JOIN_INPUTS.map((input) => repartitionTopic(config.applicationId, input)) : [];
  return [
    { ...base, name: TOPIC_ORDERS, config: { 'retention.ms': String(7 * 24 * 3600 * 1000) } },
    { ...base, name: TOPIC_PAYMENT_ORDERS, config: { 'retention.ms': String(24 * 3600 * 1000) } },
    { ...base, name: TOPIC_STOCK_ORDERS, config: { 'retention.ms': String(24 * 3600 * 1000) } },
    { ...base, name: TOPIC_DLQ, coPartitioned: false, config: { 'retention.ms': String(14 * 24 * 3600 * 1000) } },
    ...[ORDERS_STORE, JOIN_STORE].map((store) => ({
      ...base,
      name: changelogTopic(config.applicationId, store),
      config: { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '0', 'segment.ms': String(3600 * 1000) },
    })),
    ...repartition.map((name) => ({ ...base, name, config: { 'retention.ms': String(24 * 3600 * 1000) } })),
    {
      name: instancesTopic(config.applicationId),
      partitions: 1,
      replicationFactor: config.replicationFactor,
      coPartitioned: false,
      // Heartbeats every few seconds: small segments so compaction keeps what a starting
      // instance reads down to about one record per instance.
      config: { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '0', 'segment.ms': String(600 * 1000), 'delete.retention.ms': String(3600 * 1000) },
    },
  ];
}
