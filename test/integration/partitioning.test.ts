// Sink records are partitioned by key, as Kafka Streams partitions them, whatever the
// partitioner of the participants that answered: the saga with answers produced by
// librdkafka's default partitioner (consistent_random, CRC32), and with one side
// partitioned each way, where only REPARTITION_INPUTS can bring the two together.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionFor } from '../../src/kafka/partitioner.js';
import { NUM_PARTITIONS } from '../support/env.js';
import { http, orderBody } from '../support/orders.js';
import { produceWith, type Partitioner } from '../support/partitioned-producer.js';
import { startService, type Service } from '../support/service.js';
import { TopicReader } from '../support/topic-reader.js';
import { waitFor } from '../support/wait.js';

let orders: TopicReader;

beforeAll(async () => {
  orders = await TopicReader.fromEnd('orders');
});

afterAll(async () => {
  await orders?.close();
});


/** Creates an order over HTTP and returns its OrderDto as the participants see it. */
async function createOrder(service: Service): Promise<{ id: number; dto: Record<string, unknown> }> {
  const res = await http(service.baseUrl, 'POST', '/api/orders', orderBody());
  expect(res.status).toBe(201);
  const o = res.json;
  const items = o.items.map((i: Record<string, unknown>) => ({ itemId: i.itemId, productId: i.productId, quantity: i.quantity, productPrice: i.productPrice }));
  return { id: o.orderId, dto: { orderId: o.orderId, customerId: o.customerId, status: 'NEW', source: null, items } };
}

async function createOrders(service: Service, n: number): Promise<{ id: number; dto: Record<string, unknown> }[]> {
  const out: { id: number; dto: Record<string, unknown> }[] = [];
  while (out.length < n) out.push(await createOrder(service));
  return out;
}

async function answer(partitioner: Partitioner, topic: 'payment-orders' | 'stock-orders', list: { id: number; dto: Record<string, unknown> }[], status: 'ACCEPT' | 'REJECT'): Promise<number[]> {
  const source = topic === 'payment-orders' ? 'PAYMENT' : 'INVENTORY';
  return produceWith(
    partitioner,
    list.map(({ id, dto }) => ({ topic, key: String(id), value: Buffer.from(JSON.stringify({ ...dto, status, source })) })),
  );
}

const decisions = (id: number): { partition: number; status: string }[] =>
  orders
    .byKey(String(id))
    .map((r) => ({ partition: r.partition, status: JSON.parse(r.value.toString()).status as string }))
    .filter((d) => d.status !== 'NEW');

async function metric(service: Service, name: string, label: string): Promise<number> {
  const text = (await http(service.baseUrl, 'GET', '/actuator/prometheus')).text;
  const line = text.split('\n').find((l) => (label === '' ? l.startsWith(`${name} `) : l.startsWith(`${name}{`) && l.includes(label)));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe('answers from a participant using librdkafka\'s default partitioner (consistent_random)', () => {
  let service: Service;
  beforeAll(async () => {
    service = await startService({ APPLICATION_ID: `crc-${Date.now()}`, COMMIT_INTERVAL_MS: '200' });
  }, 120_000);
  afterAll(async () => {
    await service?.kill('SIGTERM');
  });

  // Regression: the decision went to the partition the answers arrived on (CRC32's),
  // so the order's key was split across two partitions of `orders` and the store,
  // which routes by murmur2, showed NEW forever.
  it('decides each order on its key\'s partition of orders; the store and Postgres show the decision', async () => {
    const list = await createOrders(service, 12);
    const landed = await answer('consistent_random', 'payment-orders', list, 'ACCEPT');
    await answer('consistent_random', 'stock-orders', list, 'ACCEPT');
    // The answers really are elsewhere than murmur2 puts the key, for most orders.
    const elsewhere = list.filter(({ id }, i) => landed[i] !== partitionFor(String(id), NUM_PARTITIONS));
    expect(elsewhere.length).toBeGreaterThan(0);

    for (const { id } of list) {
      const [decision] = await waitFor(`the decision of ${id}`, () => (decisions(id).length > 0 ? decisions(id) : undefined));
      expect(decision).toEqual({ partition: partitionFor(String(id), NUM_PARTITIONS), status: 'CONFIRMED' });
      const stored = await waitFor(`${id} CONFIRMED in the store`, async () => {
        const res = await http(service.baseUrl, 'GET', `/api/orders/store/${id}`);
        return res.status === 200 && res.json.status === 'CONFIRMED' ? res.json : undefined;
      });
      expect(stored.orderId).toBe(id);
      await waitFor(`${id} CONFIRMED in Postgres`, async () => ((await http(service.baseUrl, 'GET', `/api/orders/${id}`)).json?.status === 'CONFIRMED' ? true : undefined));
      expect(decisions(id)).toHaveLength(1);
    }
    // Every such record was seen arriving on a partition its key does not hash to (the
    // HTTP thread's metrics follow the engine's counters within a second).
    await waitFor('the mispartitioned payment answers counted', async () =>
      (await metric(service, 'kafka_streams_mispartitioned_records_total', 'topic="payment-orders"')) >= elsewhere.length ? true : undefined,
    );
  });
});

describe('one side partitioned by murmur2, the other by consistent_random', () => {
  it('joins nothing without REPARTITION_INPUTS (and says so in a metric), joins all with it', async () => {
    let service = await startService({ APPLICATION_ID: `mixed-${Date.now()}`, COMMIT_INTERVAL_MS: '200' });
    try {
      const list = await createOrders(service, 8);
      const landed = await answer('consistent_random', 'stock-orders', list, 'ACCEPT');
      const split = list.filter(({ id }, i) => landed[i] !== partitionFor(String(id), NUM_PARTITIONS));
      expect(split.length).toBeGreaterThan(0);
      await answer('murmur2_random', 'payment-orders', split, 'REJECT');
      await waitFor('the stock answers counted as mispartitioned', async () =>
        (await metric(service, 'kafka_streams_mispartitioned_records_total', 'topic="stock-orders"')) >= split.length ? true : undefined,
      );
      // The two answers of each order sit in two different tasks: nothing to join.
      // Waiting for a decision that must not come: two commit intervals and more.
      await new Promise((r) => setTimeout(r, 1500));
      for (const { id } of split) expect(decisions(id)).toEqual([]);
      await service.kill('SIGTERM');

      // The same answers again, to an engine that forwards the mispartitioned ones.
      service = await startService({ APPLICATION_ID: `mixed-repartition-${Date.now()}`, COMMIT_INTERVAL_MS: '200', REPARTITION_INPUTS: 'true' });
      const again = await createOrders(service, 8);
      const landedAgain = await answer('consistent_random', 'stock-orders', again, 'ACCEPT');
      const splitAgain = again.filter(({ id }, i) => landedAgain[i] !== partitionFor(String(id), NUM_PARTITIONS));
      await answer('murmur2_random', 'payment-orders', splitAgain, 'REJECT');
      for (const { id } of splitAgain) {
        const [decision] = await waitFor(`the decision of ${id}`, () => (decisions(id).length > 0 ? decisions(id) : undefined));
        expect(decision).toEqual({ partition: partitionFor(String(id), NUM_PARTITIONS), status: 'ROLLBACK' });
        await waitFor(`${id} ROLLBACK in the store`, async () => ((await http(service.baseUrl, 'GET', `/api/orders/store/${id}`)).json?.status === 'ROLLBACK' ? true : undefined));
      }
      await waitFor('the forwarded stock answers counted', async () =>
        (await metric(service, 'kafka_streams_forwarded_records_total', '')) >= splitAgain.length ? true : undefined,
      );
    } finally {
      await service.kill('SIGTERM');
    }
  }, 240_000);
});
