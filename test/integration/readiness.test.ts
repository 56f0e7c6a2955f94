// Readiness that means it (issue 9, item 3), on a broker this test owns and kills: an
// instance whose active tasks are still restoring is DOWN, with the streams
// component saying which tasks and how far; a broker outage makes it DOWN with kafka
// DOWN; once restored, and once the broker is back, it is UP again. Liveness answers
// UP throughout: a dependency that is away must never get the pod restarted.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderDtoJson } from '../../src/domain/order-json.js';
import { ensureTopics } from '../../src/kafka/admin.js';
import { partitionFor } from '../../src/kafka/partitioner.js';
import { DeliveringProducer } from '../../src/kafka/producer.js';
import { PackedConsumer } from '../../src/native/packed-consumer.js';
import { ORDERS_STORE, changelogTopic, topicLayout } from '../../src/kafka/topics.js';
import { KafkaBroker } from '../support/broker.js';
import { deleteRecords } from '../support/delete-records.js';
import { NUM_PARTITIONS } from '../support/env.js';
import { startService, type Service } from '../support/service.js';
import { waitFor } from '../support/wait.js';

const PORT = Number(process.env.READINESS_KAFKA_PORT ?? 19592);
const APPLICATION_ID = 'readiness-test';
/** About 3 s of restore at the ~80,000 records/s docs/performance.md measures here. */
const CHANGELOG_RECORDS = 240_000;

interface Health {
  status: 'UP' | 'DOWN';
  components: Record<string, { status: 'UP' | 'DOWN'; details?: Record<string, unknown> }>;
}

interface Observation {
  readonly at: number;
  readonly readiness: number;
  readonly body: Health;
  readonly liveness: number;
}

const infraDir = mkdtempSync(join(tmpdir(), 'order-engine-readiness-'));
const broker = new KafkaBroker({ infraDir, port: PORT, controllerPort: PORT + 1 });
let service: Service | undefined;

async function observe(baseUrl: string): Promise<Observation> {
  const [r, l] = await Promise.all([fetch(`${baseUrl}/actuator/health/readiness`), fetch(`${baseUrl}/actuator/health/liveness`)]);
  return { at: Date.now(), readiness: r.status, body: (await r.json()) as Health, liveness: l.status };
}

/** Observes every 100 ms until `until` holds for an observation; returns all of them. */
async function watch(baseUrl: string, what: string, until: (o: Observation) => boolean, timeoutMs: number): Promise<Observation[]> {
  const seen: Observation[] = [];
  await waitFor(
    what,
    async () => {
      const o = await observe(baseUrl);
      seen.push(o);
      return until(o) ? true : undefined;
    },
    timeoutMs,
    100,
  );
  return seen;
}

const storedOrder = (orderId: number): string =>
  orderDtoJson({ orderId, customerId: 1, status: 'CONFIRMED', source: null, items: [{ itemId: orderId * 4, productCode: 'P001', quantity: 1, priceCents: 100 }] });

/** Writes orders `ids` to the orders-store changelog, each on its key's partition; returns the partition of each. */
async function writeChangelog(ids: readonly number[]): Promise<Map<number, number>> {
  const producer = await DeliveringProducer.connect({ brokers: broker.bootstrapServers, clientId: 'readiness-write', deliveryTimeoutMs: 60_000 });
  try {
    const topic = changelogTopic(APPLICATION_ID, ORDERS_STORE);
    const records = ids.map((orderId) => ({ topic, key: String(orderId), value: Buffer.from(storedOrder(orderId)), partition: partitionFor(String(orderId), NUM_PARTITIONS) }));
    await producer.sendAll(records);
    return new Map(records.map((r) => [Number(r.key), r.partition]));
  } finally {
    await producer.close();
  }
}

async function changelogEnds(): Promise<Map<number, number>> {
  const reader = new PackedConsumer({ 'bootstrap.servers': broker.bootstrapServers, 'group.id': 'readiness-ends', log_level: 0 });
  try {
    const topic = changelogTopic(APPLICATION_ID, ORDERS_STORE);
    const ends = new Map<number, number>();
    for (let p = 0; p < NUM_PARTITIONS; p++) ends.set(p, (await reader.watermarks(topic, p, 10_000)).highOffset);
    return ends;
  } finally {
    await reader.close();
  }
}

async function fillChangelog(): Promise<void> {
  const producer = await DeliveringProducer.connect({ brokers: broker.bootstrapServers, clientId: 'readiness-fill', deliveryTimeoutMs: 60_000 });
  try {
    await ensureTopics(broker.bootstrapServers, producer.client, topicLayout({ numPartitions: NUM_PARTITIONS, replicationFactor: 1, applicationId: APPLICATION_ID }));
    const topic = changelogTopic(APPLICATION_ID, ORDERS_STORE);
    for (let from = 0; from < CHANGELOG_RECORDS; from += 20_000) {
      const batch = Array.from({ length: 20_000 }, (_, i) => {
        const orderId = 5_000_000 + from + i;
        const key = String(orderId);
        return { topic, key, value: Buffer.from(storedOrder(orderId)), partition: partitionFor(key, NUM_PARTITIONS) };
      });
      await producer.sendAll(batch);
    }
  } finally {
    await producer.close();
  }
}

beforeAll(async () => {
  await broker.start();
  await fillChangelog();
}, 180_000);

afterAll(async () => {
  await service?.kill('SIGTERM');
  await broker.kill();
  rmSync(infraDir, { recursive: true, force: true });
}, 60_000);

function serviceEnv(): Record<string, string> {
  return {
    KAFKA_BOOTSTRAP_SERVERS: broker.bootstrapServers,
    APPLICATION_ID,
    INSTANCE_ID: `readiness-${process.pid}`,
    OUTBOX_RELAY_ENABLED: 'false',
    // Small restore steps: the restore then lasts seconds even on an idle machine,
    // well past the HTTP thread's start, so the test sees it whatever the machine's speed.
    RESTORE_MAX_POLL_RECORDS: '20',
  };
}

describe('readiness', () => {
  it('is DOWN with the restoring tasks in its details until every active task is restored, then UP; liveness UP throughout', async () => {
    service = await startService(serviceEnv(), { until: 'live', readyTimeoutMs: 60_000 });
    const seen = await watch(service.baseUrl, 'the service to be ready after its restore', (o) => o.readiness === 200, 240_000);
    const summary = seen.map((o) => `${o.at - seen[0]!.at} ms ${o.readiness} ${JSON.stringify(o.body.components.streams)}`).join('\n');
    for (const o of seen) expect(o.liveness).toBe(200);
    const restoring = seen.filter((o) => o.readiness === 503 && o.body.components.streams!.status === 'DOWN' && (o.body.components.streams!.details!.restoring as string[]).length > 0);
    expect(restoring.length, `no restore seen:\n${summary}\n${service.output().slice(-4000)}`).toBeGreaterThan(0);
    // A restore under way: its figures, the other components UP, and the body in the actuator's shape.
    const restored = (o: Observation): number => (o.body.components.streams!.details!.restoredRecords as number | undefined) ?? -1;
    const during = restoring.reduce((best, o) => (restored(o) > restored(best) ? o : best));
    expect(restored(during), `no observation showed restore progress:\n${JSON.stringify(during.body)}`).toBeGreaterThan(0);
    expect(during.body).toMatchObject({
      status: 'DOWN',
      components: {
        db: { status: 'UP', details: { database: 'PostgreSQL' } },
        kafka: { status: 'UP' },
        streams: { status: 'DOWN', details: { state: 'REBALANCING' } },
        accepting: { status: 'UP' },
      },
    });
    const ready = seen.at(-1)!;
    expect(ready.body.status).toBe('UP');
    expect(ready.body.components.streams).toMatchObject({ status: 'UP', details: { state: 'RUNNING', restoring: [] } });
    expect((ready.body.components.streams!.details!.running as string[]).length).toBe(NUM_PARTITIONS);
    console.log(`restore seen for ${restoring.at(-1)!.at - restoring[0]!.at} ms; furthest: ${JSON.stringify(during.body.components.streams)}`);
  }, 360_000);

  it('is DOWN with kafka DOWN while the broker is away and UP once it is back; liveness UP throughout', async () => {
    const svc = service!;
    await broker.kill();
    const outage = await watch(svc.baseUrl, 'readiness to see the broker gone', (o) => o.readiness === 503 && o.body.components.kafka!.status === 'DOWN', 30_000);
    const down = outage.at(-1)!;
    expect(down.body.components.kafka!.details).toMatchObject({ lastError: expect.any(String) });
    expect(down.body.components.db!.status).toBe('UP');
    // Down for a while: still alive, still not ready.
    const during = await watch(svc.baseUrl, 'five seconds of outage', (o) => o.at - down.at >= 5000, 30_000);
    for (const o of during) expect(o.readiness).toBe(503);
    await broker.restart();
    const back = await watch(svc.baseUrl, 'readiness after the broker is back', (o) => o.readiness === 200, 180_000);
    for (const o of [...outage, ...during, ...back]) expect(o.liveness).toBe(200);
    expect(back.at(-1)!.body.components.kafka!.status).toBe('UP');
    console.log(`DOWN ${down.at - outage[0]!.at} ms after the kill; UP ${back.at(-1)!.at - back[0]!.at} ms after the restart`);
  }, 300_000);

  // Regression: a state directory whose checkpoints are past the changelogs' end (here
  // the broker's data was reset, as a new Kafka cluster or recreated topics leave it)
  // restored forever: the reader waited for an end below where it started, and the
  // service never became ready. Such a store is wiped and restored from nothing.
  it('wipes and restores a store whose checkpoint is past its changelog\'s end (the broker\'s data reset), and gets ready', async () => {
    await service!.kill('SIGTERM');
    service = undefined;
    await broker.start(); // killed, its data removed, started empty
    service = await startService(serviceEnv(), { readyTimeoutMs: 120_000 });
    expect(service.output()).toContain('ahead of its changelog');
    // What the old changelog held is gone from the store too.
    expect((await fetch(`${service.baseUrl}/api/orders/store/5000000`)).status).toBe(404);
  }, 300_000);

  // Regression: a changelog truncated past a store's checkpoint (DeleteRecords, or a
  // retention set on it) was read on from its new start by librdkafka's offset reset,
  // over a store that had never seen the deleted records in between: what they replaced
  // or deleted stayed in the store. Such a store is wiped and restored from what the
  // changelog holds, as Kafka Streams does when its restore consumer's offset is out of range.
  it('wipes and restores a store whose changelog was truncated past its checkpoint', async () => {
    const topic = changelogTopic(APPLICATION_ID, ORDERS_STORE);
    await service!.kill('SIGTERM');
    service = undefined;
    const before = Array.from({ length: 60 }, (_, i) => 7_000_000 + i);
    await writeChangelog(before);
    service = await startService(serviceEnv(), { readyTimeoutMs: 120_000 });
    for (const id of before) expect((await fetch(`${service.baseUrl}/api/orders/store/${id}`)).status, `order ${id} restored`).toBe(200);
    await service.kill('SIGTERM'); // checkpoints at the changelog's end
    service = undefined;

    const checkpoint = await changelogEnds();
    const after = Array.from({ length: 60 }, (_, i) => 8_000_000 + i);
    const partitionOf = await writeChangelog(after);
    // Every partition loses what the store holds and the first record written since.
    const truncatedAt = new Map([...checkpoint].map(([p, end]) => [p, end + 1]));
    const lows = await deleteRecords(
      broker.bootstrapServers,
      [...truncatedAt].map(([partition, offset]) => ({ topic, partition, offset })),
    );
    for (const [p, offset] of truncatedAt) expect(lows.get(`${topic}-${p}`), `log start of partition ${p}`).toBe(offset);
    const lost = new Set([...truncatedAt.keys()].map((p) => after.find((id) => partitionOf.get(id) === p)));

    service = await startService(serviceEnv(), { readyTimeoutMs: 120_000 });
    const status = async (id: number): Promise<number> => (await fetch(`${service!.baseUrl}/api/orders/store/${id}`)).status;
    // Gone with the truncation: served before, not now (the store no longer holds what its changelog does not).
    for (const id of before) expect(await status(id), `order ${id} of the truncated records`).toBe(404);
    for (const id of after) expect(await status(id), `order ${id}`).toBe(lost.has(id) ? 404 : 200);
    expect(service.output()).toContain('truncated past a store');
  }, 300_000);
});
