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
import { endOffsets, readRange } from '../support/topic-range.js';

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

async function pendingOf(ids: readonly number[]): Promise<number> {
  const { rows } = await db.query<{ n: number }>('select count(*)::int as n from outbox o join outbox_pending p on p.outbox_id = o.id where o.aggregate_id = any($1)', [ids]);
  return rows[0]!.n;
}

it('publishes, after a SIGKILL and restart, the events committed but never sent', async () => {
  // The first instance commits orders but its relay is off: the state a crash between
  // commit and publish leaves behind.
  const from = await endOffsets('orders');
  const crashed = await startService({ OUTBOX_RELAY_ENABLED: 'false' });
  const ids: number[] = [];
  for (let i = 0; i < 20; i++) {
    const res = await http(crashed.baseUrl, 'POST', '/api/orders', orderBody());
    expect(res.status).toBe(201);
    ids.push(res.json.orderId);
  }
  expect(await crashed.kill('SIGKILL')).toBeNull();
  const pending = await db.query('select count(*)::int as n from outbox o join outbox_pending p on p.outbox_id = o.id where o.aggregate_id = any($1)', [ids]);
  expect(pending.rows[0].n).toBe(20);
  expect(ids.flatMap((id) => reader.byKey(String(id)))).toEqual([]);

  const restarted = await startService();
  try {
    // Marked completed only once acknowledged: everything sent for them is then below
    // the end that readRange snapshots, duplicates included.
    await waitFor('every pending event published', async () => ((await pendingOf(ids)) === 0 ? true : undefined));
    const published = await readRange('orders', from);
    const outboxIds = new Map(
      (await db.query<{ id: string; aggregate_id: string }>('select id, aggregate_id from outbox where aggregate_id = any($1)', [ids])).rows.map((r) => [
        Number(r.aggregate_id),
        r.id,
      ]),
    );
    for (const id of ids) {
      const records = published.filter((r) => r.key === String(id));
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
  const from = await endOffsets('orders');
  const service = await startService();
  try {
    const created = await Promise.all(Array.from({ length: 200 }, () => http(service.baseUrl, 'POST', '/api/orders', orderBody())));
    expect(created.every((r) => r.status === 201)).toBe(true);
    const ids = created.map((r) => r.json.orderId as number);
    await waitFor('200 events', async () => ((await pendingOf(ids)) === 0 ? true : undefined));
    const published = await readRange('orders', from);
    for (const id of ids) expect(published.filter((r) => r.key === String(id))).toHaveLength(1);
  } finally {
    await service.kill('SIGTERM');
  }
});
