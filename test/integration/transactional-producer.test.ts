// The stream engine's transactional producer against the real broker: an aborted
// transaction leaves nothing behind that fails the next one, and nothing of it is
// visible to read_committed readers.
import Kafka from 'node-rdkafka';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransactionalProducer } from '../../src/kafka/transactional-producer.js';
import { KAFKA_BOOTSTRAP_SERVERS } from '../support/env.js';
import { TopicReader } from '../support/topic-reader.js';
import { waitFor } from '../support/wait.js';

const TOPIC = 'orders';
let producer: TransactionalProducer;
let consumer: Kafka.KafkaConsumer;
let reader: TopicReader;

beforeAll(async () => {
  producer = await TransactionalProducer.connect({
    brokers: KAFKA_BOOTSTRAP_SERVERS,
    transactionalId: `txn-test-${process.pid}-${Date.now()}`,
    exactlyOnce: true,
    transactionTimeoutMs: 10_000,
    log: pino({ level: 'silent' }),
  });
  // sendOffsetsToTransaction needs a group member's metadata.
  consumer = new Kafka.KafkaConsumer({ 'metadata.broker.list': KAFKA_BOOTSTRAP_SERVERS, 'group.id': `txn-test-${Date.now()}`, 'enable.auto.commit': false }, {});
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
  reader = await TopicReader.fromEnd(TOPIC);
});

afterAll(async () => {
  await reader?.close();
  await producer?.close();
  await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
});

const record = (key: string, i: number): { topic: string; partition: number; key: string; value: Uint8Array } => ({
  topic: TOPIC,
  partition: i % 6,
  key,
  value: Buffer.from(JSON.stringify({ test: key, i })),
});

describe('TransactionalProducer', () => {
  // Regression: abort() cleared the latched send error *before* abortTransaction, whose
  // purge then reported every queued record as failed (ERR__PURGE_QUEUE); the first of
  // those reports was latched and failed the next, healthy transaction.
  it('commits the transaction after an abort that purged queued records', async () => {
    const aborted = `aborted-${Date.now()}`;
    await producer.begin();
    // Enough records that many are still queued (linger) when the abort purges them.
    await producer.send(Array.from({ length: 5000 }, (_, i) => record(aborted, i)));
    await producer.abort();

    // librdkafka 2.12 may fail the next transaction once by itself: when the abort
    // purged a partially sent ProduceRequest, the broker never saw those sequence
    // numbers, the next record is OUT_OF_ORDER_SEQUENCE, and librdkafka makes the
    // transaction abortable, purges it, and bumps the epoch. The failure shows either as
    // a delivery report of the new transaction's records or, when the commit's flush
    // sees the abortable state first, as commitTransaction's own abortable error
    // ("skipped sequence numbers"). It must never be a stale report of the aborted
    // transaction (the bug this guards against), and the transaction after it must commit.
    let committed = '';
    for (let attempt = 0; ; attempt++) {
      committed = `committed-${Date.now()}-${attempt}`;
      await producer.begin();
      await producer.send([record(committed, 0), record(committed, 1)]);
      try {
        await producer.commit([], consumer);
        break;
      } catch (err) {
        const message = (err as Error).message;
        expect(message).not.toContain(aborted);
        expect(message.includes(`key ${committed}`) || message.startsWith('commitTransaction failed (abort): ')).toBe(true);
        expect(attempt).toBe(0);
        await producer.abort();
      }
    }
    expect(producer.state).toBe('READY');

    await waitFor('the committed records', () => (reader.byKey(committed).length === 2 ? true : undefined));
    // Nothing of the aborted transaction is visible read_committed.
    expect(reader.byKey(aborted)).toEqual([]);
  });

  it('aborts a transaction with nothing in it, and commits an empty one', async () => {
    await producer.begin();
    await producer.abort();
    await producer.begin();
    await producer.commit([], consumer);
    expect(producer.state).toBe('READY');
  });
  // The commit cycle sends the consumed offsets beside the cycle's records (sendOffsets
  // before the sends, commit with offsetsSent): they must still land with the
  // transaction, and only with it.
  it('commits offsets sent beside the records with them, and drops them with an abort', async () => {
    const committedOffset = (partition: number): Promise<number | undefined> =>
      new Promise((resolve, reject) =>
        consumer.committed([{ topic: TOPIC, partition }], 5000, (err, tps) => (err ? reject(err) : resolve(tps[0]!.offset !== undefined && tps[0]!.offset >= 0 ? tps[0]!.offset : undefined))),
      );
    const before = await committedOffset(3);

    const dropped = `offsets-aborted-${Date.now()}`;
    await producer.begin();
    const droppedOffsets = producer.sendOffsets([{ topic: TOPIC, partition: 3, offset: (before ?? 0) + 7 }], consumer);
    await producer.send(Array.from({ length: 50 }, (_, i) => record(dropped, i)));
    await droppedOffsets;
    await producer.abort();
    expect(await committedOffset(3)).toBe(before);

    // As in the first test: the transaction after an abort that purged records in flight
    // may fail once by itself ("skipped sequence numbers"); the one after it commits.
    const offsets = [{ topic: TOPIC, partition: 3, offset: (before ?? 0) + 11 }];
    let kept = '';
    for (let attempt = 0; ; attempt++) {
      kept = `offsets-committed-${Date.now()}-${attempt}`;
      await producer.begin();
      const sent = producer.sendOffsets(offsets, consumer);
      await producer.send(Array.from({ length: 50 }, (_, i) => record(kept, i)));
      await sent;
      try {
        await producer.commit(offsets, consumer, true);
        break;
      } catch (err) {
        expect((err as Error).message).toMatch(/^commitTransaction failed \(abort\): /);
        expect(attempt).toBe(0);
        await producer.abort();
      }
    }
    expect(producer.state).toBe('READY');
    await waitFor('the committed offset', async () => ((await committedOffset(3).catch(() => undefined)) === (before ?? 0) + 11 ? true : undefined));
    await waitFor('the committed records', () => (reader.byKey(kept).length === 50 ? true : undefined));
    expect(reader.byKey(dropped)).toEqual([]);
  });
});
