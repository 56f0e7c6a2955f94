// Group commit through a Postgres outage, against a real stopped and crashed Postgres
// (the private cluster of scripts/pg-private.sh, never the machine's own).
//
// Regression (issue 6, item 5 of the hardening list: "group commit's outage path"):
// the committer recognised an outage only by the raw driver error (ECONNREFUSED, a
// SQLSTATE), but the repository hands it ORD_ERR_DATABASE_UNAVAILABLE (dbError), so
// every failed batch was written again item by item: N more round trips against a
// database that was down. The unit test passed a raw ECONNREFUSED and so never saw it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CatalogAnswer, ProductCatalog } from '../../src/catalog/catalog.js';
import { migrate } from '../../src/db/migrate.js';
import { OrderRepository, type NewOrder } from '../../src/db/order-repository.js';
import { createPool } from '../../src/db/pool.js';
import { IdGenerator } from '../../src/domain/ids.js';
import type { OrderRequest } from '../../src/domain/order.js';
import { EngineError } from '../../src/errors.js';
import { OrderService } from '../../src/orders/order-service.js';
import { http, orderBody, type HttpResult } from '../support/orders.js';
import { pgPrivate, recreatePrivateDatabase } from '../support/pg-private.js';
import { startService, type Service } from '../support/service.js';
import { waitFor } from '../support/wait.js';

/** The real repository, counting the write round trips it is asked for. */
class CountingRepository extends OrderRepository {
  writes = 0;
  override insertOrders(batch: readonly NewOrder[]): Promise<void> {
    this.writes++;
    return super.insertOrders(batch);
  }
}

/** Every product exists: these tests are about Postgres, not the catalog. */
const everyProduct: ProductCatalog = { check: async (): Promise<CatalogAnswer> => ({ exists: true }) };

const request = (customerId: number, codes: readonly string[] = ['P001', 'P002']): OrderRequest => ({
  customerId,
  items: codes.map((productCode) => ({ productCode, quantity: 1, priceCents: 1000 })),
  deliveryAddress: { addressLine1: '1 Main Street', addressLine2: null, city: 'Springfield', state: 'IL', zipCode: '62701', country: 'US' },
});

/** How each promise settled: the error's code for rejections. */
async function outcomes(promises: readonly Promise<unknown>[]): Promise<string[]> {
  const settled = await Promise.allSettled(promises);
  return settled.map((s) => (s.status === 'fulfilled' ? 'ok' : s.reason instanceof EngineError ? s.reason.code : String((s.reason as { code?: unknown }).code)));
}

let databaseUrl: string;
let pool: pg.Pool;

beforeAll(async () => {
  await pgPrivate('start');
  databaseUrl = await recreatePrivateDatabase('order_service_gc_outage');
  pool = createPool({ connectionString: databaseUrl, max: 10, applicationName: 'gc-outage-test' });
  await migrate(pool);
});

afterAll(async () => {
  await pool?.end();
  await pgPrivate('stop');
});

describe('the group committer against a real Postgres', () => {
  it('writes about one round trip per batch while Postgres is stopped, and every caller gets ORD_ERR_DATABASE_UNAVAILABLE', async () => {
    const repo = new CountingRepository(pool);
    // The HTTP thread's settings for a pool of 10.
    const orders = new OrderService(repo, everyProduct, new IdGenerator(1), () => undefined, { maxBatch: 256, maxInFlight: 8, maxQueued: 20_000 });
    await orders.create(request(1)); // the path works while Postgres is up
    await pgPrivate('stop');
    try {
      const before = { repoWrites: repo.writes, ...orders.writeStats };
      const n = 500;
      const results = await outcomes(Array.from({ length: n }, (_, i) => orders.create(request(100 + i))));
      expect(results).toEqual(Array.from({ length: n }, () => 'ORD_ERR_DATABASE_UNAVAILABLE'));
      const batches = orders.writeStats.batches - before.batches;
      const writes = repo.writes - before.repoWrites;
      console.log(`${n} orders while Postgres was stopped: ${batches} batches, ${writes} write round trips`);
      // One write per batch; the old committer wrote every item of a failed batch again.
      expect(writes).toBe(batches);
      expect(orders.writeStats.writes - before.writes).toBe(batches);
      expect(batches).toBeLessThan(n / 10);
    } finally {
      await pgPrivate('start');
    }
  });

  it('fails only the bad order of a batch (a constraint violation), and writes the others', async () => {
    const repo = new CountingRepository(pool);
    const orders = new OrderService(repo, everyProduct, new IdGenerator(2), () => undefined, { maxBatch: 256, maxInFlight: 1, maxQueued: 100 });
    await waitFor('Postgres to take writes again', () => orders.create(request(1)).then(() => true, () => undefined));
    // The first goes alone; the rest queue behind it and are written as one batch, in
    // which the order listing P001 twice breaks unique (product_code, order_id).
    const created = [request(201), request(202), request(203, ['P001', 'P001']), request(204), request(205)].map((r) => orders.create(r));
    const results = await outcomes(created);
    expect(results).toEqual(['ok', 'ok', '23505', 'ok', 'ok']);
    const { rows } = await pool.query<{ customer_id: number }>('select customer_id from orders where customer_id between 201 and 205 order by 1');
    expect(rows.map((r) => r.customer_id)).toEqual([201, 202, 204, 205]);
  });
});

describe('the service through a Postgres outage', () => {
  let service: Service;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'gc-outage-'));
    service = await startService({ DATABASE_URL: databaseUrl, APPLICATION_ID: `gc-outage-${Date.now()}`, STATE_DIR: stateDir });
  });

  afterAll(async () => {
    await service?.kill('SIGTERM');
    rmSync(stateDir, { recursive: true, force: true });
  });

  async function metric(name: string): Promise<number> {
    const text = (await http(service.baseUrl, 'GET', '/actuator/prometheus')).text;
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    if (line === undefined) throw new Error(`no metric ${name}`);
    return Number(line.split(' ')[1]);
  }

  it('answers every POST with a 503 ORD_ERR_DATABASE_UNAVAILABLE problem while Postgres is stopped, one write per batch', async () => {
    // Known product codes are cached, so the catalog check does not need Postgres.
    expect((await http(service.baseUrl, 'POST', '/api/orders', orderBody())).status).toBe(201);
    await pgPrivate('stop');
    try {
      const before = { batches: await metric('orders_db_group_commit_batches_total'), writes: await metric('orders_db_group_commit_writes_total') };
      const n = 200;
      const answers = await Promise.all(Array.from({ length: n }, () => http(service.baseUrl, 'POST', '/api/orders', orderBody())));
      for (const a of answers) {
        expect(a.status).toBe(503);
        expect(a.contentType).toContain('application/problem+json');
        expect(a.json).toMatchObject({ status: 503, code: 'ORD_ERR_DATABASE_UNAVAILABLE', errorCategory: 'Unavailable' });
      }
      const batches = (await metric('orders_db_group_commit_batches_total')) - before.batches;
      const writes = (await metric('orders_db_group_commit_writes_total')) - before.writes;
      console.log(`${n} POSTs while Postgres was stopped: ${batches} batches, ${writes} write round trips`);
      expect(writes).toBe(batches);
    } finally {
      await pgPrivate('start');
    }
  });

  it('takes new orders again, without a restart, after Postgres crashed under load and came back', async () => {
    await waitFor('a 201 after the restart of Postgres', async () => ((await http(service.baseUrl, 'POST', '/api/orders', orderBody())).status === 201 ? true : undefined));

    // Steady load from 16 clients; Postgres crashes (immediate shutdown) in the middle.
    const answers: HttpResult[] = [];
    let loading = true;
    // A transport failure (the service gone) is recorded as status 0, and fails below.
    const noAnswer = (err: unknown): HttpResult => ({ status: 0, contentType: '', location: null, text: String(err), json: undefined });
    const clients = Array.from({ length: 16 }, async () => {
      while (loading) answers.push(await http(service.baseUrl, 'POST', '/api/orders', orderBody()).catch(noAnswer));
    });
    try {
      await waitFor('orders accepted before the crash', () => (answers.filter((a) => a.status === 201).length >= 50 ? true : undefined));
      await pgPrivate('crash');
      const crashedAt = answers.length;
      await waitFor('503s while Postgres is down', () => (answers.slice(crashedAt).some((a) => a.status === 503) ? true : undefined));
      await pgPrivate('start');
      const restartedAt = answers.length;
      await waitFor('201s again after Postgres came back', () => (answers.slice(restartedAt).filter((a) => a.status === 201).length >= 50 ? true : undefined), 60_000);
    } catch (err) {
      console.log(service.output().slice(-30_000));
      throw err;
    } finally {
      loading = false;
      await Promise.all(clients);
    }

    // Only 201 or a 503 problem, never a 500 or a hang; every 201 is in Postgres.
    const byStatus = new Map<number, number>();
    for (const a of answers) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
    console.log('answers through the crash:', Object.fromEntries(byStatus));
    if (byStatus.has(0)) console.log(service.output().slice(-20_000));
    expect([...byStatus.keys()].sort()).toEqual([201, 503]);
    for (const a of answers.filter((x) => x.status === 503)) expect(a.json.code).toBe('ORD_ERR_DATABASE_UNAVAILABLE');
    const accepted = answers.filter((a) => a.status === 201).map((a) => a.json.orderId as number);
    const { rows } = await pool.query<{ n: number }>('select count(*)::int as n from orders where id = any($1::bigint[])', [accepted]);
    expect(rows[0]!.n).toBe(accepted.length);
  }, 180_000);
});
