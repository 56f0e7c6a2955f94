// The status projector on the real broker and Postgres: a decision Postgres refuses
// does not stall the ones behind it, and the loop goes on through rebalances.
import Kafka from 'node-rdkafka';
import { pino } from 'pino';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { createPool } from '../../src/db/pool.js';
import { StatusProjector } from '../../src/db/status-projector.js';
import { serializeOrderDto } from '../../src/domain/order-dto.js';
import { DeliveringProducer } from '../../src/kafka/producer.js';
import { KAFKA_BOOTSTRAP_SERVERS, NUM_PARTITIONS, TEST_DATABASE_URL } from '../support/env.js';
import { waitFor } from '../support/wait.js';

const log = pino({ level: 'silent' });
let pool: pg.Pool;
let producer: DeliveringProducer;
const projectors: StatusProjector[] = [];
// Unique ids per run, within 53 bits.
let nextId = Date.now() * 1000;

beforeAll(async () => {
  pool = createPool({ connectionString: TEST_DATABASE_URL, max: 4, applicationName: 'status-projector-test' });
  await migrate(pool);
  producer = await DeliveringProducer.connect({ brokers: KAFKA_BOOTSTRAP_SERVERS, clientId: 'status-projector-test', deliveryTimeoutMs: 10_000 });
});

afterEach(async () => {
  await Promise.all(projectors.splice(0).map((p) => p.close()));
});

afterAll(async () => {
  await producer?.close();
  await pool?.end();
});

async function projector(groupId: string): Promise<StatusProjector> {
  const p = await StatusProjector.start(KAFKA_BOOTSTRAP_SERVERS, groupId, pool, log);
  projectors.push(p);
  return p;
}

/** Orders stored as NEW, as the order service stores them. */
async function newOrders(n: number): Promise<number[]> {
  const ids = Array.from({ length: n }, () => nextId++);
  await pool.query(
    `insert into orders (id, customer_id, status, delivery_address_line1, delivery_address_city, delivery_address_state,
                         delivery_address_zip_code, delivery_address_country)
     select id, 1, 'NEW', '1 Main Street', 'Springfield', 'IL', '62701', 'US' from unnest($1::bigint[]) as id`,
    [ids],
  );
  return ids;
}

async function decide(decisions: readonly { orderId: number; status: string; source?: string | null }[]): Promise<void> {
  await producer.sendAll(
    decisions.map(({ orderId, status, source = null }) => ({
      topic: 'orders',
      key: String(orderId),
      value: serializeOrderDto({ orderId, customerId: 1, status, source, items: [{ itemId: 1, productId: 'P001', quantity: 1, productPrice: 10.5 }] }),
    })),
  );
}

async function statusOf(ids: readonly number[]): Promise<Map<number, { status: string; source: string | null }>> {
  const { rows } = await pool.query<{ id: number; status: string; source: string | null }>('select id, status, source from orders where id = any($1::bigint[])', [ids]);
  return new Map(rows.map((r) => [r.id, { status: r.status, source: r.source }]));
}

const allConfirmed = async (ids: readonly number[]): Promise<true | undefined> => {
  const now = await statusOf(ids);
  return ids.every((id) => now.get(id)?.status === 'CONFIRMED') ? true : undefined;
};

// Regression: any failed update was retried forever, so one decision Postgres refuses
// for its content (here a NUL in the source, which a participant's answer can carry
// into a REJECTED decision) stalled every decision behind it, for good.
it('passes over a decision Postgres refuses and projects the ones around and after it', async () => {
  const group = `projector-poison-${Date.now()}`;
  const first = await projector(group);
  const [before, poisoned, after, later] = (await newOrders(4)) as [number, number, number, number];
  await decide([
    { orderId: before, status: 'CONFIRMED' },
    { orderId: poisoned, status: 'REJECTED', source: 'INV\u0000ENTORY' },
    { orderId: after, status: 'ROLLBACK', source: 'PAYMENT' },
  ]);
  await waitFor('the decisions around the refused one', async () => {
    const now = await statusOf([before, after]);
    return now.get(before)?.status === 'CONFIRMED' && now.get(after)?.status === 'ROLLBACK' ? true : undefined;
  });
  await decide([{ orderId: later, status: 'CONFIRMED' }]);
  await waitFor('a decision made after the refused one', () => allConfirmed([later]));
  expect((await statusOf([poisoned])).get(poisoned)).toEqual({ status: 'NEW', source: null });
  expect(first.stats.refused).toBe(1);

  // Its offset was committed with the rest: a new instance of the group does not meet it again.
  await first.close();
  projectors.splice(projectors.indexOf(first), 1);
  const second = await projector(group);
  const [next] = (await newOrders(1)) as [number];
  await decide([{ orderId: next, status: 'CONFIRMED' }]);
  await waitFor('a decision read by the next instance', () => allConfirmed([next]));
  expect(second.stats.refused).toBe(0);
});

it('projects every decision while a second instance joins the group and the first one leaves', async () => {
  const group = `projector-rebalance-${Date.now()}`;
  const a = await projector(group);
  const round1 = await newOrders(30);
  await decide(round1.map((orderId) => ({ orderId, status: 'CONFIRMED' })));
  await waitFor('round 1 with one instance', () => allConfirmed(round1));
  expect(a.assignment).toHaveLength(NUM_PARTITIONS);

  const b = await projector(group);
  const round2 = await newOrders(60);
  // Decisions arrive while the group rebalances: none may be skipped.
  await decide(round2.map((orderId) => ({ orderId, status: 'CONFIRMED' })));
  await waitFor('the partitions shared by two instances', () => (a.assignment.length > 0 && b.assignment.length > 0 && a.assignment.length + b.assignment.length === NUM_PARTITIONS ? true : undefined));
  const round3 = await newOrders(60);
  await decide(round3.map((orderId) => ({ orderId, status: 'CONFIRMED' })));
  await waitFor('rounds 2 and 3 with two instances', () => allConfirmed([...round2, ...round3]));
  expect(b.stats.batches).toBeGreaterThan(0);

  await a.close();
  projectors.splice(projectors.indexOf(a), 1);
  await waitFor('every partition with the remaining instance', () => (b.assignment.length === NUM_PARTITIONS ? true : undefined));
  const round4 = await newOrders(60);
  await decide(round4.map((orderId) => ({ orderId, status: 'CONFIRMED' })));
  await waitFor('round 4 after the first instance left', () => allConfirmed(round4));
});

// The projector's consumer keeps only records that name a final status; the offsets it
// commits must still pass every record it polled, or a restart (and every rebalance)
// would read the NEW records again, and a group lag metric would never reach zero.
it('commits past the records it passes over, as well as past its decisions', async () => {
  const group = `projector-pass-over-${Date.now()}`;
  await projector(group);
  const ids = await newOrders(24);
  const delivered = await producer.deliverAll(
    ids.map((orderId) => ({ topic: 'orders', key: String(orderId), value: serializeOrderDto({ orderId, customerId: 1, status: 'NEW', source: null, items: [{ itemId: 1, productId: 'P001', quantity: 1, productPrice: 10.5 }] }) })),
  );
  const ends = new Map<number, number>();
  for (const d of delivered) ends.set(d.partition, Math.max(ends.get(d.partition) ?? 0, d.offset + 1));
  const reader = new Kafka.KafkaConsumer({ 'metadata.broker.list': KAFKA_BOOTSTRAP_SERVERS, 'group.id': group }, {});
  await new Promise<void>((resolve, reject) => reader.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
  try {
    const committed = (): Promise<Kafka.TopicPartitionOffset[]> =>
      new Promise((resolve, reject) => reader.committed([...ends.keys()].map((partition) => ({ topic: 'orders', partition })), 5000, (err, tps) => (err ? reject(err) : resolve(tps))));
    await waitFor('the group\'s offsets past the NEW records', async () => {
      const now = await committed();
      return now.every((tp) => tp.offset >= (ends.get(tp.partition) ?? 0)) ? true : undefined;
    });
  } finally {
    await new Promise<void>((resolve) => reader.disconnect(() => resolve()));
  }
  // Nothing of them reached Postgres: they were NEW already.
  expect([...(await statusOf(ids)).values()].every((r) => r.status === 'NEW')).toBe(true);
});
