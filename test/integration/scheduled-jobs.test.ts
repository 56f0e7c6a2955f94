// The scheduled jobs against the real Postgres: the outbox retention removes only rows
// certainly sent and past retention, in bounded statements; the stuck-order job
// republishes through the outbox only orders NEW past the age, once per age; and two
// instances' schedulers run a job once per period between them, not once each.
import { pino } from 'pino';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { createPool } from '../../src/db/pool.js';
import { JobScheduler } from '../../src/jobs/job-scheduler.js';
import { readJobStatus } from '../../src/jobs/job-status.js';
import { removeExpiredOutboxRows } from '../../src/jobs/outbox-retention.js';
import type { Id64 } from '../../src/domain/id64.js';
import { countStuckOrders, republishStuckOrders } from '../../src/jobs/republish-stuck-orders.js';
import { TEST_DATABASE_URL } from '../support/env.js';

const log = pino({ level: 'silent' });
let pool: pg.Pool;
// Unique ids per run, within 53 bits.
let nextId = Date.now() * 1000;
// Far older than anything other tests write: these rows come first in the jobs' oldest-first order.
const LONG_AGO = '2001-01-01T00:00:00Z';

beforeAll(async () => {
  pool = createPool({ connectionString: TEST_DATABASE_URL, max: 4, applicationName: 'scheduled-jobs-test' });
  await migrate(pool);
});

// What this file wrote is removed again, so that no later service relays it.
const writtenOrders: number[] = [];
const writtenOutbox: number[] = [];

afterAll(async () => {
  if (pool === undefined) return;
  await pool.query('delete from outbox_claims where outbox_id = any($1::bigint[])', [writtenOutbox]);
  await pool.query(
    'delete from outbox_pending where outbox_id in (select id from outbox where id = any($1::bigint[]) or aggregate_id = any($2::bigint[]))',
    [writtenOutbox, writtenOrders],
  );
  await pool.query('delete from outbox where id = any($1::bigint[]) or aggregate_id = any($2::bigint[])', [writtenOutbox, writtenOrders]);
  await pool.query('delete from orders where id = any($1::bigint[])', [writtenOrders]);
  await pool.end();
});

/** An outbox row as the relay leaves it (sent: its pending entry gone); returns its id. */
async function outboxRow(row: { createdAt: string; sent: boolean; claimed?: boolean }): Promise<number> {
  const id = nextId++;
  const { rows } = await pool.query<{ id: number }>(
    `insert into outbox (aggregate_id, topic, event_key, payload, created_at)
     values ($1::bigint, 'orders', $1::bigint::text, '{}', $2::timestamptz) returning id`,
    [id, row.createdAt],
  );
  if (row.sent) await pool.query('delete from outbox_pending where outbox_id = $1', [rows[0]!.id]);
  if (row.claimed === true) await pool.query(`insert into outbox_claims (outbox_id, claimed_by) values ($1, 'scheduled-jobs-test')`, [rows[0]!.id]);
  writtenOutbox.push(rows[0]!.id);
  return rows[0]!.id;
}

const existing = async (table: string, ids: readonly number[]): Promise<Set<number>> =>
  new Set((await pool.query<{ id: number }>(`select id from ${table} where id = any($1::bigint[])`, [ids])).rows.map((r) => r.id));

describe('outbox retention', () => {
  it('deletes sent rows past retention, in bounded statements, and leaves recent, unsent and claimed rows', async () => {
    const expired = [];
    for (let i = 0; i < 7; i++) expired.push(await outboxRow({ createdAt: LONG_AGO, sent: true }));
    const recent = await outboxRow({ createdAt: new Date(Date.now() - 60_000).toISOString(), sent: true });
    const unsent = await outboxRow({ createdAt: LONG_AGO, sent: false });
    // Sent yet still claimed: a recovery may hold it; never removed while the claim lives.
    const claimed = await outboxRow({ createdAt: LONG_AGO, sent: true, claimed: true });

    // A run stops at its bound: 7 expired rows, at most 5 per run, 2 per statement.
    const first = await removeExpiredOutboxRows(pool, { mode: 'delete', retentionMs: 3_600_000, batchSize: 2, maxRowsPerRun: 5 });
    expect(first).toBe(5);
    expect((await existing('outbox', expired)).size).toBe(2);
    // The next run takes the rest (and anything older that other tests left).
    await removeExpiredOutboxRows(pool, { mode: 'delete', retentionMs: 3_600_000, batchSize: 2, maxRowsPerRun: 1_000_000 });
    expect((await existing('outbox', expired)).size).toBe(0);
    expect([...(await existing('outbox', [recent, unsent, claimed]))].sort()).toEqual([recent, unsent, claimed].sort());

    await pool.query('delete from outbox_claims where outbox_id = $1', [claimed]);
    await removeExpiredOutboxRows(pool, { mode: 'delete', retentionMs: 3_600_000, batchSize: 2, maxRowsPerRun: 1_000_000 });
    expect((await existing('outbox', [claimed])).size).toBe(0);
  });

  it('archives instead of deleting in archive mode: the same rows, moved whole', async () => {
    const old = [await outboxRow({ createdAt: LONG_AGO, sent: true }), await outboxRow({ createdAt: LONG_AGO, sent: true })];
    const recent = await outboxRow({ createdAt: new Date().toISOString(), sent: true });
    const moved = await removeExpiredOutboxRows(pool, { mode: 'archive', retentionMs: 3_600_000, batchSize: 1000, maxRowsPerRun: 1_000_000 });
    expect(moved).toBeGreaterThanOrEqual(2);
    expect((await existing('outbox', old)).size).toBe(0);
    expect((await existing('outbox_archive', old)).size).toBe(2);
    expect((await existing('outbox', [recent])).size).toBe(1);
    const { rows } = await pool.query<{ created_at: Date; event_key: string }>('select created_at, event_key from outbox_archive where id = $1', [old[0]]);
    expect(rows[0]!.created_at.toISOString()).toBe(new Date(LONG_AGO).toISOString());
  });
});

describe('stuck orders (database side)', () => {
  /** Orders with two items, status as given, last changed at `changed`. */
  async function orders(n: number, status: string, changed: string): Promise<number[]> {
    const ids = Array.from({ length: n }, () => nextId++);
    writtenOrders.push(...ids);
    await pool.query(
      `insert into orders (id, customer_id, status, delivery_address_line1, delivery_address_city, delivery_address_state,
                           delivery_address_zip_code, delivery_address_country, created_date, last_modified_date)
       select id, 42, $2, '1 Main Street', 'Springfield', 'IL', '62701', 'US', $3, $3 from unnest($1::bigint[]) as id`,
      [ids, status, changed],
    );
    await pool.query(
      `insert into order_items (id, product_code, quantity, product_price, order_id)
       select id * 2 + k, 'P00' || k, k, 10.50, id from unnest($1::bigint[]) as id, generate_series(1, 2) as k`,
      [ids],
    );
    return ids;
  }

  const outboxOf = async (ids: readonly number[]): Promise<{ aggregate_id: number; payload: string }[]> =>
    (await pool.query<{ aggregate_id: number; payload: string }>('select aggregate_id, payload from outbox where aggregate_id = any($1::bigint[]) order by id', [ids])).rows;

  it('republishes orders NEW past the age through the outbox, bumps them, and skips decided, recent and still unsent ones', async () => {
    const stuck = await orders(3, 'NEW', LONG_AGO);
    const decided = await orders(1, 'CONFIRMED', LONG_AGO);
    const recent = await orders(1, 'NEW', new Date().toISOString());
    // NEW, old, but its creation record has not been published yet (relay behind).
    const unsent = await orders(1, 'NEW', LONG_AGO);
    await pool.query(`insert into outbox (aggregate_id, topic, event_key, payload) values ($1::bigint, 'orders', $1::bigint::text, '{}')`, [unsent[0]]);
    expect(await countStuckOrders(pool, 300_000)).toBeGreaterThanOrEqual(4);

    // Bounded: two per run, oldest first (these are older than anything else in the database).
    const first = await republishStuckOrders(pool, { ageMs: 300_000, batchSize: 2 });
    expect(first).toEqual(stuck.slice(0, 2));
    const second = await republishStuckOrders(pool, { ageMs: 300_000, batchSize: 2 });
    expect(second).toContain(stuck[2]);
    expect(second).not.toContain(unsent[0]);

    const rows = await outboxOf([...stuck, ...decided, ...recent]);
    expect(rows.map((r) => r.aggregate_id)).toEqual(stuck);
    // The OrderDto of a creation, as the order service first published it.
    expect(JSON.parse(rows[0]!.payload)).toEqual({
      orderId: stuck[0],
      customerId: 42,
      status: 'NEW',
      source: null,
      items: [
        { itemId: stuck[0]! * 2 + 1, productId: 'P001', quantity: 1, productPrice: 10.5 },
        { itemId: stuck[0]! * 2 + 2, productId: 'P002', quantity: 2, productPrice: 10.5 },
      ],
    });
    expect(rows[0]!.payload).toContain('"productPrice":10.50');
    // Bumped: not taken again before another age has passed.
    const again = await republishStuckOrders(pool, { ageMs: 300_000, batchSize: 1000 });
    expect(again.filter((id) => (stuck as readonly Id64[]).includes(id))).toEqual([]);
    const { rows: state } = await pool.query<{ status: string; version: number }>('select status, version from orders where id = any($1::bigint[])', [stuck]);
    expect(state.every((r) => r.status === 'NEW' && r.version === 1)).toBe(true);
  });

  it('leaves an order whose decision holds its row lock to the decision', async () => {
    const [id] = (await orders(1, 'NEW', LONG_AGO)) as [number];
    const projector = await pool.connect();
    try {
      // The status projector's update, not yet committed.
      await projector.query('begin');
      await projector.query(`update orders set status = 'CONFIRMED' where id = $1`, [id]);
      const taken = await republishStuckOrders(pool, { ageMs: 300_000, batchSize: 1000 });
      expect(taken).not.toContain(id);
      await projector.query('commit');
    } finally {
      projector.release();
    }
    expect(await outboxOf([id])).toEqual([]);
  });
});

describe('JobScheduler across instances', () => {
  it('runs a job once per period between two instances, not once each', async () => {
    const queuePrefix = `jobs-test-${Date.now()}`;
    const name = 'count';
    const periodMs = 2000;
    const runs: { instance: string; at: number }[] = [];
    const job = (instance: string) => ({
      name,
      periodMs,
      async run() {
        runs.push({ instance, at: Date.now() });
        return { counted: 1 };
      },
    });
    // Each instance with its own pool, as two processes have.
    const pools = ['a', 'b'].map((instance) => createPool({ connectionString: TEST_DATABASE_URL, max: 3, applicationName: `jobs-test-${instance}` }));
    const schedulers = await Promise.all(
      ['a', 'b'].map((instance) =>
        JobScheduler.start([job(instance)], pools[instance === 'a' ? 0 : 1]!, { queuePrefix, instanceId: instance }, log),
      ),
    );
    const watchMs = 12_000;
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, watchMs));
    await Promise.all(schedulers.map((s) => s.stop()));
    await Promise.all(pools.map((p) => p.end()));
    const within = runs.filter((r) => r.at >= t0 && r.at < t0 + watchMs);
    const slots = watchMs / periodMs;
    // Once per slot between both: about 6 here; each instance on its own would make about 12.
    expect(within.length).toBeGreaterThanOrEqual(slots - 1);
    expect(within.length).toBeLessThanOrEqual(slots + 1);
    // One job row per slot (pg-boss' throttle), and each ran exactly once, on one instance.
    const { rows: slotJobs } = await pool.query<{ singleton_on: Date; state: string }>('select singleton_on, state from pgboss.job where name = $1', [`${queuePrefix}.${name}`]);
    expect(new Set(slotJobs.map((j) => j.singleton_on.getTime())).size).toBe(slotJobs.length);
    expect(slotJobs.filter((j) => j.state === 'completed').length).toBe(runs.length);
    // The cluster-wide record counts every run, whichever instance made it.
    const status = (await readJobStatus(pool)).find((s) => s.name === name);
    expect(status?.runs).toBeGreaterThanOrEqual(runs.length);
    expect(schedulers.reduce((n, s) => n + s.stats[0]!.runs, 0)).toBe(runs.length);
  }, 40_000);
});
