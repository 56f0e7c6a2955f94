// The join's clock across a crash: a payment answer processed and committed before
// the instance dies, and the stock answer that came right after it processed only
// when the instance is back, later than the window. With the records' own
// timestamps (TIMESTAMP_EXTRACTOR=record, the default) the pair joins as it would
// have live; with the wall clock (the original's setting) it never does, and the
// order stays NEW for good.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveringProducer } from '../../src/kafka/producer.js';
import { KAFKA_BOOTSTRAP_SERVERS } from '../support/env.js';
import { startService } from '../support/service.js';
import { TopicReader } from '../support/topic-reader.js';
import { waitFor } from '../support/wait.js';

const JOIN_WINDOW_MS = 3000;
let producer: DeliveringProducer;
let orders: TopicReader;

beforeAll(async () => {
  producer = await DeliveringProducer.connect({ brokers: KAFKA_BOOTSTRAP_SERVERS, clientId: 'join-time-test', deliveryTimeoutMs: 10_000 });
  orders = await TopicReader.fromEnd('orders');
});

afterAll(async () => {
  await orders?.close();
  await producer?.close();
});

const dto = (orderId: number, status: string, source: string): Buffer =>
  Buffer.from(JSON.stringify({ orderId, customerId: 7, status, source, items: [{ itemId: orderId + 1, productId: 'P001', quantity: 1, productPrice: 10.0 }] }));


describe('a join across a crash longer than the window', () => {
  it.each([
    { extractor: 'record', decided: true },
    { extractor: 'wallclock', decided: false },
  ])('TIMESTAMP_EXTRACTOR=$extractor: decided = $decided', async ({ extractor, decided }) => {
    const applicationId = `join-time-${extractor}-${Date.now()}`;
    const env = { APPLICATION_ID: applicationId, INSTANCE_ID: `join-time-${extractor}`, JOIN_WINDOW_MS: String(JOIN_WINDOW_MS), COMMIT_INTERVAL_MS: '200', TIMESTAMP_EXTRACTOR: extractor, OUTBOX_RELAY_ENABLED: 'false' };
    const changelog = await TopicReader.fromEnd(`${applicationId}-saga-join-store-changelog`).catch(() => undefined);
    let service = await startService(env);
    try {
      const joinStore = changelog ?? (await TopicReader.fromEnd(`${applicationId}-saga-join-store-changelog`));
      const id = Date.now() * 100 + 17;
      const paidAt = Date.now();
      await producer.sendAll([{ topic: 'payment-orders', key: String(id), value: dto(id, 'ACCEPT', 'PAYMENT'), timestamp: paidAt }]);
      // The payment answer is committed (in the join store's changelog) before the crash.
      await waitFor('the payment answer committed', () => (joinStore.records.some((r) => r.key.startsWith(`${id}|P|`)) ? true : undefined));
      await service.kill('SIGKILL');
      // The stock answer came right after the payment (its record's time says so), but
      // reaches the engine only once the instance has been down longer than the window.
      // Its time is set, not taken now: the wait above lasts as long as the first
      // instance takes to catch up with the shared broker's history, seconds on a slow
      // machine, which would put the two answers apart by more than the window.
      await producer.sendAll([{ topic: 'stock-orders', key: String(id), value: dto(id, 'ACCEPT', 'INVENTORY'), timestamp: paidAt + 100 }]);
      await new Promise((r) => setTimeout(r, JOIN_WINDOW_MS + 1000));
      service = await startService(env);
      const decisions = (): string[] => orders.byKey(String(id)).map((r) => JSON.parse(r.value.toString()).status as string);
      if (decided) {
        // The application id is fresh, so both incarnations start from the shared test
        // broker's whole history of the answer topics: the restarted one restores what the
        // first wrote to the changelogs and reads on from its last commit. How long that
        // takes grows with what the tests before this one produced; once (CI, 2026-11-29)
        // it outlasted waitFor's default 30 s. The time is printed to follow it.
        const restarted = Date.now();
        const got = await waitFor('the decision', () => (decisions().length > 0 ? decisions() : undefined), 90_000).catch((err: unknown) => {
          process.stderr.write(`--- the restarted instance (tail) ---\n${service.output().slice(-8000)}\n`);
          throw err;
        });
        expect(got).toEqual(['CONFIRMED']);
        console.log(`join-time: decided ${Date.now() - restarted} ms after the restarted instance was up`);
      } else {
        // The stock answer is processed (its offset committed) and joins nothing.
        await waitFor('the stock answer processed', () => (joinStore.records.some((r) => r.key.startsWith(`${id}|S|`)) ? true : undefined));
        await new Promise((r) => setTimeout(r, 1000));
        expect(decisions()).toEqual([]);
      }
      await joinStore.close();
    } finally {
      await service.kill('SIGTERM');
    }
  }, 180_000);
});
