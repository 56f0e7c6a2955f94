// The saga end to end on the real broker and Postgres: an order created over HTTP is
// answered by a payment and an inventory participant (played by this test, so each
// outcome is chosen), joined by the stream engine, and its decision lands in
// `orders`, in orders-store (GET /api/orders/store/{id}) and in Postgres. It runs
// with Kafka Streams' fixed commit interval (COMMIT_MODE=fixed); the other integration
// tests run with the default, adaptive commits.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveringProducer } from '../../src/kafka/producer.js';
import { partitionFor } from '../../src/kafka/partitioner.js';
import { KAFKA_BOOTSTRAP_SERVERS, NUM_PARTITIONS, TEST_DATABASE_URL } from '../support/env.js';
import { http, orderBody } from '../support/orders.js';
import { startService, type Service } from '../support/service.js';
import { waitFor } from '../support/wait.js';
import { TopicReader } from '../support/topic-reader.js';

let service: Service;
let producer: DeliveringProducer;
let orders: TopicReader;
let dlq: TopicReader;
let db: pg.Pool;
const JOIN_WINDOW_MS = 3000;

beforeAll(async () => {
  service = await startService({ APPLICATION_ID: `saga-${Date.now()}`, JOIN_WINDOW_MS: String(JOIN_WINDOW_MS), COMMIT_INTERVAL_MS: '200', COMMIT_MODE: 'fixed' });
  producer = await DeliveringProducer.connect({ brokers: KAFKA_BOOTSTRAP_SERVERS, clientId: 'saga-test', deliveryTimeoutMs: 10_000 });
  orders = await TopicReader.fromEnd('orders');
  dlq = await TopicReader.fromEnd('recovererDLQ');
  db = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
});

afterAll(async () => {
  await orders?.close();
  await dlq?.close();
  await producer?.close();
  await db?.end();
  await service?.kill('SIGTERM');
});

async function createOrder(): Promise<{ id: number; dto: Record<string, unknown> }> {
  const res = await http(service.baseUrl, 'POST', '/api/orders', orderBody());
  expect(res.status).toBe(201);
  const o = res.json;
  const dto = {
    orderId: o.orderId,
    customerId: o.customerId,
    status: 'NEW',
    source: null,
    items: o.items.map((i: Record<string, unknown>) => ({ itemId: i.itemId, productId: i.productId, quantity: i.quantity, productPrice: i.productPrice })),
  };
  return { id: o.orderId, dto };
}

function answer(topic: 'payment-orders' | 'stock-orders', dto: Record<string, unknown>, status: 'ACCEPT' | 'REJECT'): Promise<void> {
  const source = topic === 'payment-orders' ? 'PAYMENT' : 'INVENTORY';
  return producer.sendAll([{ topic, key: String(dto.orderId), value: Buffer.from(JSON.stringify({ ...dto, status, source })) }]);
}

function decisions(id: number): Record<string, unknown>[] {
  return orders
    .byKey(String(id))
    .map((r) => JSON.parse(r.value.toString()))
    .filter((d) => d.status !== 'NEW');
}

describe('the saga decision', () => {
  const cases = [
    { payment: 'ACCEPT', stock: 'ACCEPT', status: 'CONFIRMED', source: null },
    { payment: 'REJECT', stock: 'REJECT', status: 'REJECTED', source: 'INVENTORY' },
    { payment: 'REJECT', stock: 'ACCEPT', status: 'ROLLBACK', source: 'PAYMENT' },
    { payment: 'ACCEPT', stock: 'REJECT', status: 'ROLLBACK', source: 'INVENTORY' },
  ] as const;

  it.each(cases)('payment $payment + stock $stock → $status (source $source) in orders, the store and Postgres', async (c) => {
    const { id, dto } = await createOrder();
    await answer('payment-orders', dto, c.payment);
    await answer('stock-orders', dto, c.stock);

    const [decision] = await waitFor('the decision on orders', () => (decisions(id).length > 0 ? decisions(id) : undefined));
    expect(decision).toMatchObject({ orderId: id, status: c.status, source: c.source, customerId: dto.customerId });
    const record = orders.byKey(String(id)).find((r) => JSON.parse(r.value.toString()).status === c.status)!;
    expect(record.partition).toBe(partitionFor(String(id), NUM_PARTITIONS));

    const stored = await waitFor('the decision in orders-store', async () => {
      const res = await http(service.baseUrl, 'GET', `/api/orders/store/${id}`);
      return res.status === 200 && res.json.status === c.status ? res.json : undefined;
    });
    expect(stored).toMatchObject({ orderId: id, status: c.status, source: c.source });

    const api = await waitFor('the decision in Postgres', async () => {
      const res = await http(service.baseUrl, 'GET', `/api/orders/${id}`);
      return res.json.status === c.status ? res.json : undefined;
    });
    expect(api).toMatchObject({ orderId: id, status: c.status, source: c.source });
    expect(decisions(id)).toHaveLength(1);
  });

  it('makes no decision for a payment answer with no stock answer inside the window', async () => {
    const { id, dto } = await createOrder();
    await answer('payment-orders', dto, 'ACCEPT');
    // The NEW order reaches the store; the payment alone must not change it.
    await waitFor('the NEW order in the store', async () => ((await http(service.baseUrl, 'GET', `/api/orders/store/${id}`)).json?.status === 'NEW' ? true : undefined));
    await new Promise((r) => setTimeout(r, JOIN_WINDOW_MS + 500));
    // A stock answer after the window has closed joins nothing either.
    await answer('stock-orders', dto, 'ACCEPT');
    await new Promise((r) => setTimeout(r, 1500));
    expect(decisions(id)).toEqual([]);
    expect((await http(service.baseUrl, 'GET', `/api/orders/store/${id}`)).json.status).toBe('NEW');
    expect((await http(service.baseUrl, 'GET', `/api/orders/${id}`)).json.status).toBe('NEW');
  });
});

describe('poison records', () => {
  it('sends garbage on payment-orders to recovererDLQ with the reason, and goes on with the next record', async () => {
    const { id, dto } = await createOrder();
    const garbage = Buffer.from([0xff, 0x00, 0x7b, 0x22, 0x6f]);
    await producer.sendAll([{ topic: 'payment-orders', key: String(id), value: garbage }]);
    await answer('payment-orders', dto, 'ACCEPT');
    await answer('stock-orders', dto, 'ACCEPT');

    const [dead] = await waitFor('the poison record in the DLQ', () => (dlq.byKey(String(id)).length > 0 ? dlq.byKey(String(id)) : undefined));
    expect(Buffer.compare(dead!.value, garbage)).toBe(0);
    expect(dead!.headers['kafka_dlt-original-topic']).toBe('payment-orders');
    expect(dead!.headers['kafka_dlt-exception-message']).toEqual(expect.any(String));
    const [decision] = await waitFor('the decision after the poison record', () => (decisions(id).length > 0 ? decisions(id) : undefined));
    expect(decision).toMatchObject({ status: 'CONFIRMED' });
    expect((await http(service.baseUrl, 'GET', '/actuator/health/liveness')).status).toBe(200);
  });
});

describe('interactive queries', () => {
  it('answers 404 for an order the store does not have and pages the store', async () => {
    expect((await http(service.baseUrl, 'GET', '/api/orders/store/1')).status).toBe(404);
    const page = await http(service.baseUrl, 'GET', '/api/orders/store?pageNo=0&pageSize=3');
    expect(page.status).toBe(200);
    expect(page.json.length).toBeLessThanOrEqual(3);
    for (const dto of page.json) expect(Object.keys(dto)).toEqual(['orderId', 'customerId', 'status', 'source', 'items']);
  });
});
