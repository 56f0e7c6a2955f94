// A topic ensureTopics has just created must be usable at once: its partitions answer
// with a leader. The outbox relay's first pass on a fresh broker asked a new topic's
// watermarks right after it was created and got "Not leader for partition". Waiting
// for leaders in the metadata alone passed on an idle machine and failed 5 of 5 runs
// with both cores busy (and once in the whole suite): the broker names the leader
// before it hosts the partition.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureTopics } from '../../src/kafka/admin.js';
import { DeliveringProducer } from '../../src/kafka/producer.js';
import { queryWatermarks } from '../../src/kafka/watermarks.js';
import { KAFKA_BOOTSTRAP_SERVERS } from '../support/env.js';

let producer: DeliveringProducer;

beforeAll(async () => {
  producer = await DeliveringProducer.connect({ brokers: KAFKA_BOOTSTRAP_SERVERS, clientId: 'ensure-topics-test', deliveryTimeoutMs: 10_000 });
});

afterAll(async () => {
  await producer?.close();
});

it('returns only once every partition of the topics it created has a leader', { timeout: 120_000 }, async () => {
  for (let round = 0; round < 5; round++) {
    const names = [0, 1, 2].map((i) => `ensure-topics-${Date.now()}-${round}-${i}`);
    const { created } = await ensureTopics(
      KAFKA_BOOTSTRAP_SERVERS,
      producer.client,
      names.map((name) => ({ name, partitions: 12, replicationFactor: 1, coPartitioned: false, config: {} })),
    );
    expect(created).toEqual(names);
    // No retry: each partition answers the first time.
    for (const name of names) {
      const marks = await Promise.all(Array.from({ length: 12 }, (_, p) => queryWatermarks(producer.client, name, p, 5000)));
      expect(marks.map((m) => m.highOffset)).toEqual(Array.from({ length: 12 }, () => 0));
    }
  }
});
