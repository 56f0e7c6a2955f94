// The engine's open transaction must not hide other producers' records on `orders`.
// A read_committed reader stops at the first offset of an open transaction on a
// partition (its last stable offset). The decisions go to `orders`, where the outbox
// relay's NEW records go too: if the engine sent each decision as it was processed,
// every partition of `orders` it decided an order on would be blocked from then until
// the commit, and the NEW records behind it would reach the participants a commit
// cycle late. The engine holds its outputs until the commit instead
// (src/engine/commit-cycle.ts), so NEW records are visible while decisions wait for
// their transaction.
//
// The commit interval is long (fixed mode, 10 s) so the window is wide: decisions for
// one batch of answers are processed and held, NEW records are produced on every
// partition meanwhile, and they must be readable before the decisions are. What is
// held is bounded (a quarter of the transactional producer's queue budget): past it,
// the decisions go into the open transaction at once, and then NEW records wait for
// the commit as they always did.
import { expect, it } from 'vitest';
import type { OutgoingRecord } from '../../src/kafka/producer.js';
import { partitionFor } from '../../src/kafka/partitioner.js';
import { NUM_PARTITIONS } from '../support/env.js';
import { answers, sagaIo } from '../support/saga-io.js';
import { startService } from '../support/service.js';
import { waitFor } from '../support/wait.js';

const ORDERS = 60;
const io = sagaIo('open-transaction-test');

async function processedRecords(baseUrl: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/actuator/prometheus`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('kafka_streams_task_process_total{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const newOrder = (orderId: number): Buffer =>
  Buffer.from(JSON.stringify({ orderId, customerId: 3, status: 'NEW', items: [{ itemId: orderId + 1, productId: 'P001', quantity: 1, productPrice: 10.0 }] }));

/** Both answers, each with `items` items: the decision carries the stock answer's items. */
function answersWithItems(orderId: number, items: number): OutgoingRecord[] {
  const dto = (status: string, source: string): Buffer =>
    Buffer.from(
      JSON.stringify({ orderId, customerId: 3, status, source, items: Array.from({ length: items }, (_, j) => ({ itemId: orderId + 1 + j, productId: 'P001', quantity: 1, productPrice: 10.0 })) }),
    );
  return [
    { topic: 'payment-orders', key: String(orderId), value: dto('ACCEPT', 'PAYMENT') },
    { topic: 'stock-orders', key: String(orderId), value: dto('ACCEPT', 'INVENTORY') },
  ];
}

interface Window {
  readonly orders: number;
  /** Items per answer (and so per decision): about 80 bytes each. */
  readonly items: number;
  readonly commitIntervalMs: number;
  readonly memoryLimit?: string;
  /** Whether NEW records produced while the decisions are uncommitted are readable before the commit. */
  readonly newVisible: boolean;
}

async function decideInOpenTransaction({ orders, items, commitIntervalMs, memoryLimit, newVisible }: Window): Promise<void> {
  const env: Record<string, string> = {
    APPLICATION_ID: `open-txn-${Date.now()}`,
    INSTANCE_ID: 'open-txn-pod-0',
    COMMIT_MODE: 'fixed',
    COMMIT_INTERVAL_MS: String(commitIntervalMs),
    OUTBOX_RELAY_ENABLED: 'false',
  };
  if (memoryLimit !== undefined) env.MEMORY_LIMIT = memoryLimit;
  const service = await startService(env);
  try {
    const base = Date.now() * 100;
    const keys = (from: number, n: number): Set<string> => new Set(Array.from({ length: n }, (_, i) => String(base + from + i * 7)));
    const seen = (wanted: Set<string>): number => new Set(io.orders.records.filter((r) => wanted.has(r.key)).map((r) => r.key)).size;

    // A first order on every partition decided and committed. A fresh application id
    // replays the shared topics from their beginning (what earlier tests wrote): once
    // each partition has decided an order sent now, that replay is over, and the
    // processed-records count below counts this test's answers only. The commit clock
    // starts from that commit.
    const byPartition = new Map<number, string>();
    for (let i = 0; byPartition.size < NUM_PARTITIONS; i++) {
      const k = String(base + 5_000_000 + i * 7);
      const partition = partitionFor(k, NUM_PARTITIONS);
      if (!byPartition.has(partition)) byPartition.set(partition, k);
    }
    const first = new Set(byPartition.values());
    await io.producer.sendAll([...first].flatMap((k) => answers(Number(k))));
    await waitFor('a first decision on every partition', () => (seen(first) === first.size ? true : undefined), 90_000);

    // A batch of answers processed into the open transaction, decided on every partition.
    const decided = keys(1, orders);
    const before = await processedRecords(service.baseUrl);
    await io.producer.sendAll([...decided].flatMap((k) => answersWithItems(Number(k), items)));
    await waitFor('the answers processed', async () => ((await processedRecords(service.baseUrl)) >= before + 2 * orders ? true : undefined), commitIntervalMs - 4000);

    // NEW records from another producer, on every partition of orders.
    const fresh = keys(10 * orders + 10, ORDERS);
    await io.producer.sendAll([...fresh].map((k) => ({ topic: 'orders', key: k, value: newOrder(Number(k)) })));
    if (newVisible) {
      await waitFor('the NEW records visible', () => (seen(fresh) === ORDERS ? true : undefined), 5000);
      // The decisions are still in the open transaction: nothing here waited for a commit.
      expect(seen(decided)).toBe(0);
    } else {
      // Past the bound what was held went into the open transaction (what came after
      // it may be held again, below the bound): two seconds on, still before the
      // commit, the NEW records on those partitions wait behind it. Unbounded, all
      // 60 would be readable here.
      await new Promise((r) => setTimeout(r, 2000));
      expect(seen(decided)).toBe(0);
      expect(seen(fresh)).toBeLessThan(ORDERS);
    }

    // Everything arrives with the commit.
    await waitFor('the decisions committed', () => (seen(decided) === orders ? true : undefined), 30_000);
    await waitFor('the NEW records visible', () => (seen(fresh) === ORDERS ? true : undefined), 10_000);
  } catch (err) {
    process.stderr.write(`--- service output (tail) ---\n${service.output().slice(-6000)}\n`);
    throw err;
  } finally {
    await service.kill('SIGTERM');
  }
}

it('NEW records on orders are visible while decisions wait for the open transaction', { timeout: 120_000 }, async () => {
  await decideInOpenTransaction({ orders: ORDERS, items: 1, commitIntervalMs: 10_000, newVisible: true });
});

it('past the held outputs\' bound (MEMORY_LIMIT=256Mi, the least: 1.4 MiB), decisions go into the open transaction at once', { timeout: 150_000 }, async () => {
  // 800 decisions of about 3.2 KB (40 items): 2.5 MB. Few records: every later test
  // with a fresh application id replays the shared topics from their beginning.
  await decideInOpenTransaction({ orders: 800, items: 40, commitIntervalMs: 10_000, memoryLimit: '256Mi', newVisible: false });
});
