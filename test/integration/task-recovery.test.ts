// What the engine does with a task's local state it cannot use, by the error's class:
// a corrupted store or checkpoint is wiped and restored from the changelogs (Kafka
// Streams' TaskCorruptedException), a store that cannot be opened for any other
// reason (another process holds its LOCK: two instances sharing a STATE_DIR) stops
// the process with one clear line and a non-zero exit.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveringProducer } from '../../src/kafka/producer.js';
import { partitionFor } from '../../src/kafka/partitioner.js';
import { RocksStore } from '../../src/state/rocksdb-store.js';
import { KAFKA_BOOTSTRAP_SERVERS, NUM_PARTITIONS, TEST_DATABASE_URL } from '../support/env.js';
import { http, orderBody } from '../support/orders.js';
import { freePort, serviceEntry, startService, type Service } from '../support/service.js';
import { waitFor } from '../support/wait.js';

let stateDir: string;
let producer: DeliveringProducer;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'task-recovery-'));
  producer = await DeliveringProducer.connect({ brokers: KAFKA_BOOTSTRAP_SERVERS, clientId: 'task-recovery-test', deliveryTimeoutMs: 10_000 });
});

afterAll(async () => {
  await producer?.close();
  rmSync(stateDir, { recursive: true, force: true });
});


/** An order created over HTTP and confirmed by answers played by the test, visible in the store. */
async function confirmedOrder(service: Service): Promise<number> {
  const res = await http(service.baseUrl, 'POST', '/api/orders', orderBody());
  expect(res.status).toBe(201);
  const o = res.json;
  const dto = { orderId: o.orderId, customerId: o.customerId, status: 'NEW', source: null, items: o.items.map((i: Record<string, unknown>) => ({ itemId: i.itemId, productId: i.productId, quantity: i.quantity, productPrice: i.productPrice })) };
  for (const [topic, source] of [['payment-orders', 'PAYMENT'], ['stock-orders', 'INVENTORY']] as const) {
    await producer.sendAll([{ topic, key: String(o.orderId), value: Buffer.from(JSON.stringify({ ...dto, status: 'ACCEPT', source })) }]);
  }
  await waitFor('the decision in the store', async () => ((await http(service.baseUrl, 'GET', `/api/orders/store/${o.orderId}`)).json?.status === 'CONFIRMED' ? true : undefined));
  return o.orderId as number;
}

describe('a corrupted task', () => {
  it.each([
    {
      name: 'a store RocksDB reports corrupt (CURRENT overwritten)',
      corrupt: (taskDir: string) => writeFileSync(join(taskDir, 'orders-store', 'CURRENT'), 'garbage\n'),
    },
    {
      name: 'a checkpoint that does not parse',
      corrupt: (taskDir: string) => writeFileSync(join(taskDir, '.checkpoint'), '0\n7\nnot a checkpoint\n'),
    },
  ])('$name is wiped and restored from its changelog; the store answers as before', async ({ corrupt }) => {
    const env = { APPLICATION_ID: `corrupt-${Date.now()}`, INSTANCE_ID: 'corrupt-pod', STATE_DIR: stateDir, COMMIT_INTERVAL_MS: '200' };
    let service = await startService(env);
    try {
      const id = await confirmedOrder(service);
      // A clean stop writes the checkpoint; the corruption happens while it is down.
      expect(await service.kill('SIGTERM')).toBe(0);
      corrupt(join(stateDir, env.APPLICATION_ID, `0_${partitionFor(String(id), NUM_PARTITIONS)}`));

      service = await startService(env);
      const res = await http(service.baseUrl, 'GET', `/api/orders/store/${id}`);
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ orderId: id, status: 'CONFIRMED' });
      expect(service.output()).toContain('task state is corrupted: wiping it and restoring it from its changelogs');
    } finally {
      await service.kill('SIGTERM');
    }
  }, 240_000);
});

describe('a store that cannot be opened', () => {
  // Regression: the error lost its class crossing from the stream thread (a plain
  // Error), was taken for retriable, and the engine reinitialized every second forever.
  it('stops the process with one fatal line naming the store and a non-zero exit', async () => {
    const applicationId = `locked-${Date.now()}`;
    // Another "instance" holds task 0_0's store open: its LOCK cannot be taken.
    const held = await RocksStore.open(join(stateDir, applicationId, '0_0', 'orders-store'), { blockCacheBytes: 1 << 20, writeBufferBytes: 1 << 20 });
    try {
      const port = await freePort();
      const child = spawn(process.execPath, [serviceEntry()], {
        env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL: TEST_DATABASE_URL, APPLICATION_ID: applicationId, INSTANCE_ID: 'locked-pod', STATE_DIR: stateDir, LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
      const [code] = (await once(child, 'exit')) as [number | null];
      clearTimeout(timer);
      expect(code, output).toBe(1);
      const fatal = output.split('\n').filter((l) => l.includes('"level":60'));
      expect(fatal, output).toHaveLength(1);
      expect(fatal[0]).toMatch(/cannot open state store .*0_0\/orders-store/);
      expect(fatal[0]).toContain('"code":"ORD_ERR_INTERNAL"');
    } finally {
      await held.close();
    }
  }, 120_000);
});
