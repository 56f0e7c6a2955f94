// The status projector commits only what Postgres took, against a real stopped
// Postgres (the private cluster of scripts/pg-private.sh) and the real service.
//
// Regression (hardening issue, item 5): on shutdown the projector made one attempt at
// the batch in hand and committed its offsets anyway. With Postgres down, a SIGTERM
// therefore lost those decisions for Postgres for good: the restarted projector
// resumed after them, and the orders stayed NEW in the database forever.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { createPool } from '../../src/db/pool.js';
import { StatusProjector } from '../../src/db/status-projector.js';
import { serializeOrderDto } from '../../src/domain/order-dto.js';
import { DeliveringProducer } from '../../src/kafka/producer.js';
import { KAFKA_BOOTSTRAP_SERVERS, NUM_PARTITIONS } from '../support/env.js';
import { http, orderBody } from '../support/orders.js';
import { pgPrivate, recreatePrivateDatabase } from '../support/pg-private.js';
import { startService, type Service } from '../support/service.js';
import { waitFor } from '../support/wait.js';

const FINAL = ['CONFIRMED', 'REJECTED', 'ROLLBACK'] as const;
const SOURCE = { CONFIRMED: null, REJECTED: 'INVENTORY', ROLLBACK: 'PAYMENT' } as const;

let databaseUrl: string;
let db: pg.Pool;
let producer: DeliveringProducer;
let stateDir: string;
let env: Record<string, string>;
let service: Service | undefined;

beforeAll(async () => {
  await pgPrivate('start');
  databaseUrl = await recreatePrivateDatabase('order_service_projector_outage');
  db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  db.on('error', () => undefined); // idle clients die with the cluster
  producer = await DeliveringProducer.connect({ brokers: KAFKA_BOOTSTRAP_SERVERS, clientId: 'projector-outage-test', deliveryTimeoutMs: 10_000 });
  stateDir = mkdtempSync(join(tmpdir(), 'projector-outage-'));
  env = { DATABASE_URL: databaseUrl, APPLICATION_ID: `projector-outage-${Date.now()}`, STATE_DIR: stateDir };
});

afterAll(async () => {
  await service?.kill('SIGTERM');
  await producer?.close();
  await db?.end();
  await pgPrivate('start'); // whatever the test left, leave the cluster up to stop it cleanly
  await pgPrivate('stop');
  if (stateDir !== undefined) rmSync(stateDir, { recursive: true, force: true });
});

/** A decision as the stream writes it to `orders`. */
async function decide(decisions: readonly { orderId: number; status: (typeof FINAL)[number] }[]): Promise<void> {
  await producer.sendAll(
    decisions.map(({ orderId, status }) => ({
      topic: 'orders',
      key: String(orderId),
      value: serializeOrderDto({ orderId, customerId: 1, status, source: SOURCE[status], items: [{ itemId: 1, productId: 'P001', quantity: 1, productPrice: 10.5 }] }),
    })),
  );
}

async function statuses(ids: readonly number[]): Promise<Map<number, string>> {
  const { rows } = await db.query<{ id: number; status: string }>('select id::float8 as id, status from orders where id = any($1::bigint[])', [ids]);
  return new Map(rows.map((r) => [r.id, r.status]));
}

const failedUpdates = (output: string): number => output.split('\n').filter((l) => l.includes('status projector: Postgres update failed')).length;

it('applies after a restart the decisions it held when SIGTERM came while Postgres was stopped', async () => {
  service = await startService(env);
  const ids: number[] = [];
  for (let i = 0; i < 21; i++) {
    const res = await http(service.baseUrl, 'POST', '/api/orders', orderBody());
    expect(res.status).toBe(201);
    ids.push(res.json.orderId as number);
  }
  // The projector has caught up once a first decision is in Postgres.
  const [marker, ...held] = ids as [number, ...number[]];
  await decide([{ orderId: marker, status: 'CONFIRMED' }]);
  await waitFor('the first decision in Postgres', async () => ((await statuses([marker])).get(marker) === 'CONFIRMED' ? true : undefined));

  await pgPrivate('stop');
  const expected = new Map(held.map((id, i) => [id, FINAL[i % FINAL.length]!]));
  const failedBefore = failedUpdates(service.output());
  await decide([...expected].map(([orderId, status]) => ({ orderId, status })));
  // The projector now holds (some of) them in a batch Postgres cannot take.
  await waitFor('the projector to fail applying the held decisions', () => (failedUpdates(service!.output()) > failedBefore ? true : undefined));
  const firstRun = service;
  expect(await firstRun.kill('SIGTERM')).toBe(0);
  service = undefined;

  await pgPrivate('start');
  expect([...(await statuses(held)).values()].every((s) => s === 'NEW')).toBe(true);
  service = await startService(env);
  try {
    await waitFor('every held decision in Postgres after the restart', async () => {
      const now = await statuses(held);
      return [...expected].every(([id, status]) => now.get(id) === status) ? true : undefined;
    });
  } catch (err) {
    const now = await statuses(held);
    console.log(`still not final: ${[...expected.keys()].filter((id) => now.get(id) !== expected.get(id)).length} of ${held.length}`);
    throw err;
  }
  expect(firstRun.output()).toContain('its offsets stay uncommitted and the next start replays it');
}, 180_000);

// The projector's own loop through a long outage: while it retries a batch it does not
// poll, so past max.poll.interval.ms it is put out of the group (here: a second
// instance joins meanwhile and takes every partition); its next poll then fails
// (ERR__MAX_POLL_EXCEEDED). The loop must outlive that poll error and the rebalance,
// rejoin, and project everything once Postgres is back, including what the second
// instance read and, Postgres being down, must not have committed when it stopped.
it('keeps projecting after a poll error and a rebalance that happened while Postgres was stopped', async () => {
  const log = pino({ level: 'silent' });
  await pgPrivate('start');
  const projectorPool = createPool({ connectionString: databaseUrl, max: 2, applicationName: 'projector-outage-test' });
  await migrate(projectorPool); // (the service of the test above applied them already, when it ran)
  // A poll interval that the outage below outlasts (the session is the broker's: KIP-848).
  const options = { consumerConfig: { 'max.poll.interval.ms': 6000 }, maxRetryDelayMs: 500 };
  const group = `projector-poll-error-${Date.now()}`;
  const first = await StatusProjector.start(KAFKA_BOOTSTRAP_SERVERS, group, projectorPool, log, options);
  let second: StatusProjector | undefined;
  try {
    const ids: number[] = [];
    const { rows } = await db.query<{ id: string }>(
      `insert into orders (id, customer_id, status, delivery_address_line1, delivery_address_city, delivery_address_state,
                           delivery_address_zip_code, delivery_address_country)
       select id, 1, 'NEW', '1 Main Street', 'Springfield', 'IL', '62701', 'US'
         from generate_series($1::bigint, $1::bigint + 30) as id returning id::text`,
      [Date.now() * 1000],
    );
    ids.push(...rows.map((r) => Number(r.id)));
    const [marker, ...held] = ids as [number, ...number[]];
    await decide([{ orderId: marker, status: 'CONFIRMED' }]);
    await waitFor('the first decision in Postgres', async () => ((await statuses([marker])).get(marker) === 'CONFIRMED' ? true : undefined));

    await pgPrivate('stop');
    await decide(held.map((orderId) => ({ orderId, status: 'CONFIRMED' as const })));
    await waitFor('the first instance to retry its batch', () => (first.stats.failures > 0 ? true : undefined));
    second = await StatusProjector.start(KAFKA_BOOTSTRAP_SERVERS, group, projectorPool, log, options);
    // The first instance, busy retrying, cannot take part in the rebalance: once its
    // poll interval is over it leaves the group, and the second one gets everything.
    await waitFor('the second instance to own every partition', () => (second!.assignment.length === NUM_PARTITIONS ? true : undefined), 60_000);
    await waitFor('the second instance to fail on Postgres too', () => (second!.stats.failures > 0 ? true : undefined));
    await second.close();
    second = undefined;

    await pgPrivate('start');
    await waitFor('every held decision in Postgres', async () => {
      const now = await statuses(held);
      return held.every((id) => now.get(id) === 'CONFIRMED') ? true : undefined;
    }, 60_000);
    expect(first.stats.consumeErrors).toBeGreaterThan(0);
    await waitFor('the first instance back in the group', () => (first.assignment.length === NUM_PARTITIONS ? true : undefined), 60_000);
    const { rows: more } = await db.query<{ id: string }>(
      `insert into orders (id, customer_id, status, delivery_address_line1, delivery_address_city, delivery_address_state,
                           delivery_address_zip_code, delivery_address_country)
       values ($1, 1, 'NEW', '1 Main Street', 'Springfield', 'IL', '62701', 'US') returning id::text`,
      [Date.now() * 1000 + 500],
    );
    const last = Number(more[0]!.id);
    await decide([{ orderId: last, status: 'REJECTED' }]);
    await waitFor('a decision made afterwards', async () => ((await statuses([last])).get(last) === 'REJECTED' ? true : undefined));
  } finally {
    await second?.close();
    await first.close();
    await projectorPool.end();
  }
}, 180_000);
