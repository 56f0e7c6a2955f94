// The order API end to end against the real Postgres and the real broker: an order
// created over HTTP is stored, readable over HTTP, and its OrderDto reaches `orders`
// keyed by the order id on the partition Kafka's default partitioner gives that key.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionFor } from '../../src/kafka/partitioner.js';
import { NUM_PARTITIONS, TEST_DATABASE_URL } from '../support/env.js';
import { http, orderBody } from '../support/orders.js';
import { startService, type Service } from '../support/service.js';
import { waitFor } from '../support/wait.js';
import { TopicReader } from '../support/topic-reader.js';

let service: Service;
let reader: TopicReader;
let db: pg.Pool;

beforeAll(async () => {
  service = await startService();
  reader = await TopicReader.fromEnd('orders');
  db = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
});

afterAll(async () => {
  await reader?.close();
  await db?.end();
  await service?.kill('SIGTERM');
});

describe('create and read an order', () => {
  it('answers 201 with Location and the OrderResponse, stores it as NEW, and publishes its OrderDto to orders', async () => {
    const body = orderBody();
    const created = await http(service.baseUrl, 'POST', '/api/orders', body);
    expect(created.status).toBe(201);
    const id = created.json.orderId as number;
    expect(Number.isSafeInteger(id)).toBe(true);
    expect(created.location).toBe(`/api/orders/${id}`);
    expect(created.json).toMatchObject({
      customerId: body.customerId,
      status: 'NEW',
      source: null,
      totalPrice: 24,
      deliveryAddress: body.deliveryAddress,
      items: [
        { productId: 'P001', quantity: 2, productPrice: 10.5, price: 21 },
        { productId: 'P002', quantity: 1, productPrice: 3, price: 3 },
      ],
    });
    expect(created.text).toContain('"totalPrice":24.00');
    expect(created.json.createdDate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$/);

    const read = await http(service.baseUrl, 'GET', `/api/orders/${id}`);
    expect(read.status).toBe(200);
    expect(read.json).toEqual(created.json);
    const prefixed = await http(service.baseUrl, 'GET', `/order-service/api/orders/${id}`);
    expect(prefixed.json).toEqual(created.json);

    const { rows } = await db.query('select status, customer_id::float8 as customer_id from orders where id = $1', [id]);
    expect(rows).toEqual([{ status: 'NEW', customer_id: body.customerId }]);

    const key = String(id);
    const [record] = await waitFor('the OrderDto on orders', () => (reader.byKey(key).length > 0 ? reader.byKey(key) : undefined));
    expect(record!.partition).toBe(partitionFor(key, NUM_PARTITIONS));
    const dto = JSON.parse(record!.value.toString());
    expect(Object.keys(dto)).toEqual(['orderId', 'customerId', 'status', 'source', 'items']);
    expect(dto).toEqual({
      orderId: id,
      customerId: body.customerId,
      status: 'NEW',
      source: null,
      items: created.json.items.map((i: { itemId: number; productId: string; quantity: number; productPrice: number }) => ({
        itemId: i.itemId,
        productId: i.productId,
        quantity: i.quantity,
        productPrice: i.productPrice,
      })),
    });
    const { rows: outbox } = await db.query('select not exists (select 1 from outbox_pending p where p.outbox_id = o.id) as sent from outbox o where o.aggregate_id = $1', [id]);
    expect(outbox).toEqual([{ sent: true }]);
  });

  it('spreads many orders over every partition exactly as the default partitioner does', async () => {
    const ids = await Promise.all(
      Array.from({ length: 60 }, async () => (await http(service.baseUrl, 'POST', '/api/orders', orderBody())).json.orderId as number),
    );
    const records = await waitFor('60 OrderDtos', () => {
      const found = ids.map((id) => reader.byKey(String(id))[0]);
      return found.every(Boolean) ? found : undefined;
    });
    for (const r of records) expect(r!.partition).toBe(partitionFor(r!.key, NUM_PARTITIONS));
    expect(new Set(records.map((r) => r!.partition)).size).toBe(NUM_PARTITIONS);
  });
});

describe('list, page, update and delete', () => {
  it('pages by customer and over all orders with the PagedResult shape', async () => {
    const customerId = 2_000_000 + Math.floor(Math.random() * 1_000_000);
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) ids.push((await http(service.baseUrl, 'POST', '/api/orders', orderBody({ customerId }))).json.orderId);

    const page = await http(service.baseUrl, 'GET', `/api/orders/customer/${customerId}?page=0&size=2&sort=id,desc`);
    expect(page.status).toBe(200);
    expect(page.json).toMatchObject({ totalElements: 3, pageNumber: 1, totalPages: 2, isFirst: true, isLast: false, hasNext: true, hasPrevious: false });
    expect(page.json.data.map((o: { orderId: number }) => o.orderId)).toEqual([ids[2], ids[1]]);
    const last = await http(service.baseUrl, 'GET', `/api/orders/customer/${customerId}?page=1&size=2&sort=id,desc`);
    expect(last.json).toMatchObject({ pageNumber: 2, isFirst: false, isLast: true, hasNext: false, hasPrevious: true });
    expect(last.json.data.map((o: { orderId: number }) => o.orderId)).toEqual([ids[0]]);

    const all = await http(service.baseUrl, 'GET', '/api/orders?pageNo=0&pageSize=5&sortBy=id&sortDir=desc');
    expect(all.status).toBe(200);
    expect(all.json.data).toHaveLength(5);
    const sorted = [...all.json.data.map((o: { orderId: number }) => o.orderId)].sort((a, b) => b - a);
    expect(all.json.data.map((o: { orderId: number }) => o.orderId)).toEqual(sorted);
  });

  it('replaces the items on PUT and deletes with 202, after which the order is 404', async () => {
    const id = (await http(service.baseUrl, 'POST', '/api/orders', orderBody())).json.orderId as number;
    const updated = await http(service.baseUrl, 'PUT', `/api/orders/${id}`, orderBody({ customerId: 7, items: [{ productCode: 'P010', quantity: 3, productPrice: 1.25 }] }));
    expect(updated.status).toBe(200);
    expect(updated.json).toMatchObject({ orderId: id, customerId: 7, totalPrice: 3.75, items: [{ productId: 'P010', quantity: 3, price: 3.75 }] });
    expect(updated.json.items).toHaveLength(1);

    expect((await http(service.baseUrl, 'PUT', '/api/orders/1', orderBody())).status).toBe(404);
    const deleted = await http(service.baseUrl, 'DELETE', `/api/orders/${id}`);
    expect(deleted.status).toBe(202);
    expect(deleted.text).toBe('');
    const gone = await http(service.baseUrl, 'GET', `/api/orders/${id}`);
    expect(gone.status).toBe(404);
    expect(gone.json.title).toBe('Order Not Found');
    expect((await http(service.baseUrl, 'DELETE', `/api/orders/${id}`)).status).toBe(404);
  });
});

describe('bad requests get a problem+json and change nothing', () => {
  const address = { addressLine1: 'a', city: 'b', state: 'c', zipCode: 'd', country: 'e' };
  const cases: { name: string; method?: string; path?: string; body: unknown; headers?: Record<string, string>; status: number; code: string; field?: string }[] = [
    { name: 'malformed JSON', body: '{"customerId": 1,', status: 400, code: 'ORD_ERR_MALFORMED_JSON' },
    { name: 'a JSON array', body: '[]', status: 400, code: 'ORD_ERR_VALIDATION' },
    { name: 'customerId of the wrong type', body: { customerId: 'x', items: [{ productCode: 'P001', quantity: 1, productPrice: 1 }], deliveryAddress: address }, status: 400, code: 'ORD_ERR_VALIDATION', field: 'customerId' },
    { name: 'missing deliveryAddress', body: { customerId: 1, items: [{ productCode: 'P001', quantity: 1, productPrice: 1 }] }, status: 400, code: 'ORD_ERR_VALIDATION', field: 'deliveryAddress' },
    { name: 'missing city', body: { customerId: 1, items: [{ productCode: 'P001', quantity: 1, productPrice: 1 }], deliveryAddress: { ...address, city: undefined } }, status: 400, code: 'ORD_ERR_VALIDATION', field: 'deliveryAddress.city' },
    { name: 'zero quantity', body: { customerId: 1, items: [{ productCode: 'P001', quantity: 0, productPrice: 1 }], deliveryAddress: address }, status: 400, code: 'ORD_ERR_VALIDATION', field: 'items[0].quantity' },
    { name: 'negative quantity', body: { customerId: 1, items: [{ productCode: 'P001', quantity: -3, productPrice: 1 }], deliveryAddress: address }, status: 400, code: 'ORD_ERR_VALIDATION', field: 'items[0].quantity' },
    { name: 'price with three decimals', body: { customerId: 1, items: [{ productCode: 'P001', quantity: 1, productPrice: 1.005 }], deliveryAddress: address }, status: 400, code: 'ORD_ERR_VALIDATION', field: 'items[0].productPrice' },
    { name: 'no items', body: { customerId: 1, items: [], deliveryAddress: address }, status: 400, code: 'ORD_ERR_VALIDATION', field: 'items' },
    { name: 'unknown product code', body: { customerId: 1, items: [{ productCode: 'NOPE-1', quantity: 1, productPrice: 1 }], deliveryAddress: address }, status: 404, code: 'ORD_ERR_PRODUCT_NOT_FOUND' },
    { name: 'oversize body', body: JSON.stringify({ customerId: 1, pad: 'x'.repeat(70_000) }), status: 413, code: 'ORD_ERR_BODY_TOO_LARGE' },
    { name: 'form content type', body: 'customerId=1', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'ORD_ERR_UNSUPPORTED_MEDIA_TYPE' },
    { name: 'unknown id', method: 'GET', path: '/api/orders/42', body: undefined, status: 404, code: 'ORD_ERR_ORDER_NOT_FOUND' },
    { name: 'non-numeric id', method: 'GET', path: '/api/orders/abc', body: undefined, status: 400, code: 'ORD_ERR_BAD_PARAMETER', field: 'id' },
    { name: 'bad paging', method: 'GET', path: '/api/orders?pageSize=0', body: undefined, status: 400, code: 'ORD_ERR_BAD_PARAMETER', field: 'pageSize' },
    { name: 'generate without Idempotency-Key', method: 'POST', path: '/api/orders/generate', body: undefined, status: 400, code: 'ORD_ERR_MISSING_IDEMPOTENCY_KEY' },
    { name: 'generate with batchSize out of range', method: 'POST', path: '/api/orders/generate?batchSize=10001', headers: { 'Idempotency-Key': 'bad-batch' }, body: undefined, status: 400, code: 'ORD_ERR_BAD_PARAMETER', field: 'batchSize' },
    { name: 'unknown route', method: 'GET', path: '/api/nothing', body: undefined, status: 404, code: 'ORD_ERR_ROUTE_NOT_FOUND' },
  ];

  it.each(cases)('$name → $status $code', async (c) => {
    const before = (await db.query<{ n: string }>('select (select count(*) from orders) + (select count(*) from outbox) as n')).rows[0]!.n;
    const res = await http(service.baseUrl, c.method ?? 'POST', c.path ?? '/api/orders', c.body, c.headers);
    expect(res.status).toBe(c.status);
    expect(res.contentType).toBe('application/problem+json');
    expect(res.json).toMatchObject({ status: c.status, code: c.code, instance: (c.path ?? '/api/orders').split('?')[0] });
    for (const field of ['type', 'title', 'detail', 'errorCategory', 'timestamp']) expect(res.json[field]).toEqual(expect.any(String));
    if (c.field !== undefined) expect(res.json.violations.map((v: { field: string }) => v.field)).toContain(c.field);
    const after = (await db.query<{ n: string }>('select (select count(*) from orders) + (select count(*) from outbox) as n')).rows[0]!.n;
    expect(after).toBe(before);
    // The service is still up after every bad request.
    expect((await http(service.baseUrl, 'GET', '/actuator/health/liveness')).status).toBe(200);
  });
});

describe('generate', () => {
  it('builds batchSize orders in the background once per Idempotency-Key', async () => {
    const key = `gen-${Date.now()}`;
    const count = async (): Promise<number> => Number((await db.query('select count(*) as n from orders')).rows[0].n);
    const before = await count();
    const first = await http(service.baseUrl, 'POST', '/api/orders/generate?batchSize=250', undefined, { 'Idempotency-Key': key });
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ success: true });
    await waitFor('250 generated orders', async () => ((await count()) >= before + 250 ? true : undefined));
    const again = await http(service.baseUrl, 'POST', '/api/orders/generate?batchSize=250', undefined, { 'Idempotency-Key': key });
    expect(again.json).toEqual({ success: true });
    // A second generation would have written its first batch within this window.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await count()).toBe(before + 250);
  });
});
