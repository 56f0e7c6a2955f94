// A transactional producer is never destroyed under a call still running in
// librdkafka. node-rdkafka's transactional calls run on a libuv worker without the
// connection lock, and its disconnect deletes the client: a producer disconnected
// under one takes the whole process down (librdkafka's "rk_ops queue disabled"
// assertion, or SIGSEGV). The engine met it after a broker restart in CI: it replaced a
// producer whose sendOffsetsToTransaction it had given up on as stuck, while the call
// itself still ran. If the guard regresses, this file's test process dies.
import Kafka from 'node-rdkafka';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTopics } from '../../src/kafka/admin.js';
import { DeliveringProducer } from '../../src/kafka/producer.js';
import { TransactionalProducer } from '../../src/kafka/transactional-producer.js';
import { KAFKA_BOOTSTRAP_SERVERS } from '../support/env.js';
import { waitFor } from '../support/wait.js';

const TOPIC = 'producer-retire-test';
let consumer: Kafka.KafkaConsumer;

interface LogLine {
  readonly level: number;
  readonly msg: string;
}

function capturingLog(): { log: pino.Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as LogLine) });
  return { log, lines };
}

/** Enough incompressible bytes that committing them (librdkafka waits for every acknowledgement) takes a while. */
const bulk = (n: number): { topic: string; partition: number; key: string; value: Uint8Array }[] =>
  Array.from({ length: n }, (_, i) => ({ topic: TOPIC, partition: i % 3, key: `bulk-${i}`, value: Buffer.from(crypto.getRandomValues(new Uint8Array(1024))) }));

beforeAll(async () => {
  const setup = await DeliveringProducer.connect({ brokers: KAFKA_BOOTSTRAP_SERVERS, clientId: 'producer-retire-setup', deliveryTimeoutMs: 30_000 });
  try {
    await ensureTopics(KAFKA_BOOTSTRAP_SERVERS, setup.client, [{ name: TOPIC, partitions: 3, replicationFactor: 1, coPartitioned: false, config: {} }]);
  } finally {
    await setup.close();
  }
  // commit() takes the consumer whose group metadata goes with the offsets (none here).
  consumer = new Kafka.KafkaConsumer({ 'metadata.broker.list': KAFKA_BOOTSTRAP_SERVERS, 'group.id': `producer-retire-${Date.now()}`, 'enable.auto.commit': false }, {});
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
});

afterAll(async () => {
  await new Promise<void>((resolve) => consumer?.disconnect(() => resolve()));
});

describe('TransactionalProducer and calls still running in librdkafka', () => {
  it('replaces a producer whose call it gave up on, and disconnects the old one only once that call has returned', async () => {
    const { log, lines } = capturingLog();
    // A commit of 20 MB takes far longer than 30 ms: it is given up as stuck while
    // librdkafka still runs it, as a sendOffsetsToTransaction was after a broker restart.
    const producer = await TransactionalProducer.connect({
      brokers: KAFKA_BOOTSTRAP_SERVERS,
      transactionalId: `retire-replace-${process.pid}-${Date.now()}`,
      exactlyOnce: true,
      transactionTimeoutMs: 30_000,
      stuckCallMs: 30,
      log,
    });
    try {
      await producer.begin();
      await producer.send(bulk(20_000));
      const given = await producer.commit([], consumer).then(
        () => 'returned',
        (err: unknown) => (err as Error).message,
      );
      expect(given).toBe('commitTransaction did not return in 30 ms');
      expect(producer.state).toBe('FATAL');

      // begin() replaces it; the old commit is still running, so the old producer waits.
      await producer.begin();
      expect(producer.counters.replaced).toBe(1);
      expect(lines.map((l) => l.msg)).toContain('the replaced producer still has a transactional call running in librdkafka: it is disconnected once that returns');
      await waitFor('the replaced producer to be disconnected', () => (lines.some((l) => l.msg === 'the replaced producer is disconnected') ? true : undefined), 60_000);

      // The process is alive, and the new producer commits.
      await producer.send(bulk(10));
      await producer.commit([], consumer);
      expect(producer.state).toBe('READY');
    } finally {
      await producer.close();
    }
  });

  it('close() waits for a running call before it disconnects the producer', async () => {
    const producer = await TransactionalProducer.connect({
      brokers: KAFKA_BOOTSTRAP_SERVERS,
      transactionalId: `retire-close-${process.pid}-${Date.now()}`,
      exactlyOnce: true,
      transactionTimeoutMs: 30_000,
      log: pino({ level: 'silent' }),
    });
    const order: string[] = [];
    await producer.begin();
    await producer.send(bulk(20_000));
    const committing = producer.commit([], consumer).then(
      () => order.push('commit returned'),
      () => order.push('commit failed'),
    );
    // One turn of the event loop: commit() has reached commitTransaction, which librdkafka
    // takes far longer than that to finish with 20 MB to acknowledge.
    await new Promise((resolve) => setImmediate(resolve));
    expect(producer.counters.waiting).toBe('commitTransaction');
    await producer.close();
    order.push('closed');
    await committing;
    expect(order[0]).toMatch(/^commit /);
    expect(order[1]).toBe('closed');
  });
});
