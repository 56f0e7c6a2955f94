// A transactional producer is never destroyed under a call still running in
// librdkafka. node-rdkafka's transactional calls run on a libuv worker without the
// connection lock, and its disconnect deletes the client: a producer disconnected
// under one takes the whole process down (librdkafka's "rk_ops queue disabled"
// assertion, or SIGSEGV). The engine met it after a broker restart in CI: it replaced a
// producer whose call it had given up on as stuck, while the call itself still ran.
//
// The calls are held in librdkafka by freezing a broker of this file's own (SIGSTOP):
// the commit's EndTxn gets no answer until it is thawed. Nothing is queued when it
// freezes (the transaction holds only offsets); node-rdkafka's disconnect flushes
// first, and its flush waits for requests in flight too, so the broker stays frozen past
// the flush's timeout. If the guard regresses, this file's test process dies.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Kafka from 'node-rdkafka';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTopics } from '../../src/kafka/admin.js';
import { DeliveringProducer } from '../../src/kafka/producer.js';
import { TransactionalProducer } from '../../src/kafka/transactional-producer.js';
import { KafkaBroker } from '../support/broker.js';
import { waitFor } from '../support/wait.js';

const PORT = Number(process.env.RETIRE_KAFKA_PORT ?? 19792);
const TOPIC = 'producer-retire-test';
const infraDir = mkdtempSync(join(tmpdir(), 'order-engine-retire-'));
const broker = new KafkaBroker({ infraDir, port: PORT, controllerPort: PORT + 1 });
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

/** Runs `fn` with the broker frozen (SIGSTOP), thawing it whatever happens. */
async function frozen<T>(fn: () => Promise<T>): Promise<T> {
  const pid = broker.pid;
  if (pid === undefined) throw new Error('the broker is not running');
  process.kill(pid, 'SIGSTOP');
  try {
    return await fn();
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens a transaction holding only consumed offsets: registered with its coordinator, nothing queued. */
async function openTransaction(producer: TransactionalProducer): Promise<Kafka.TopicPartitionOffset[]> {
  const offsets = [{ topic: TOPIC, partition: 0, offset: 0 }];
  await producer.begin();
  await producer.sendOffsets(offsets, consumer);
  return offsets;
}

beforeAll(async () => {
  await broker.start();
  const setup = await DeliveringProducer.connect({ brokers: broker.bootstrapServers, clientId: 'producer-retire-setup', deliveryTimeoutMs: 30_000 });
  try {
    await ensureTopics(broker.bootstrapServers, setup.client, [{ name: TOPIC, partitions: 1, replicationFactor: 1, coPartitioned: false, config: {} }]);
  } finally {
    await setup.close();
  }
  // sendOffsetsToTransaction needs a group member's metadata.
  consumer = new Kafka.KafkaConsumer({ 'metadata.broker.list': broker.bootstrapServers, 'group.id': `producer-retire-${Date.now()}`, 'enable.auto.commit': false }, {});
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
}, 120_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (consumer === undefined ? resolve() : consumer.disconnect(() => resolve())));
  await broker.kill();
  rmSync(infraDir, { recursive: true, force: true });
}, 60_000);

describe('TransactionalProducer and calls still running in librdkafka', () => {
  it('replaces a producer whose call it gave up on, and disconnects the old one only once that call has returned', async () => {
    const { log, lines } = capturingLog();
    const producer = await TransactionalProducer.connect({
      brokers: broker.bootstrapServers,
      transactionalId: `retire-replace-${process.pid}-${Date.now()}`,
      exactlyOnce: true,
      transactionTimeoutMs: 30_000,
      stuckCallMs: 300,
      log,
    });
    try {
      const offsets = await openTransaction(producer);
      await frozen(async () => {
        // The commit's EndTxn waits on the frozen coordinator: given up as stuck while
        // librdkafka still runs it, as a sendOffsetsToTransaction was after a broker restart.
        const given = await producer.commit(offsets, consumer, true).then(
          () => 'returned',
          (err: unknown) => (err as Error).message,
        );
        expect(given).toBe('commitTransaction did not return in 300 ms');
        expect(producer.state).toBe('FATAL');
        // begin() replaces it; the new producer's start waits for the broker too.
        const begun = producer.begin();
        await waitFor('the replacement to begin', () => (producer.counters.waiting === 'replacing the producer' ? true : undefined), 5000, 5);
        // Disconnected now, the old producer would be destroyed under its commit once
        // node-rdkafka's flush gave up (5 s: it waits for requests in flight too).
        await sleep(6000);
        expect(lines.map((l) => l.msg)).toContain('the replaced producer still has a transactional call running in librdkafka: it is disconnected once that returns');
        expect(lines.map((l) => l.msg)).not.toContain('the replaced producer is disconnected');
        // Not awaited here (it needs the broker): wrapped, or the frozen section would wait for it.
        return { begun };
      }).then(({ begun }) => begun);
      await waitFor('the replaced producer to be disconnected', () => (lines.some((l) => l.msg === 'the replaced producer is disconnected') ? true : undefined), 60_000);
      expect(producer.counters.replaced).toBe(1);

      // The process is alive, and the new producer commits.
      await producer.begin();
      await producer.send([{ topic: TOPIC, partition: 0, key: 'after', value: Buffer.from('after') }]);
      await producer.commit([], consumer);
      expect(producer.state).toBe('READY');
    } finally {
      await producer.close();
    }
  });

  it('close() waits for a running call before it disconnects the producer', async () => {
    const producer = await TransactionalProducer.connect({
      brokers: broker.bootstrapServers,
      transactionalId: `retire-close-${process.pid}-${Date.now()}`,
      exactlyOnce: true,
      transactionTimeoutMs: 30_000,
      log: pino({ level: 'silent' }),
    });
    const offsets = await openTransaction(producer);
    const order: string[] = [];
    let committing: Promise<unknown> | undefined;
    await frozen(async () => {
      committing = producer.commit(offsets, consumer, true).then(
        () => order.push('commit returned'),
        () => order.push('commit failed'),
      );
      await waitFor('the commit to be running in librdkafka', () => (producer.counters.waiting === 'commitTransaction' ? true : undefined), 5000, 5);
      const closing = producer.close().then(() => order.push('closed'));
      // Disconnected now, the producer would be destroyed under its commit.
      await sleep(1000);
      expect(order).toEqual([]);
      return { closing };
    }).then(({ closing }) => closing);
    await committing;
    expect(order[0]).toMatch(/^commit /);
    expect(order[1]).toBe('closed');
  });
});
