// PROCESSING_GUARANTEE=at_least_once: the same saga and store without transactions
// (the producer flushes, then the consumer commits its offsets).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DeliveringProducer } from '../../src/kafka/producer.js';
import { KAFKA_BOOTSTRAP_SERVERS } from '../support/env.js';
import { http, orderBody } from '../support/orders.js';
import { startService, type Service } from '../support/service.js';
import { waitFor } from '../support/wait.js';

let service: Service;
let producer: DeliveringProducer;

beforeAll(async () => {
  service = await startService({ APPLICATION_ID: `alos-${Date.now()}`, PROCESSING_GUARANTEE: 'at_least_once', COMMIT_INTERVAL_MS: '200' });
  producer = await DeliveringProducer.connect({ brokers: KAFKA_BOOTSTRAP_SERVERS, clientId: 'alos-test', deliveryTimeoutMs: 10_000 });
});

afterAll(async () => {
  await producer?.close();
  await service?.kill('SIGTERM');
});

it('decides and stores the saga outcome with at_least_once processing', async () => {
  const order = (await http(service.baseUrl, 'POST', '/api/orders', orderBody())).json;
  const items = order.items.map((i: Record<string, unknown>) => ({ itemId: i.itemId, productId: i.productId, quantity: i.quantity, productPrice: i.productPrice }));
  const dto = { orderId: order.orderId, customerId: order.customerId, status: 'ACCEPT', source: 'PAYMENT', items };
  await producer.sendAll([
    { topic: 'payment-orders', key: String(order.orderId), value: Buffer.from(JSON.stringify(dto)) },
    { topic: 'stock-orders', key: String(order.orderId), value: Buffer.from(JSON.stringify({ ...dto, status: 'REJECT', source: 'INVENTORY' })) },
  ]);
  const stored = await waitFor('the decision in the store', async () => {
    const res = await http(service.baseUrl, 'GET', `/api/orders/store/${order.orderId}`);
    return res.json?.status === 'ROLLBACK' ? res.json : undefined;
  });
  expect(stored).toMatchObject({ orderId: order.orderId, status: 'ROLLBACK', source: 'INVENTORY' });
});
