// Stuck orders are recovered (issue 9, item 1): when the payment and inventory answers
// of an order arrive further apart than JOIN_WINDOW_MS (their consumer groups fell
// behind at different speeds), no decision is made; the stuck-order job publishes the
// order again, the participants answer the new publication, and the join decides it,
// once, however often they answer. The test plays both participants.
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPool } from '../../src/db/pool.js';
import { http, orderBody } from '../support/orders.js';
import { answers, sagaIo } from '../support/saga-io.js';
import { startService } from '../support/service.js';
import { TEST_DATABASE_URL } from '../support/env.js';
import { TopicReader } from '../support/topic-reader.js';
import { waitFor } from '../support/wait.js';

const io = sagaIo('stuck-orders-test');
let pool: pg.Pool;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

beforeAll(() => {
  pool = createPool({ connectionString: TEST_DATABASE_URL, max: 2, applicationName: 'stuck-orders-test' });
});
afterAll(async () => {
  await pool?.end();
});

const WINDOW_MS = 1000;
const AGE_MS = 8000;
const PERIOD_MS = 2000;

it('republishes orders whose answers came further apart than the join window, and each is decided once', { timeout: 180_000 }, async () => {
  const applicationId = `stuck-orders-${Date.now()}`;
  const service = await startService({
    APPLICATION_ID: applicationId,
    INSTANCE_ID: 'stuck-orders-0',
    COMMIT_INTERVAL_MS: '200',
    JOIN_WINDOW_MS: String(WINDOW_MS),
    STUCK_ORDERS_AGE_MS: String(AGE_MS),
    STUCK_ORDERS_PERIOD_MS: String(PERIOD_MS),
    STUCK_ORDERS_BATCH_SIZE: '10000',
  });
  const creations = (id: number) => io.orders.records.filter((r) => r.key === String(id) && r.value.toString().includes('"status":"NEW"'));
  const publications = (id: number): Set<string> => new Set(creations(id).map((r) => r.headers['outbox-id'] ?? ''));
  const decisions = (id: number): number => io.orders.records.filter((r) => r.key === String(id) && /"status":"(CONFIRMED|REJECTED|ROLLBACK)"/.test(r.value.toString())).length;
  const statusOf = async (id: number): Promise<string> => (await http(service.baseUrl, 'GET', `/api/orders/${id}`)).json.status as string;
  // The service has created its changelog by now (a new application id); nothing is
  // in it before the payment answers below.
  const joinStore = await TopicReader.fromEnd(`${applicationId}-saga-join-store-changelog`);
  try {
    const ids: number[] = [];
    for (let i = 0; i < 6; i++) {
      const created = await http(service.baseUrl, 'POST', '/api/orders', orderBody());
      expect(created.status).toBe(201);
      ids.push(created.json.orderId as number);
    }
    await waitFor('the creations on orders', () => (ids.every((id) => creations(id).length === 1) ? true : undefined), 30_000, 50);

    // Payment answers at once; inventory, further behind, three windows after the
    // engine took them. Not three windows after they were sent: a fresh application id
    // replays the shared broker's history first, and an engine still catching up takes
    // both sides close together in wall-clock time, which the join counts as together
    // (join-window.ts: answers processed live within the window join).
    await io.producer.sendAll(ids.map((id) => answers(id)[0]!));
    await waitFor('the payment answers in the join store', () => (ids.every((id) => joinStore.records.some((r) => r.key.startsWith(`${id}|P|`))) ? true : undefined), 60_000, 50);
    await sleep(3 * WINDOW_MS);
    await io.producer.sendAll(ids.map((id) => answers(id)[1]!));
    await sleep(1500);
    for (const id of ids) {
      expect(decisions(id), `decisions of ${id} before the job`).toBe(0);
      expect(await statusOf(id)).toBe('NEW');
    }

    // The job publishes each again (a new outbox row: another outbox-id).
    await waitFor('the republications', () => (ids.every((id) => publications(id).size === 2) ? true : undefined), AGE_MS + 4 * PERIOD_MS + 10_000, 100);
    // Both participants answer the new publication close together, each twice (at
    // least once delivery); the last order's payment is refused.
    const last = ids.at(-1)!;
    const again = ids.flatMap((id) => (id === last ? answers(id, 'REJECT', 'ACCEPT') : answers(id)));
    await io.producer.sendAll([...again, ...again]);
    await waitFor('every order decided in Postgres', async () => ((await Promise.all(ids.map(statusOf))).every((s) => s !== 'NEW') ? true : undefined), 30_000, 200);

    // More periods than the age: a decided order is not republished again, and never decided twice.
    await sleep(AGE_MS + 2 * PERIOD_MS);
    for (const id of ids) {
      expect(decisions(id), `decisions of ${id}`).toBe(1);
      expect(publications(id).size, `publications of ${id}`).toBe(2);
      expect(await statusOf(id)).toBe(id === last ? 'ROLLBACK' : 'CONFIRMED');
    }
    const { rows } = await pool.query<{ n: number }>('select count(*)::int as n from outbox where aggregate_id = any($1::bigint[])', [ids]);
    expect(rows[0]!.n).toBe(2 * ids.length);

    // What operators see: the job's status and its metrics.
    const jobs = (await http(service.baseUrl, 'GET', '/api/jobs')).json as {
      enabled: boolean;
      jobs: { name: string; settings: Record<string, number>; cluster: { runs: number; lastOutcome: string; totals: Record<string, number> }; thisInstance?: { observed?: Record<string, number> } }[];
    };
    const republish = jobs.jobs.find((j) => j.name === 'republish-stuck-orders')!;
    expect(republish.settings).toMatchObject({ periodMs: PERIOD_MS, ageMs: AGE_MS });
    expect(republish.cluster.runs).toBeGreaterThanOrEqual(2);
    expect(republish.cluster.lastOutcome).toBe('completed');
    expect(republish.cluster.totals.republished).toBeGreaterThanOrEqual(ids.length);
    expect(republish.thisInstance?.observed?.stuck).toBeTypeOf('number');
    const metrics = await (await fetch(`${service.baseUrl}/actuator/prometheus`)).text();
    expect(Number(/^orders_republished_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(ids.length);
    expect(Number(/^scheduled_job_runs_total\{job="republish-stuck-orders"\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(2);
    expect(metrics).toMatch(/^orders_stuck \d+/m);
  } catch (err) {
    process.stderr.write(`--- service output (tail) ---\n${service.output().slice(-6000)}\n`);
    throw err;
  } finally {
    await joinStore.close();
    await service.kill('SIGTERM');
  }
});
