// "Nothing committed in Postgres is lost on the way to Kafka": an order committed by
// a process that is SIGKILLed before its relay published the event goes out after the
// restart, exactly once in that run.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { partitionFor } from '../../src/kafka/partitioner.js';
import { NUM_PARTITIONS, TEST_DATABASE_URL } from '../support/env.js';
import { http, orderBody } from '../support/orders.js';
import { startService } from '../support/service.js';
import { waitFor } from '../support/wait.js';
import { TopicReader } from '../support/topic-reader.js';

let db: pg.Pool;
let reader: TopicReader;

beforeAll(async () => {
  db = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
  reader = await TopicReader.fromEnd('orders');
});

afterAll(async () => {
  await reader?.close();
  await db?.end();
});

it('publishes, after a SIGKILL and restart, the events committed but never sent', async () => {
  // The first instance commits orders but its relay is off: the state a crash between
  // commit and publish leaves behind.
  const crashed = await startService({ OUTBOX_RELAY_ENABLED: 'false' });
  const ids: number[] = [];
  for (let i = 0; i < 20; i++) {
    const res = await http(crashed.baseUrl, 'POST', '/api/orders', orderBody());
    expect(res.status).toBe(201);
    ids.push(res.json.orderId);
  }
  expect(await crashed.kill('SIGKILL')).toBeNull();
  const pending = await db.query('select count(*)::int as n from outbox where aggregate_id = any($1) and completed_at is null', [ids]);
  expect(pending.rows[0].n).toBe(20);
  expect(ids.flatMap((id) => reader.byKey(String(id)))).toEqual([]);

  const restarted = await startService();
  try {
    await waitFor('every pending event published', () => (ids.every((id) => reader.byKey(String(id)).length > 0) ? true : undefined));
    const { rows } = await db.query('select count(*)::int as n from outbox where aggregate_id = any($1) and completed_at is null', [ids]);
    expect(rows[0].n).toBe(0);
    // Exactly once in this run: give a duplicate time to show up, then count.
    await new Promise((r) => setTimeout(r, 1000));
    const outboxIds = new Map(
      (await db.query<{ id: string; aggregate_id: string }>('select id, aggregate_id from outbox where aggregate_id = any($1)', [ids])).rows.map((r) => [
        Number(r.aggregate_id),
        r.id,
      ]),
    );
    for (const id of ids) {
      const records = reader.byKey(String(id));
      expect(records).toHaveLength(1);
      expect(records[0]!.partition).toBe(partitionFor(String(id), NUM_PARTITIONS));
      expect(JSON.parse(records[0]!.value.toString())).toMatchObject({ orderId: id, status: 'NEW' });
      // The row's id travels with the record: what a restarted relay looks for on the topic.
      expect(records[0]!.headers['outbox-id']).toBe(outboxIds.get(id));
    }
  } finally {
    await restarted.kill('SIGTERM');
  }
});

it('publishes each of 200 concurrently created orders exactly once', async () => {
  const service = await startService();
  try {
    const created = await Promise.all(Array.from({ length: 200 }, () => http(service.baseUrl, 'POST', '/api/orders', orderBody())));
    expect(created.every((r) => r.status === 201)).toBe(true);
    const ids = created.map((r) => r.json.orderId as number);
    await waitFor('200 events', () => (ids.every((id) => reader.byKey(String(id)).length >= 1) ? true : undefined));
    await new Promise((r) => setTimeout(r, 500));
    for (const id of ids) expect(reader.byKey(String(id))).toHaveLength(1);
  } finally {
    await service.kill('SIGTERM');
  }
});
