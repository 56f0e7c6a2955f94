import { describe, expect, it } from 'vitest';
import { type OrderDto, parseOrderDto, serializeOrderDto } from '../../src/domain/order-dto.js';
import { partitionFor } from '../../src/kafka/partitioner.js';
import { deadLetterPartition } from '../../src/stream/dead-letter.js';
import { JoinProcessor, type JoinOptions, type JoinWrites } from '../../src/stream/join-processor.js';
import { JoinWindow, joinStoreKey, parseJoinStoreKey } from '../../src/stream/join-window.js';
import type { InputRecord, OutputRecord } from '../../src/stream/protocol.js';

const WINDOW_MS = 10_000;
const PARTITION = 3;
const NUM_PARTITIONS = 6;
/** The processor's wall clock: only expiry reads it (an entry stays a window's length of it). */
let wall = 0;
const OPTIONS: JoinOptions = { windowMs: WINDOW_MS, numPartitions: NUM_PARTITIONS, dlqPartitions: NUM_PARTITIONS, paymentTopics: new Set(['payment-orders']), clock: () => wall };
const T0 = 1_700_000_000_000;

/** The store writes of the open transaction, in order, and their net effect. */
class RecordingWrites implements JoinWrites {
  readonly log: [key: string, value: Uint8Array | null][] = [];
  readonly map = new Map<string, Uint8Array | null>();
  set(key: string, value: Uint8Array | null): void {
    this.log.push([key, value]);
    this.map.set(key, value);
  }
}

// P and S differ in every field but the id, so a decision built from the wrong side shows.
function paymentDto(orderId: number, status: string): OrderDto {
  return { orderId, customerId: 900, status, source: 'PAYMENT', items: [{ itemId: 1, productId: 'FROM-P', quantity: 9, productPrice: 99.99 }] };
}

function stockDto(orderId: number, status: string): OrderDto {
  return {
    orderId,
    customerId: 42,
    status,
    source: 'INVENTORY',
    items: [
      { itemId: 11, productId: 'P1', quantity: 2, productPrice: 10.5 },
      { itemId: 12, productId: 'P2', quantity: 1, productPrice: 3 },
    ],
  };
}

/** An input record as the kafka thread hands it over; the value is plain JSON, as another producer would write it. */
function record(topic: 'payment-orders' | 'stock-orders', dto: OrderDto | null, timestamp: number, extra: Partial<InputRecord> = {}): InputRecord {
  return {
    topic,
    offset: 17,
    key: dto === null ? '1' : String(dto.orderId),
    value: dto === null ? null : Buffer.from(JSON.stringify(dto)),
    timestamp,
    ...extra,
  };
}

const P = (orderId: number, status: string, timestamp: number): InputRecord => record('payment-orders', paymentDto(orderId, status), timestamp);
const S = (orderId: number, status: string, timestamp: number): InputRecord => record('stock-orders', stockDto(orderId, status), timestamp);

function setup(): { window: JoinWindow; processor: JoinProcessor; outputs: OutputRecord[]; writes: RecordingWrites } {
  wall = 0;
  const window = new JoinWindow();
  return { window, processor: new JoinProcessor(PARTITION, window, OPTIONS), outputs: [], writes: new RecordingWrites() };
}

const text = (v: Uint8Array | null | undefined): string | undefined => (v == null ? undefined : Buffer.from(v).toString('utf8'));
const headerMap = (o: OutputRecord): Record<string, string> => Object.assign({}, ...(o.headers ?? []));

describe('JoinProcessor: the saga decision of a joined pair', () => {
  // Every field but status and source comes from S (src/domain/saga.ts).
  const decisions = [
    { p: 'ACCEPT', s: 'ACCEPT', status: 'CONFIRMED', source: null },
    { p: 'REJECT', s: 'ACCEPT', status: 'ROLLBACK', source: 'PAYMENT' },
    { p: 'ACCEPT', s: 'REJECT', status: 'ROLLBACK', source: 'INVENTORY' },
    { p: 'REJECT', s: 'REJECT', status: 'REJECTED', source: 'INVENTORY' },
  ];
  const cases = decisions.flatMap((d) => [
    { ...d, first: 'P' as const },
    { ...d, first: 'S' as const },
  ]);

  it.each(cases)('$first first, P=$p S=$s → $status/$source on orders, same key, the key\'s partition', ({ p, s, status, source, first }) => {
    const { processor, outputs, writes } = setup();
    const pay = P(1001, p, T0);
    const stock = S(1001, s, T0 + 1_234);
    const [a, b] = first === 'P' ? [pay, stock] : [stock, pay];

    expect(processor.process(a, outputs, writes)).toBe(true);
    expect(outputs).toEqual([]);
    expect(processor.process(b, outputs, writes)).toBe(true);

    expect(outputs).toHaveLength(1);
    const out = outputs[0]!;
    expect(out.topic).toBe('orders');
    expect(out.partition).toBe(partitionFor('1001', NUM_PARTITIONS));
    expect(out.key).toBe('1001');
    expect(out.headers).toBeUndefined();
    const expected: OrderDto = { ...stockDto(1001, s), status, source };
    expect(text(out.value)).toBe(serializeOrderDto(expected).toString('utf8'));
    expect(parseOrderDto(Buffer.from(out.value!))).toEqual(expected);
  });
});

describe('JoinProcessor: decisions are partitioned by key, as Kafka Streams partitions sink records', () => {
  // Regression: a decision went to the partition its input arrived on. Answers from a
  // producer that partitions otherwise (librdkafka's consistent_random) arrive on
  // another partition than the order's key hashes to, so the decision split the
  // order's key across two partitions of `orders` and the store showed NEW forever.
  it('writes every decision to partitionFor(key), whichever task partition joined it', () => {
    for (let id = 2000; id < 2060; id++) {
      for (const taskPartition of [0, 5]) {
        const processor = new JoinProcessor(taskPartition, new JoinWindow(), OPTIONS);
        const outputs: OutputRecord[] = [];
        const writes = new RecordingWrites();
        processor.process(P(id, 'ACCEPT', T0), outputs, writes);
        processor.process(S(id, 'ACCEPT', T0 + 1), outputs, writes);
        expect(outputs.map((o) => o.partition)).toEqual([partitionFor(String(id), NUM_PARTITIONS)]);
      }
    }
  });

  it('takes answers from any topic named a payment topic as the payment side (a repartition topic)', () => {
    const processor = new JoinProcessor(PARTITION, new JoinWindow(), { ...OPTIONS, paymentTopics: new Set(['payment-orders', 'app-payment-orders-repartition']) });
    const outputs: OutputRecord[] = [];
    const writes = new RecordingWrites();
    processor.process(record('payment-orders', paymentDto(7, 'REJECT'), T0, { topic: 'app-payment-orders-repartition' }), outputs, writes);
    processor.process(S(7, 'ACCEPT', T0 + 1), outputs, writes);
    expect(outputs.map((o) => parseOrderDto(Buffer.from(o.value!)))).toMatchObject([{ status: 'ROLLBACK', source: 'PAYMENT' }]);
  });
});

describe('deadLetterPartition', () => {
  it.each([
    { name: 'keeps the original partition when the DLQ has it', key: '42', partition: 3, dlq: 6, expected: 3 },
    { name: 'keeps it with a larger DLQ', key: '42', partition: 5, dlq: 12, expected: 5 },
    { name: 'goes by key when the DLQ is smaller than the inputs', key: '42', partition: 5, dlq: 2, expected: partitionFor('42', 2) },
    { name: 'wraps a keyless record when the DLQ is smaller', key: null, partition: 5, dlq: 2, expected: 1 },
    { name: 'a one-partition DLQ takes everything on 0', key: 'x', partition: 4, dlq: 1, expected: 0 },
  ])('$name', ({ key, partition, dlq, expected }) => {
    const p = deadLetterPartition(key, partition, dlq);
    expect(p).toBe(expected);
    expect(p).toBeLessThan(dlq);
  });
});

describe('JoinProcessor: the window', () => {
  it.each([
    { name: 'S exactly windowMs after P', p: T0, s: T0 + WINDOW_MS, joins: true },
    { name: 'S windowMs + 1 after P', p: T0, s: T0 + WINDOW_MS + 1, joins: false },
    { name: 'S exactly windowMs before P', p: T0 + WINDOW_MS, s: T0, joins: true },
    { name: 'S windowMs + 1 before P', p: T0 + WINDOW_MS + 1, s: T0, joins: false },
  ])('$name, each processed as it arrives: joins=$joins', ({ p, s, joins }) => {
    const { processor, outputs, writes } = setup();
    // Live: each is processed at its own time, so processing time agrees with record time.
    wall = p - T0;
    processor.process(P(5, 'ACCEPT', p), outputs, writes);
    wall = s - T0;
    processor.process(S(5, 'ACCEPT', s), outputs, writes);
    expect(outputs).toHaveLength(joins ? 1 : 0);
    // Joined or not, both records are stored for their own window.
    expect(writes.map.size).toBe(2);
  });

  // An outage split the answers: one produced just before a broker went away, the other
  // after it came back, further apart than the window; the first one's processing was
  // aborted with the transaction, so both are processed after the outage, together.
  it('joins two answers further apart than the window by their timestamps when both are processed within it', () => {
    const { processor, outputs, writes } = setup();
    wall = 50_000;
    processor.process(S(5, 'ACCEPT', T0), outputs, writes);
    wall = 50_010;
    processor.process(P(5, 'REJECT', T0 + 3 * WINDOW_MS), outputs, writes);
    expect(outputs.map((o) => parseOrderDto(Buffer.from(o.value!)).status)).toEqual(['ROLLBACK']);
  });

  it('does not join them when one was restored from the store (its processing time is not kept) and their timestamps are too far apart', () => {
    const window = new JoinWindow();
    window.add({ orderId: '5', side: 'S', timestamp: T0, offset: 1, value: Buffer.from(JSON.stringify(stockDto(5, 'ACCEPT'))), addedAt: 0 });
    const processor = new JoinProcessor(PARTITION, window, OPTIONS);
    const outputs: OutputRecord[] = [];
    wall = 10;
    processor.process(P(5, 'ACCEPT', T0 + 3 * WINDOW_MS), outputs, new RecordingWrites());
    expect(outputs).toEqual([]);
  });

  it('stores a lone record under joinStoreKey with its bytes and produces nothing', () => {
    const { window, processor, outputs, writes } = setup();
    const pay = P(77, 'ACCEPT', T0);
    expect(processor.process(pay, outputs, writes)).toBe(true);
    expect(outputs).toEqual([]);
    expect(window.size).toBe(1);
    expect(writes.log).toHaveLength(1);
    const [key, value] = writes.log[0]!;
    expect(key).toBe(joinStoreKey({ orderId: '77', side: 'P', timestamp: T0, offset: 17 }));
    expect(key).toBe(`77|P|00${T0}|17`);
    expect(text(value)).toBe(text(pay.value));
  });

  it('stores a stock record on the S side', () => {
    const { processor, outputs, writes } = setup();
    processor.process(S(77, 'ACCEPT', T0), outputs, writes);
    expect([...writes.map.keys()]).toEqual([joinStoreKey({ orderId: '77', side: 'S', timestamp: T0, offset: 17 })]);
  });

  it('does not join two orders', () => {
    const { processor, outputs, writes } = setup();
    processor.process(P(1, 'ACCEPT', T0), outputs, writes);
    processor.process(S(2, 'ACCEPT', T0), outputs, writes);
    processor.process(S(10, 'ACCEPT', T0), outputs, writes);
    expect(outputs).toEqual([]);
  });

  it('does not join two records of the same side', () => {
    const { processor, outputs, writes } = setup();
    processor.process(P(1, 'ACCEPT', T0), outputs, writes);
    processor.process(P(1, 'ACCEPT', T0 + 1), outputs, writes);
    expect(outputs).toEqual([]);
  });

  it('joins every payment of an order with a later stock answer (inner join: two payments, two decisions)', () => {
    // Inner-join semantics as in Kafka Streams' KStream-KStream join: every pair in
    // the window yields a result, so a duplicated answer yields a duplicated decision.
    const { processor, outputs, writes } = setup();
    processor.process(P(9, 'ACCEPT', T0), outputs, writes);
    processor.process(P(9, 'REJECT', T0 + 1), outputs, writes);
    processor.process(S(9, 'ACCEPT', T0 + 2), outputs, writes);
    expect(outputs.map((o) => parseOrderDto(Buffer.from(o.value!))).map((d) => `${d.status}/${d.source}`)).toEqual(['CONFIRMED/null', 'ROLLBACK/PAYMENT']);
    expect(writes.map.size).toBe(3);
  });

  it('reads a value that is a view into a larger buffer (byteOffset honoured)', () => {
    const { processor, outputs, writes } = setup();
    const json = Buffer.from(JSON.stringify(paymentDto(4, 'ACCEPT')));
    const backing = Buffer.alloc(json.length + 20, 0x7b); // '{' around it: garbage if read from 0
    json.copy(backing, 10);
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 10, json.length);
    expect(processor.process({ topic: 'payment-orders', offset: 1, key: '4', value: view, timestamp: T0 }, outputs, writes)).toBe(true);
    expect(processor.process(S(4, 'ACCEPT', T0 + 1), outputs, writes)).toBe(true);
    expect(outputs.map((o) => o.topic)).toEqual(['orders']);
    expect(text(writes.map.get(joinStoreKey({ orderId: '4', side: 'P', timestamp: T0, offset: 1 })))).toBe(json.toString());
  });

  it('expire() deletes each entry the other side has passed by a window from the store with a tombstone', () => {
    const { window, processor, outputs, writes } = setup();
    processor.process(P(1, 'ACCEPT', T0), outputs, writes);
    processor.process(S(2, 'ACCEPT', T0 + 5), outputs, writes);
    processor.process(P(3, 'ACCEPT', T0 + 10), outputs, writes);
    wall = WINDOW_MS + 1; // every entry has been in the window a window's length of wall clock

    // The stock side is at T0 + 5: nothing of the payment side is a window behind it.
    processor.process(S(4, 'ACCEPT', T0 + WINDOW_MS), outputs, writes);
    writes.log.length = 0;
    expect(processor.expire(writes)).toBe(0);
    expect(writes.log).toEqual([]);

    // P1 (T0) is now a window behind the stock side; S2 (T0 + 5) a window behind P5.
    processor.process(S(6, 'ACCEPT', T0 + WINDOW_MS + 1), outputs, writes);
    processor.process(P(5, 'ACCEPT', T0 + WINDOW_MS + 6), outputs, writes);
    writes.log.length = 0;
    expect(processor.expire(writes)).toBe(2);
    expect(writes.log).toEqual([
      [joinStoreKey({ orderId: '1', side: 'P', timestamp: T0, offset: 17 }), null],
      [joinStoreKey({ orderId: '2', side: 'S', timestamp: T0 + 5, offset: 17 }), null],
    ]);
    expect(window.size).toBe(4);

    expect(processor.expire(writes)).toBe(0);
    expect(writes.log).toHaveLength(2);
  });

  it('an expired record joins nothing any more', () => {
    const { processor, outputs, writes } = setup();
    processor.process(P(1, 'ACCEPT', T0), outputs, writes);
    processor.process(S(2, 'ACCEPT', T0 + WINDOW_MS + 1), outputs, writes);
    wall = WINDOW_MS + 1;
    expect(processor.expire(writes)).toBe(1);
    // Inside the window of the payment's timestamp, but the entry is gone.
    processor.process(S(1, 'ACCEPT', T0), outputs, writes);
    expect(outputs).toEqual([]);
  });

  // Regression: after a restart the inputs' backlogs are fetched unevenly; stream time
  // raced ahead on newer records of one topic and expired payment answers whose stock
  // answers, older, came in the next batch: 286 orders of one kill -9 trial were
  // never decided.
  it('keeps an entry while the other side has not passed it, however far its own side has gone, so a partner from the backlog still joins', () => {
    const { processor, outputs, writes } = setup();
    processor.process(P(1, 'ACCEPT', T0), outputs, writes);
    processor.process(P(2, 'ACCEPT', T0 + 30_000), outputs, writes); // a newer record of the same input
    wall = 10 * WINDOW_MS;
    expect(processor.expire(writes)).toBe(0);
    processor.process(S(1, 'ACCEPT', T0 + 5), outputs, writes); // the backlog of the other input
    expect(outputs.map((o) => parseOrderDto(Buffer.from(o.value!)).orderId)).toEqual([1]);
  });

  // Regression: a stall of one input longer than the wall-clock lease (a partition
  // without a leader while a broker is away) expired entries the stalled input's
  // records would have joined.
  it('keeps entries while the other input stands still (a broker outage), however long the wall clock runs, up to maxWaitMs', () => {
    const { processor, outputs, writes } = setup();
    processor.process(P(1, 'ACCEPT', T0), outputs, writes);
    processor.process(S(9, 'ACCEPT', T0), outputs, writes);
    processor.process(P(2, 'ACCEPT', T0 + 60_000), outputs, writes);
    wall = 10 * WINDOW_MS;
    expect(processor.expire(writes)).toBe(0); // S9 is due, but waits behind P1 (arrival order)
    processor.process(S(1, 'REJECT', T0 + 2), outputs, writes);
    expect(outputs).toHaveLength(1);

    const bounded = new JoinProcessor(PARTITION, new JoinWindow(), { ...OPTIONS, maxWaitMs: 6 * WINDOW_MS });
    wall = 0;
    bounded.process(P(1, 'ACCEPT', T0), outputs, writes);
    wall = 6 * WINDOW_MS;
    expect(bounded.expire(writes)).toBe(0);
    wall = 6 * WINDOW_MS + 1;
    expect(bounded.expire(writes)).toBe(1);
  });
});

/**
 * The window a reopened task builds from the join store (Task.markRestored): every
 * stored key parsed back, in key order. join-window.ts promises the live window
 * mirrors the store, so this window must join exactly as the live one does.
 */
function rebuiltFrom(writes: RecordingWrites): JoinWindow {
  const w = new JoinWindow();
  for (const [key, value] of [...writes.map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const k = parseJoinStoreKey(key);
    if (k !== undefined && value !== null) w.add({ ...k, value });
  }
  return w;
}

/** The decisions a stock answer yields against the live window and against the store rebuilt from its writes. */
function liveAndRestored(inputs: readonly InputRecord[], stock: InputRecord): { live: string[]; restored: string[] } {
  const { processor, outputs, writes } = setup();
  for (const r of inputs) processor.process(r, outputs, writes);
  const reopened = new JoinProcessor(PARTITION, rebuiltFrom(writes), OPTIONS);
  const decisions = (p: JoinProcessor): string[] => {
    const out: OutputRecord[] = [];
    p.process(stock, out, new RecordingWrites());
    return out.map((o) => text(o.value)!);
  };
  return { live: decisions(processor), restored: decisions(reopened) };
}

describe('JoinProcessor: the store mirrors the window', () => {
  it('a task reopened from the store writes joins as the live one does', () => {
    const { live, restored } = liveAndRestored([P(9, 'ACCEPT', T0), P(9, 'REJECT', T0 + 1), S(8, 'ACCEPT', T0 + 2), P(8, 'REJECT', T0 + 3)], S(9, 'ACCEPT', T0 + 4));
    expect(live).toHaveLength(2);
    expect(restored).toEqual(live);
  });

  // Regression: the kafka thread stamps every record of a poll batch with the same
  // wall-clock time, so two answers of one side for one order in one batch got the
  // same store key (order|side|time). The live window held both; the store kept only
  // the last, so after a reopen a later stock answer yielded one decision where the
  // live task yielded two. The key now ends with the record's offset.
  it('keeps both of two same-side answers stamped with the same time (one poll batch)', () => {
    const p1 = record('payment-orders', paymentDto(9, 'ACCEPT'), T0, { offset: 1 });
    const p2 = record('payment-orders', paymentDto(9, 'REJECT'), T0, { offset: 2 });
    const { live, restored } = liveAndRestored([p1, p2], S(9, 'ACCEPT', T0 + 1));
    expect(live).toHaveLength(2);
    expect(restored).toEqual(live);
  });
});

describe('JoinProcessor: records that are not OrderDtos go to the DLQ', () => {
  const bad: { name: string; topic: 'payment-orders' | 'stock-orders'; key: string | null; value: Uint8Array | null }[] = [];
  for (const topic of ['payment-orders', 'stock-orders'] as const) {
    bad.push(
      { name: 'garbage bytes', topic, key: '5', value: Buffer.from([0xff, 0x00, 0x7b, 0x22]) },
      { name: 'JSON that is not an OrderDto', topic, key: '5', value: Buffer.from('{"orderId":5}') },
      { name: 'a null value', topic, key: '5', value: null },
      { name: 'a null key', topic, key: null, value: Buffer.from(JSON.stringify(paymentDto(5, 'ACCEPT'))) },
      { name: 'a key that is not the orderId', topic, key: '6', value: Buffer.from(JSON.stringify(paymentDto(5, 'ACCEPT'))) },
      { name: 'a zero-padded key', topic, key: '05', value: Buffer.from(JSON.stringify(paymentDto(5, 'ACCEPT'))) },
    );
  }

  it.each(bad)('$topic, $name: one DLQ record with the original key, bytes and reason; process() is false', ({ topic, key, value }) => {
    const { window, processor, outputs, writes } = setup();
    // A valid entry of each order involved already waits in the window.
    const waiting = topic === 'payment-orders' ? [S(5, 'ACCEPT', T0), S(6, 'ACCEPT', T0)] : [P(5, 'ACCEPT', T0), P(6, 'ACCEPT', T0)];
    for (const r of waiting) processor.process(r, outputs, writes);
    writes.log.length = 0;

    const input: InputRecord = { topic, offset: 4242, key, value, timestamp: T0 + 1 };
    expect(processor.process(input, outputs, writes)).toBe(false);

    expect(outputs).toHaveLength(1);
    const dlq = outputs[0]!;
    expect(dlq.topic).toBe('recovererDLQ');
    expect(dlq.partition).toBe(PARTITION);
    // The DLQ record's key is a string: a missing key travels as ''.
    expect(dlq.key).toBe(key ?? '');
    expect(dlq.value).toBe(value);
    const headers = headerMap(dlq);
    expect(headers['kafka_dlt-exception-message']).toEqual(expect.any(String));
    expect(headers['kafka_dlt-exception-message']!.length).toBeGreaterThan(0);
    expect(headers['kafka_dlt-original-topic']).toBe(topic);
    expect(headers['kafka_dlt-original-offset']).toBe('4242');
    expect(headers['kafka_dlt-original-partition']).toBe(String(PARTITION));

    // The window and the store are untouched: the bad record joins nothing, now or later.
    expect(window.size).toBe(2);
    expect(writes.log).toEqual([]);
    const other = topic === 'payment-orders' ? 'stock-orders' : 'payment-orders';
    for (const id of [5, 6]) {
      const follow = record(other, (other === 'payment-orders' ? paymentDto : stockDto)(id, 'ACCEPT'), T0 + 2);
      const before = outputs.length;
      processor.process(follow, outputs, writes);
      // The records waiting are on the follower's own side: an output could only
      // come from the DLQ'd record.
      expect(outputs.length - before).toBe(0);
    }
  });

  it('names the reason in the exception message', () => {
    const { processor, outputs, writes } = setup();
    processor.process({ topic: 'payment-orders', offset: 1, key: '6', value: Buffer.from(JSON.stringify(paymentDto(5, 'ACCEPT'))), timestamp: T0 }, outputs, writes);
    expect(headerMap(outputs[0]!)['kafka_dlt-exception-message']).toMatch(/6.*5/);
  });

  it('goes on joining after a DLQ record', () => {
    const { processor, outputs, writes } = setup();
    processor.process(P(8, 'ACCEPT', T0), outputs, writes);
    processor.process({ topic: 'stock-orders', offset: 2, key: '8', value: Buffer.from('not json'), timestamp: T0 + 1 }, outputs, writes);
    expect(processor.process(S(8, 'ACCEPT', T0 + 2), outputs, writes)).toBe(true);
    expect(outputs.map((o) => o.topic)).toEqual(['recovererDLQ', 'orders']);
  });
});
