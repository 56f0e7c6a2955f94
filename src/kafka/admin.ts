// Topic creation and checks through librdkafka's admin API. Lives in the kafka thread
// with the other node-rdkafka handles (node-rdkafka loads in one thread only).
import Kafka from 'node-rdkafka';
import { EngineError } from '../errors.js';
import type { TopicSpec } from './topics.js';
import { queryWatermarks } from './watermarks.js';

const TOPIC_ALREADY_EXISTS = 36; // Kafka protocol error code
/** One partition's watermark query while waiting for a new topic's leaders. */
const LEADER_PROBE_TIMEOUT_MS = 2000;

function metadata(client: Kafka.Producer, timeout: number, topic?: string): Promise<Kafka.Metadata> {
  return new Promise((resolve, reject) => {
    client.getMetadata({ timeout, ...(topic === undefined ? {} : { topic }) }, (err, data) => (err ? reject(err) : resolve(data)));
  });
}

/**
 * Until every partition of a topic just created answers as its leader, or the deadline
 * passes (then the first calls on it fail and are retried by their callers, as before).
 * A created topic's partitions answer "Not leader for partition" for a moment: the
 * outbox relay's first pass failed on one, asking its watermarks right after the
 * service made it. Leaders in the metadata are not enough: a broker's metadata names
 * the leader a moment before the leader itself hosts the partition, and a ListOffsets
 * in that moment still fails ("Not leader for partition" for a partition it knows of
 * but does not host yet). So each partition's watermarks are asked too, one at a time
 * (each holds a libuv thread while it waits), until every one has answered.
 */
async function untilLed(client: Kafka.Producer, topic: string, partitions: number, deadline: number): Promise<void> {
  const waiting = new Set(Array.from({ length: partitions }, (_, p) => p));
  while (Date.now() < deadline) {
    const t = (await metadata(client, Math.max(1, deadline - Date.now()), topic).catch(() => undefined))?.topics.find((x) => x.name === topic);
    if (t !== undefined && t.partitions.length >= partitions && t.partitions.every((p) => p.leader >= 0)) {
      for (const p of [...waiting]) {
        const answered = await queryWatermarks(client, topic, p, Math.max(1, Math.min(LEADER_PROBE_TIMEOUT_MS, deadline - Date.now()))).then(
          () => true,
          () => false,
        );
        if (answered) waiting.delete(p);
      }
      if (waiting.size === 0) return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
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
    const deadline = Date.now() + timeoutMs;
    for (const spec of specs) if (created.includes(spec.name)) await untilLed(probe, spec.name, spec.partitions, deadline);
  } finally {
    admin.disconnect();
  }
  return { created, partitions };
}
