// pollBatch returns what librdkafka has fetched instead of waiting for a full batch.
// Regression: node-rdkafka's consume(n) waits up to its timeout for *each* record and
// returns only with n records or after a quiet gap as long as that timeout (its issue
// #716). Under a steady stream the stream loop's poll of 1000 took ~0.5 s at 500
// orders/s, which delayed every commit and every saga decision behind it.
import Kafka from 'node-rdkafka';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureTopics } from '../../src/kafka/admin.js';
import { pollBatch } from '../../src/kafka/poll.js';
import { DeliveringProducer } from '../../src/kafka/producer.js';
import { KAFKA_BOOTSTRAP_SERVERS } from '../support/env.js';

const topic = `poll-batch-${Date.now()}`;
let producer: DeliveringProducer;
let consumer: Kafka.KafkaConsumer;

beforeAll(async () => {
  producer = await DeliveringProducer.connect({ brokers: KAFKA_BOOTSTRAP_SERVERS, clientId: 'poll-batch-test', deliveryTimeoutMs: 10_000 });
  await ensureTopics(KAFKA_BOOTSTRAP_SERVERS, producer.client, [{ name: topic, partitions: 1, replicationFactor: 1, coPartitioned: false, config: {} }]);
  consumer = new Kafka.KafkaConsumer({ 'metadata.broker.list': KAFKA_BOOTSTRAP_SERVERS, 'group.id': topic, 'enable.auto.commit': false }, {});
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
  consumer.assign([{ topic, partition: 0, offset: 0 }]);
});

afterAll(async () => {
  await new Promise<void>((resolve) => consumer?.disconnect(() => resolve()));
  await producer?.close();
});

const record = (i: number): { topic: string; partition: number; key: string; value: Buffer } => ({ topic, partition: 0, key: String(i), value: Buffer.from(`r${i}`) });

it('returns the records at hand while a steady stream is still flowing, not after a full batch', { timeout: 30_000 }, async () => {
  // A stream of one record every 10 ms for 3 s: its gaps are always shorter than the
  // 50 ms wait, so a poll that waits per record would return only once it ends.
  const total = 300;
  let sent = 0;
  const stream = (async () => {
    for (; sent < total; sent++) {
      await producer.sendAll([record(sent)]);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const polled: number[] = [];
  let sentWhenFirstReturned = -1;
  while (polled.length < total) {
    const batch = await pollBatch(consumer, 1000, 50);
    if (batch.length > 0 && sentWhenFirstReturned < 0) sentWhenFirstReturned = sent;
    polled.push(...batch.map((m) => Number(m.key!.toString())));
  }
  await stream;
  // The first records came back while most of the stream was still to be sent (the
  // count may be 0: a record can arrive before its producer has seen the ack).
  expect(sentWhenFirstReturned).toBeGreaterThanOrEqual(0);
  expect(sentWhenFirstReturned).toBeLessThan(total / 2);
  // Nothing lost or reordered by the two-step poll.
  expect(polled).toEqual(Array.from({ length: total }, (_, i) => i));
});

it('waits at most about waitMs when there is nothing to read', async () => {
  const started = Date.now();
  expect(await pollBatch(consumer, 1000, 200)).toEqual([]);
  // Only that it returns at all on an idle topic, within a generous bound.
  expect(Date.now() - started).toBeLessThan(5_000);
});
