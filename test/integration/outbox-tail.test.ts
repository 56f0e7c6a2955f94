// OutboxTail.findOutboxIds must see every record of the ranges it is given, up to each
// range's end: an id it misses is an orphan taken for unpublished and sent again (a
// duplicated NEW record, issue 6 item 12). node-rdkafka emits a consume call's
// partition.eof events before it returns the call's messages, so the scan closes a
// range on its EOF only after the batch is read.
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { OUTBOX_ID_HEADER } from '../../src/db/outbox-positions.js';
import { ensureTopics } from '../../src/kafka/admin.js';
import { OutboxTail } from '../../src/kafka/outbox-tail.js';
import { DeliveringProducer } from '../../src/kafka/producer.js';
import { KAFKA_BOOTSTRAP_SERVERS } from '../support/env.js';

const topic = `outbox-tail-${Date.now()}`;
let producer: DeliveringProducer;
let tail: OutboxTail;

beforeAll(async () => {
  producer = await DeliveringProducer.connect({ brokers: KAFKA_BOOTSTRAP_SERVERS, clientId: 'outbox-tail-test', deliveryTimeoutMs: 10_000 });
  await ensureTopics(KAFKA_BOOTSTRAP_SERVERS, producer.client, [{ name: topic, partitions: 2, replicationFactor: 1, coPartitioned: false, config: {} }]);
  tail = new OutboxTail(producer.client, { brokers: KAFKA_BOOTSTRAP_SERVERS, clientId: 'outbox-tail-test' }, pino({ level: 'warn' }));
});

afterAll(async () => {
  await producer?.close();
});

const withId = (id: number, partition: number) => ({ topic, partition, key: `k${id}`, value: Buffer.from(`{"id":${id}}`), headers: [{ [OUTBOX_ID_HEADER]: String(id) }] });

it('finds every outbox id up to the end of each range, the records fetched with the end included', { timeout: 60_000 }, async () => {
  // Two partitions, one batch each: the scan's last fetch of each holds many records and its EOF.
  await producer.deliverAll(Array.from({ length: 300 }, (_, i) => withId(1000 + i, i % 2)));
  // Records without the header (the stream's decisions) are read and skipped.
  await producer.deliverAll(Array.from({ length: 20 }, (_, i) => ({ topic, partition: i % 2, key: `d${i}`, value: Buffer.from('{}') })));
  const marks = await tail.watermarks(topic);
  expect(marks.map((w) => w.high)).toEqual([160, 160]);

  const found = await tail.findOutboxIds(marks.map((w) => ({ topic, partition: w.partition, from: 0, to: w.high })));
  expect(found.size).toBe(300);
  expect([...found.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => 1000 + i));
  expect(found.get(1001)).toBe('k1001');

  // A range ending inside the partition: only the ids below its end.
  const part = await tail.findOutboxIds([{ topic, partition: 0, from: 10, to: 50 }]);
  expect([...part.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => 1000 + 2 * (10 + i)));
});
