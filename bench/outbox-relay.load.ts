// Outbox relay throughput: a pre-filled outbox of --rows events, published by one
// relay (the service's class, its own producer and pool) to a bench topic, timed from
// the relay's start to the last row marked completed. Rows/s is what a backlog drains
// at after an outage or a restart.
//
//   npm run build && npm run infra:up && node dist/bench/outbox-relay.load.js [--rows 50000] [--batch 500]
//
// DATABASE_URL names a scratch database (default order_service_bench, created if
// missing): the bench deletes every outbox row in it first. KAFKA_BOOTSTRAP_SERVERS
// (default 127.0.0.1:9092). Records go to the topic `outbox-bench`, never to `orders`.
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { migrate } from '../src/db/migrate.js';
import { OutboxRelay } from '../src/db/outbox-relay.js';
import { createPool } from '../src/db/pool.js';
import { ensureTopics } from '../src/kafka/admin.js';
import { OutboxTail } from '../src/kafka/outbox-tail.js';
import { DeliveringProducer } from '../src/kafka/producer.js';
import { printMachine, saveResults } from './machine.js';
import { ensureDatabase, SCRATCH_DATABASE_URL } from './scratch-database.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '50000' },
    batch: { type: 'string', default: '500' },
  },
});
const rows = Number(args.rows);
const batchSize = Number(args.batch);
const databaseUrl = SCRATCH_DATABASE_URL;
const brokers = process.env.KAFKA_BOOTSTRAP_SERVERS ?? '127.0.0.1:9092';
const topic = 'outbox-bench';

// An OrderDto as the service writes it (about 400 bytes).
const payload = JSON.stringify({
  orderId: 0,
  customerId: 42,
  status: 'NEW',
  source: null,
  deliveryAddress: { addressLine1: '1 Load Street', addressLine2: null, city: 'Springfield', state: 'IL', zipCode: '62701', country: 'US' },
  items: [
    { id: 1, productCode: 'P001', quantity: 2, productPrice: 100 },
    { id: 2, productCode: 'P002', quantity: 1, productPrice: 250.5 },
  ],
  createdDate: new Date().toISOString(),
});

const m = printMachine('outbox relay: drain a pre-filled outbox', { rows, batchSize, brokers, topic });
await ensureDatabase(databaseUrl);
const pool = createPool({ connectionString: databaseUrl, max: 3, applicationName: 'outbox-bench' });
await migrate(pool);
await pool.query('delete from outbox_claims');
await pool.query('delete from outbox_pending');
await pool.query('delete from outbox');
await pool.query(`delete from outbox_relay_positions where instance_id = 'outbox-bench'`);
await pool.query(
  `insert into outbox (aggregate_id, topic, event_key, payload)
   select n, $1, n::text, $2 from generate_series(1, $3::int) as n`,
  [topic, payload, rows],
);
await pool.query('vacuum analyze outbox, outbox_pending, outbox_claims');

const producer = await DeliveringProducer.connect({ brokers, clientId: 'outbox-bench', deliveryTimeoutMs: 30_000 });
await ensureTopics(brokers, producer.client, [
  { name: topic, partitions: 6, replicationFactor: 1, coPartitioned: false, config: { 'retention.ms': String(3600 * 1000) } },
]);
const log = pino({ level: 'warn' });
const relay = new OutboxRelay(
  pool,
  producer,
  new OutboxTail(producer.client, { brokers, clientId: 'outbox-bench' }, log),
  { instanceId: 'outbox-bench', topics: [topic], batchSize, pollMs: 1000, positionsRetentionMs: 24 * 3600 * 1000, leaseMs: 60_000, deliveryTimeoutMs: 30_000 },
  log,
);
const started = performance.now();
relay.start();
while (relay.stats.published < rows) {
  if (relay.stats.failures > 0) throw new Error(`relay failed: ${relay.stats.lastError}`);
  await new Promise((r) => setTimeout(r, 20));
}
const seconds = (performance.now() - started) / 1000;
await relay.stop();
const { rows: left } = await pool.query<{ n: number }>('select count(*)::int as n from outbox_pending');
await producer.close();
await pool.end();

const figures = {
  rows,
  'batch size': batchSize,
  batches: relay.stats.batches,
  seconds: Math.round(seconds * 100) / 100,
  'rows/s': Math.round(rows / seconds),
  'left pending': left[0]?.n,
};
console.table(figures);
console.log(`saved: ${saveResults('outbox-relay', { machine: m, params: { rows, batchSize }, figures })}`);
