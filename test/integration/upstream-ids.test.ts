// Drop-in compatibility with the original service, whose ids are 64-bit TSIDs (about
// 9.1e17, past 2^53): during a cut-over its orders are in Postgres and on `orders`, and
// its participants answer them. Every path must carry those ids exactly: here two
// orders whose ids are one double (they differ by 1 past 2^53, so any rounding through
// a JS number would merge them) go through the saga from upstream-shaped records
// (written as Jackson writes a Long), and a new order is created for a customer with
// a TSID. The JSON is checked as text, never through JSON.parse, which would round.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOrderDto } from '../../src/domain/order-dto.js';
import { DeliveringProducer } from '../../src/kafka/producer.js';
import { KAFKA_BOOTSTRAP_SERVERS, TEST_DATABASE_URL } from '../support/env.js';
import { http, orderBody } from '../support/orders.js';
import { startService, type Service } from '../support/service.js';
import { TopicReader } from '../support/topic-reader.js';
import { waitFor } from '../support/wait.js';

let service: Service;
let producer: DeliveringProducer;
let orders: TopicReader;
let dlq: TopicReader;
let db: pg.Pool;

// Fresh per run (the broker and the database are shared): TSID-sized, past 2^53.
const base = 910_000_000_000_000_000n + BigInt(Date.now() % 1_000_000_000) * 1000n;
const confirmed = base + 123n;
const rolledBack = base + 124n; // the same double as `confirmed`
const customer = base + 1n;

/** An OrderDto as the original service writes it: every id a JSON integer, written out in full. */
function upstreamDto(orderId: bigint, status: string, source: string | null): Buffer {
  return Buffer.from(
    `{"orderId":${orderId},"customerId":${customer},"status":"${status}","source":${source === null ? 'null' : `"${source}"`},` +
      `"items":[{"itemId":${orderId + 500n},"productId":"P001","quantity":2,"productPrice":12.50}]}`,
  );
}

beforeAll(async () => {
  service = await startService({ APPLICATION_ID: `upstream-ids-${Date.now()}`, COMMIT_INTERVAL_MS: '200' });
  producer = await DeliveringProducer.connect({ brokers: KAFKA_BOOTSTRAP_SERVERS, clientId: 'upstream-ids-test', deliveryTimeoutMs: 10_000 });
  orders = await TopicReader.fromEnd('orders');
  dlq = await TopicReader.fromEnd('recovererDLQ');
  db = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
}, 120_000);

afterAll(async () => {
  await db?.query('delete from orders where id = any($1::bigint[]) or customer_id = $2', [[String(confirmed), String(rolledBack)], String(customer)]).catch(() => undefined);
  await orders?.close();
  await dlq?.close();
  await producer?.close();
  await db?.end();
  await service?.kill('SIGTERM');
});

/** The decisions on `orders` for an id, as text. */
const decisions = (id: bigint): string[] =>
  orders
    .byKey(String(id))
    .map((r) => r.value.toString())
    .filter((v) => !v.includes('"status":"NEW"'));

describe('orders the original service created (64-bit TSIDs past 2^53)', () => {
  it('are decided from upstream-shaped records, with the exact ids on orders, in the store and in Postgres, and nothing dead-lettered', async () => {
    expect(Number(confirmed)).toBe(Number(rolledBack));
    // The original's rows, as its Flyway schema has them (drop-in: same database).
    for (const id of [confirmed, rolledBack]) {
      await db.query(
        `insert into orders (id, customer_id, status, delivery_address_line1, delivery_address_city, delivery_address_state, delivery_address_zip_code, delivery_address_country)
         values ($1, $2, 'NEW', '1 Main St', 'Springfield', 'IL', '62701', 'US')`,
        [String(id), String(customer)],
      );
      await db.query(`insert into order_items (id, product_code, quantity, product_price, order_id) values ($1, 'P001', 2, 12.50, $2)`, [String(id + 500n), String(id)]);
    }
    // Its outbox's NEW records, then its participants' answers.
    await producer.sendAll([confirmed, rolledBack].map((id) => ({ topic: 'orders', key: String(id), value: upstreamDto(id, 'NEW', null) })));
    await producer.sendAll([
      { topic: 'payment-orders', key: String(confirmed), value: upstreamDto(confirmed, 'ACCEPT', 'PAYMENT') },
      { topic: 'stock-orders', key: String(confirmed), value: upstreamDto(confirmed, 'ACCEPT', 'INVENTORY') },
      { topic: 'payment-orders', key: String(rolledBack), value: upstreamDto(rolledBack, 'REJECT', 'PAYMENT') },
      { topic: 'stock-orders', key: String(rolledBack), value: upstreamDto(rolledBack, 'ACCEPT', 'INVENTORY') },
    ]);

    for (const [id, status, source] of [
      [confirmed, 'CONFIRMED', null],
      [rolledBack, 'ROLLBACK', 'PAYMENT'],
    ] as const) {
      const [decision] = await waitFor(`the decision of ${id} on orders`, () => (decisions(id).length > 0 ? decisions(id) : undefined));
      expect(decision).toBe(upstreamDto(id, status, source).toString());
      expect(parseOrderDto(Buffer.from(decision!)).orderId).toBe(id);

      const stored = await waitFor(`${id} ${status} in the store`, async () => {
        const res = await http(service.baseUrl, 'GET', `/api/orders/store/${id}`);
        return res.status === 200 && res.text.includes(`"status":"${status}"`) ? res.text : undefined;
      });
      expect(stored).toBe(upstreamDto(id, status, source).toString());

      // The status projector wrote the decision to the original's row (a bigint parameter).
      const row = await waitFor(`${id} ${status} in Postgres`, async () => {
        const res = await http(service.baseUrl, 'GET', `/api/orders/${id}`);
        return res.status === 200 && res.text.includes(`"status":"${status}"`) ? res.text : undefined;
      });
      expect(row).toMatch(new RegExp(`^\\{"orderId":${id},"customerId":${customer},"status":"${status}",`));
      expect(row).toContain(`"items":[{"itemId":${id + 500n},"productId":"P001"`);
      expect(decisions(id)).toHaveLength(1);
    }
    expect(dlq.byKey(String(confirmed))).toEqual([]);
    expect(dlq.byKey(String(rolledBack))).toEqual([]);
  }, 120_000);

  it('takes a new order for a customer with a TSID and lists it under that exact customer id', async () => {
    const body = JSON.stringify(orderBody()).replace(/"customerId":\d+/, `"customerId":${customer}`);
    const res = await http(service.baseUrl, 'POST', '/api/orders', body);
    expect(res.status).toBe(201);
    expect(res.text).toMatch(new RegExp(`^\\{"orderId":\\d+,"customerId":${customer},`));
    // Our own ids stay 53-bit: exact as JSON numbers in any client.
    const ownId = Number(/^\{"orderId":(\d+)/.exec(res.text)![1]);
    expect(Number.isSafeInteger(ownId)).toBe(true);
    const page = await http(service.baseUrl, 'GET', `/api/orders/customer/${customer}?size=100`);
    expect(page.status).toBe(200);
    expect(page.text).toContain(`{"orderId":${ownId},"customerId":${customer},`);
    // The rounded neighbour id is another customer: none of these orders there.
    const neighbour = await http(service.baseUrl, 'GET', `/api/orders/customer/${customer + 1n}`);
    expect(neighbour.text).not.toContain(`"orderId":${ownId},`);
  }, 60_000);
});
