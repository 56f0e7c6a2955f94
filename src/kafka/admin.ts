// Topic creation and checks through librdkafka's admin API. Lives in the kafka thread
// with the other node-rdkafka handles (node-rdkafka loads in one thread only).
import Kafka from 'node-rdkafka';
import { EngineError } from '../errors.js';
import type { TopicSpec } from './topics.js';

const TOPIC_ALREADY_EXISTS = 36; // Kafka protocol error code

function metadata(client: Kafka.Producer, timeout: number): Promise<Kafka.Metadata> {
  return new Promise((resolve, reject) => {
    client.getMetadata({ timeout }, (err, data) => (err ? reject(err) : resolve(data)));
  });
}

/** Creates missing topics and checks the partition count of existing ones; answers every spec's partition count. */
export async function ensureTopics(
  brokers: string,
  probe: Kafka.Producer,
  specs: readonly TopicSpec[],
  timeoutMs = 15_000,
): Promise<{ created: string[]; partitions: Map<string, number> }> {
  const admin = Kafka.AdminClient.create({ 'metadata.broker.list': brokers, 'client.id': 'order-engine-admin' });
  const created: string[] = [];
  const partitions = new Map<string, number>();
  try {
    const existing = new Map((await metadata(probe, timeoutMs)).topics.map((t) => [t.name, t.partitions.length]));
    for (const spec of specs) {
      const have = existing.get(spec.name);
      partitions.set(spec.name, have ?? spec.partitions);
      if (have !== undefined) {
        if (spec.coPartitioned && have !== spec.partitions) {
          throw new EngineError(
            'ORD_ERR_CONFIG',
            `topic ${spec.name} has ${have} partitions but NUM_PARTITIONS is ${spec.partitions}: co-partitioned topics must match`,
          );
        }
        continue;
      }
      await new Promise<void>((resolve, reject) => {
        admin.createTopic(
          { topic: spec.name, num_partitions: spec.partitions, replication_factor: spec.replicationFactor, config: { ...spec.config } },
          timeoutMs,
          (err) => (err && (err as { code?: number }).code !== TOPIC_ALREADY_EXISTS ? reject(err) : resolve()),
        );
      });
      created.push(spec.name);
    }
  } finally {
    admin.disconnect();
  }
  return { created, partitions };
}
