// The payment and inventory simulators against the real broker: each NEW order on
// `orders` is answered once per side, on payment-orders and stock-orders, with the
// order's key on the order's partition number; the reject share is configurable;
// a duplicate NEW is answered once; a poison record is skipped, not a crash loop;
// offsets are committed only for answered records, so a restart answers nothing twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOrderDto, serializeOrderDto, type OrderDto } from '../../src/domain/order-dto.js';
import { partitionFor } from '../../src/kafka/partitioner.js';
import { DeliveringProducer, type OutgoingRecord } from '../../src/kafka/producer.js';
import { KAFKA_BOOTSTRAP_SERVERS, NUM_PARTITIONS } from '../support/env.js';
import { waitFor } from '../support/wait.js';
import { startSimulators, type Simulators } from '../support/simulators.js';
import { TopicReader, type ReadRecord } from '../support/topic-reader.js';

let producer: DeliveringProducer;
let orders: TopicReader;
let payments: TopicReader;
let stocks: TopicReader;

// Unique across runs and within safe integers: microseconds since the epoch.
let nextId = Date.now() * 1000;

function newOrder(): OrderDto {
  const orderId = nextId++;
  return {
    orderId,
    customerId: 1 + (orderId % 100),
    status: 'NEW',
    source: null,
    items: [
      { itemId: 1, productId: 'P001', quantity: 2, productPrice: 10.5 },
      { itemId: 2, productId: 'P002', quantity: 1, productPrice: 3 },
    ],
  };
}

/** A new order whose key lands on the given partition (to follow another record there). */
function newOrderOn(partition: number): OrderDto {
  for (;;) {
    const order = newOrder();
    if (partitionFor(String(order.orderId), NUM_PARTITIONS) === partition) return order;
  }
}

const record = (order: OrderDto): OutgoingRecord => ({ topic: 'orders', key: String(order.orderId), value: serializeOrderDto(order) });

const answersTo = (reader: TopicReader, order: OrderDto): ReadRecord[] => reader.byKey(String(order.orderId));

async function bothAnswers(list: readonly OrderDto[]): Promise<void> {
  await waitFor(`answers from both sides to ${list.length} orders`, () =>
    list.every((o) => answersTo(payments, o).length > 0 && answersTo(stocks, o).length > 0) ? true : undefined,
  );
}

beforeAll(async () => {
  producer = await DeliveringProducer.connect({ brokers: KAFKA_BOOTSTRAP_SERVERS, clientId: 'simulators-test', deliveryTimeoutMs: 10_000 });
});

afterAll(async () => {
  await producer?.close();
});

async function openReaders(): Promise<void> {
  [orders, payments, stocks] = await Promise.all([TopicReader.fromEnd('orders'), TopicReader.fromEnd('payment-orders'), TopicReader.fromEnd('stock-orders')]);
}

async function closeReaders(): Promise<void> {
  await Promise.all([orders, payments, stocks].map((r) => r?.close()));
}

describe('with reject rates 0', () => {
  let sims: Simulators;

  beforeAll(async () => {
    // The simulators create the saga topics if this broker has never seen them.
    sims = await startSimulators({ SIM_PAYMENT_REJECT_RATE: '0', SIM_INVENTORY_REJECT_RATE: '0' });
    await openReaders();
  });

  afterAll(async () => {
    await closeReaders();
    await sims?.kill('SIGKILL');
  });

  it('answers every NEW order with exactly one ACCEPT per side, same key, on the order partition number', async () => {
    const list = Array.from({ length: 60 }, newOrder);
    await producer.sendAll(list.map(record));
    await bothAnswers(list);
    await waitFor('the orders themselves', () => (list.every((o) => orders.byKey(String(o.orderId)).length === 1) ? true : undefined));
    for (const order of list) {
      const key = String(order.orderId);
      const [placed] = orders.byKey(key);
      const [payment, ...morePayments] = answersTo(payments, order);
      const [stock, ...moreStocks] = answersTo(stocks, order);
      expect(morePayments).toEqual([]);
      expect(moreStocks).toEqual([]);
      expect(parseOrderDto(payment!.value)).toEqual({ ...order, status: 'ACCEPT', source: 'PAYMENT' });
      expect(parseOrderDto(stock!.value)).toEqual({ ...order, status: 'ACCEPT', source: 'INVENTORY' });
      expect(payment!.value.toString()).toContain('"productPrice":10.50');
      expect(payment!.partition).toBe(placed!.partition);
      expect(stock!.partition).toBe(placed!.partition);
      expect(placed!.partition).toBe(partitionFor(key, NUM_PARTITIONS));
    }
    // Every partition took part, so this is not one partition's luck.
    expect(new Set(list.map((o) => orders.byKey(String(o.orderId))[0]!.partition)).size).toBe(NUM_PARTITIONS);
  });

  it('answers the same NEW order sent twice once per side', async () => {
    const order = newOrder();
    await producer.sendAll([record(order)]);
    await producer.sendAll([record(order)]);
    // A later order on the same partition: once it is answered, the duplicate before
    // it has been consumed too, so any second answer would already be visible.
    const follower = newOrderOn(partitionFor(String(order.orderId), NUM_PARTITIONS));
    await producer.sendAll([record(follower)]);
    await bothAnswers([order, follower]);
    // Plus a short bounded window for good measure.
    await new Promise((r) => setTimeout(r, 500));
    expect(answersTo(payments, order)).toHaveLength(1);
    expect(answersTo(stocks, order)).toHaveLength(1);
    await waitFor('the duplicate counted', () => (/"duplicates":[1-9]/.test(sims.output()) ? true : undefined), 5000);
  });

  it('skips a garbage record on orders and answers the next good order', async () => {
    const good = newOrder();
    const key = String(good.orderId); // the same key puts the garbage right before it
    await producer.sendAll([
      { topic: 'orders', key, value: Buffer.from('not json {') },
      { topic: 'orders', key, value: Buffer.from('{"orderId":"x"}') },
      { topic: 'orders', key, value: Buffer.alloc(0) },
      record(good),
    ]);
    await bothAnswers([good]);
    expect(answersTo(payments, good)).toHaveLength(1);
    expect(sims.output()).toContain('skipped a record that is not an OrderDto');
    expect(sims.process.exitCode).toBeNull();
    const after = newOrder();
    await producer.sendAll([record(after)]);
    await bothAnswers([after]);
  });
});

describe('with SIM_PAYMENT_REJECT_RATE=1', () => {
  let sims: Simulators;

  beforeAll(async () => {
    sims = await startSimulators({ SIM_PAYMENT_REJECT_RATE: '1', SIM_INVENTORY_REJECT_RATE: '0' });
    await openReaders();
  });

  afterAll(async () => {
    await closeReaders();
    await sims?.kill('SIGKILL');
  });

  const answered: OrderDto[] = [];

  it('answers every payment REJECT while inventory still ACCEPTs', async () => {
    const list = Array.from({ length: 30 }, newOrder);
    await producer.sendAll(list.map(record));
    await bothAnswers(list);
    for (const order of list) {
      expect(answersTo(payments, order).map((r) => parseOrderDto(r.value))).toEqual([{ ...order, status: 'REJECT', source: 'PAYMENT' }]);
      expect(answersTo(stocks, order).map((r) => parseOrderDto(r.value))).toEqual([{ ...order, status: 'ACCEPT', source: 'INVENTORY' }]);
    }
    answered.push(...list);
  });

  it('stops cleanly on SIGTERM, and a restart resumes after the committed offsets without answering again', async () => {
    expect(await sims.kill('SIGTERM')).toBe(0);
    expect(sims.output()).toContain('"msg":"summary"');

    const restarted = await startSimulators({ SIM_APPLICATION_ID: sims.applicationId, SIM_PAYMENT_REJECT_RATE: '1', SIM_INVENTORY_REJECT_RATE: '0' });
    try {
      // One follower per partition: when all are answered, every partition has been
      // read past the earlier orders, so any re-answer would be visible by now.
      const followers = Array.from({ length: NUM_PARTITIONS }, (_, p) => newOrderOn(p));
      await producer.sendAll(followers.map(record));
      await bothAnswers(followers);
      for (const order of answered) {
        expect(answersTo(payments, order)).toHaveLength(1);
        expect(answersTo(stocks, order)).toHaveLength(1);
      }
    } finally {
      await restarted.kill('SIGTERM');
    }
  });
});
