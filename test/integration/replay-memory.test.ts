// A fresh application id replays the whole history of `orders`, and while it does,
// every poll comes back full: the stream loop's queues of held records never run
// empty. They once kept every record they had ever held (src/engine/partition-group.ts),
// and a replay of 570k orders took the kafka thread to its heap limit and the process
// down within 15 s. Here a backlog of NEW orders, on a broker this test owns (so no
// other test replays it), is replayed by a service whose kafka thread has a heap far
// smaller than the backlog: it must catch up, alive, with every order in its store.
//
// Both participants' answers to the last ANSWERED orders come after the whole backlog,
// later in time than every order: while `orders` replays, the answer topics' fetches
// (smaller records) run ahead, and their records wait for the orders' time. The loop
// pauses those partitions at their share of the held-records bound (stream-loop.ts,
// flow control) rather than letting the bound release them out of order; those orders
// must end decided.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderDtoJson } from '../../src/domain/order-json.js';
import { ensureTopics } from '../../src/kafka/admin.js';
import { partitionFor } from '../../src/kafka/partitioner.js';
import { DeliveringProducer } from '../../src/kafka/producer.js';
import { JOIN_INPUTS, TOPIC_ORDERS, topicLayout } from '../../src/kafka/topics.js';
import { KafkaBroker } from '../support/broker.js';
import { NUM_PARTITIONS } from '../support/env.js';
import { answerDto } from '../support/saga-io.js';
import { startService, type Service } from '../support/service.js';
import { waitFor } from '../support/wait.js';

const PORT = Number(process.env.REPLAY_KAFKA_PORT ?? 19692);
const APPLICATION_ID = 'replay-memory-test';
/** About 1 KiB of the kafka thread's heap each while held: ~300 MiB for the whole backlog. */
const ORDERS = Number(process.env.REPLAY_ORDERS ?? 300_000);
const FIRST_ID = 7_000_000;
/** The last orders of the backlog, answered by both participants after it. */
const ANSWERED = Number(process.env.REPLAY_ANSWERED ?? 30_000);
/**
 * The kafka thread's heap: room for the held records' bound (20k), far from the
 * backlog. The old queues died here (2 runs of 2 at 48 MiB, 1 of 1 at 64); at 80 MiB
 * one got through, its queues having run empty often enough.
 */
const HEAP_MB = Number(process.env.REPLAY_HEAP_MB ?? 48);

const infraDir = mkdtempSync(join(tmpdir(), 'order-engine-replay-'));
const broker = new KafkaBroker({ infraDir, port: PORT, controllerPort: PORT + 1 });
let service: Service | undefined;

const newOrder = (orderId: number): string =>
  orderDtoJson({ orderId, customerId: 1, status: 'NEW', source: null, items: [{ itemId: orderId * 4, productCode: 'P001', quantity: 1, priceCents: 100 }] });

/** Writes the backlog as the relay would (key = order id, Java's partitioner); returns each partition's last order id. */
async function writeBacklog(): Promise<Map<number, number>> {
  const producer = await DeliveringProducer.connect({ brokers: broker.bootstrapServers, clientId: 'replay-fill', deliveryTimeoutMs: 60_000 });
  const last = new Map<number, number>();
  try {
    await ensureTopics(broker.bootstrapServers, producer.client, topicLayout({ numPartitions: NUM_PARTITIONS, replicationFactor: 1, applicationId: APPLICATION_ID }));
    for (let from = 0; from < ORDERS; from += 25_000) {
      const batch = Array.from({ length: 25_000 }, (_, i) => {
        const orderId = FIRST_ID + from + i;
        const key = String(orderId);
        const partition = partitionFor(key, NUM_PARTITIONS);
        last.set(partition, orderId);
        return { topic: TOPIC_ORDERS, key, value: Buffer.from(newOrder(orderId)), partition };
      });
      await producer.sendAll(batch);
    }
    for (let from = ORDERS - ANSWERED; from < ORDERS; from += 10_000) {
      const batch = Array.from({ length: Math.min(10_000, ORDERS - from) }, (_, i) => {
        const orderId = FIRST_ID + from + i;
        const key = String(orderId);
        const partition = partitionFor(key, NUM_PARTITIONS);
        return [
          { topic: JOIN_INPUTS[0], key, value: answerDto(orderId, 'ACCEPT', 'PAYMENT'), partition },
          { topic: JOIN_INPUTS[1], key, value: answerDto(orderId, 'ACCEPT', 'INVENTORY'), partition },
        ];
      }).flat();
      await producer.sendAll(batch);
    }
  } finally {
    await producer.close();
  }
  return last;
}

let lastPerPartition = new Map<number, number>();

beforeAll(async () => {
  await broker.start();
  lastPerPartition = await writeBacklog();
}, 180_000);

afterAll(async () => {
  await service?.kill('SIGTERM');
  await broker.kill();
  rmSync(infraDir, { recursive: true, force: true });
}, 60_000);

describe('replaying a backlog of orders', () => {
  it(`catches up on ${ORDERS.toLocaleString('en')} orders and the answers to ${ANSWERED.toLocaleString('en')} of them with a ${HEAP_MB} MiB kafka thread heap`, async () => {
    expect(lastPerPartition.size).toBe(NUM_PARTITIONS);
    service = await startService({
      KAFKA_BOOTSTRAP_SERVERS: broker.bootstrapServers,
      APPLICATION_ID,
      INSTANCE_ID: `replay-${process.pid}`,
      OUTBOX_RELAY_ENABLED: 'false',
      NODE_OPTIONS: `--max-old-space-size=${HEAP_MB}`,
    });
    const { baseUrl, process: child } = service;
    // Each partition's last order decided in the store means all before it were
    // processed (offset order), and its answers too.
    await waitFor(
      'the last order of each partition decided in the store',
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`the service exited (${child.exitCode ?? child.signalCode}) during the replay:\n${service?.output().slice(-3000) ?? ''}`);
        }
        for (const id of lastPerPartition.values()) {
          const res = await fetch(`${baseUrl}/api/orders/store/${id}`);
          if (res.status !== 200) return undefined;
          const body = (await res.json()) as { orderId: number; status: string };
          if (body.orderId !== id || body.status !== 'CONFIRMED') return undefined;
        }
        return true;
      },
      150_000,
      500,
    );
    const statusOf = async (id: number): Promise<string> => {
      const res = await fetch(`${baseUrl}/api/orders/store/${id}`);
      return res.status === 200 ? ((await res.json()) as { status: string }).status : `HTTP ${res.status}`;
    };
    expect(await statusOf(FIRST_ID)).toBe('NEW');
    // Every answered order decided: a sample across the answered range.
    const sample = Array.from({ length: 100 }, (_, i) => FIRST_ID + ORDERS - ANSWERED + Math.floor((i * ANSWERED) / 100));
    const statuses = await Promise.all(sample.map(statusOf));
    expect(statuses.filter((st) => st !== 'CONFIRMED')).toEqual([]);
    // The answers ran ahead and were paused, not released past the bound.
    const metrics = await fetch(`${baseUrl}/actuator/prometheus`).then((r) => r.text());
    const pauses = Number(/^kafka_streams_partition_flow_pauses_total(?:\{[^}]*\})? (\S+)$/m.exec(metrics)?.[1]);
    const pastBound = Number(/^kafka_streams_held_records_released_past_bound_total(?:\{[^}]*\})? (\S+)$/m.exec(metrics)?.[1]);
    console.log(`flow pauses: ${pauses}; records released past the held bound: ${pastBound}`);
    expect(pauses).toBeGreaterThan(0);
    // Still the same process, answering.
    expect((await fetch(`${baseUrl}/actuator/health/liveness`)).status).toBe(200);
  }, 240_000);
});
