// The cluster the multi-instance fault tests run on (test/support/kafka-cluster.ts)
// does what they rely on: 3 nodes with every partition in sync, replication 3 with
// min.insync.replicas 2 (acks=all writes go on with one node killed), and a slot's
// partition (test/support/tcp-proxy.ts) that stops that slot's client and no other,
// until it is healed.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTopics } from '../../src/kafka/admin.js';
import { DeliveringProducer } from '../../src/kafka/producer.js';
import { KafkaCluster } from '../support/kafka-cluster.js';
import { clusterParams, clusterTestsEnabled } from './cluster-params.js';

const p = clusterParams();
const cluster = new KafkaCluster({ infraDir: join(p.infraDir, 'cluster-check'), basePort: p.kafkaBasePort });
const TOPIC = 'cluster-check';
const producers: DeliveringProducer[] = [];

// A kill -9 moves a partition's leadership only once the controller drops the node
// (broker.session.timeout.ms, 9 s): deliveries wait that out, unless a test wants a
// partitioned client's send to fail sooner.
const producerOn = async (brokers: string, clientId: string, deliveryTimeoutMs = 30_000): Promise<DeliveringProducer> => {
  const producer = await DeliveringProducer.connect({ brokers, clientId, deliveryTimeoutMs, extra: { 'socket.timeout.ms': 5000 } });
  producers.push(producer);
  return producer;
};
const send = (producer: DeliveringProducer, key: string): Promise<string> =>
  producer.sendAll([{ topic: TOPIC, key, value: Buffer.from(key) }]).then(
    () => 'delivered',
    (err: unknown) => `failed: ${(err as Error).message}`,
  );

// Only with the multi-instance fault tests (CLUSTER_FAULT_TESTS=1), whose infrastructure it checks.
describe.skipIf(!clusterTestsEnabled())('a 3-node KRaft cluster on loopback with per-instance proxies', () => {
  beforeAll(async () => {
    await cluster.start();
    await cluster.waitHealthy();
  }, 180_000);

  afterAll(async () => {
    await Promise.allSettled(producers.map((x) => x.close(2000)));
    await cluster.stop();
    rmSync(join(p.infraDir, 'cluster-check'), { recursive: true, force: true });
  }, 120_000);

  it('keeps taking acks=all writes with one node killed, and is fully in sync again after its restart', async () => {
    const admin = await producerOn(cluster.bootstrapServers, 'cluster-check-admin');
    await ensureTopics(cluster.bootstrapServers, admin.client, [{ name: TOPIC, partitions: 6, replicationFactor: 3, coPartitioned: false, config: {} }]);
    await cluster.waitHealthy();
    const viaSlot = await producerOn(cluster.clientBootstrap(1), 'cluster-check-slot-1');
    expect(await send(viaSlot, 'before')).toBe('delivered');
    expect(cluster.connectionsOf(1), 'the slot\'s client went through its proxies').toBeGreaterThan(0);

    await cluster.kill(2);
    expect(await send(viaSlot, 'one-node-down')).toBe('delivered');
    await cluster.restart(2);
    await cluster.waitHealthy();
    expect((await cluster.health()).brokers).toBe(3);
  }, 240_000);

  it('partitions one slot from every node and no other, until healed', async () => {
    const one = await producerOn(cluster.clientBootstrap(1), 'cluster-check-p1', 8000);
    const two = await producerOn(cluster.clientBootstrap(2), 'cluster-check-p2');
    expect([await send(one, 'a'), await send(two, 'b')]).toEqual(['delivered', 'delivered']);

    cluster.partition(1);
    const [cut, other] = await Promise.all([send(one, 'cut'), send(two, 'other')]);
    expect(cut).toMatch(/^failed/);
    expect(other).toBe('delivered');

    cluster.heal(1);
    expect(await send(one, 'healed')).toBe('delivered');
  }, 120_000);
});
