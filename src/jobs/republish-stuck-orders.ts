// Stuck orders are published again (spec "Background work"; the original's JobRunr job).
//
// The saga decides an order only when the payment and the stock answer meet within
// JOIN_WINDOW_MS. When the participants work through a backlog at different speeds
// their answers arrive further apart, neither joins, and the order stays NEW for good.
// Publishing the order's NEW OrderDto to `orders` again asks both participants to
// answer once more; answers to the same publication come close together, and the
// join decides.
//
// One transaction per run: the orders still NEW and unchanged for STUCK_ORDERS_AGE_MS
// are locked (SKIP LOCKED: a decision being projected holds its row, and that order is
// no longer stuck), their last change is bumped (so the next run does not take them
// again before another age has passed), and an outbox row per order is written; the
// relay publishes it like any new order. A decision the status projector writes
// meanwhile waits for the lock and then applies over the bump: the status stays
// whatever the saga decided. A republished order that the saga had decided after all
// (its late answer still joined) is decided once: the stream drops a NEW for a decided
// order and a second decision for it (src/stream/task.ts).
import type pg from 'pg';
import { parseId64, type Id64 } from '../domain/id64.js';
import { parseNumericCents } from '../domain/money.js';
import { orderDtoJson } from '../domain/order-json.js';
import { TOPIC_ORDERS } from '../kafka/topics.js';
import type { JobResult, ScheduledJob } from './scheduled-job.js';

export const STUCK_ORDERS_JOB = 'republish-stuck-orders';

export interface StuckOrdersOptions {
  readonly periodMs: number;
  /** An order NEW and unchanged this long is stuck. */
  readonly ageMs: number;
  /** Orders republished per run at most (oldest first). */
  readonly batchSize: number;
  /** Called after a run that republished something (wakes the outbox relay). */
  readonly onRepublished?: (orders: number) => void;
}

// int8 columns arrive as canonical ids (src/db/pool.ts): the original's TSIDs exactly.
interface StuckRow {
  id: Id64;
  customer_id: Id64;
  items: { id: string; product_code: string; quantity: number; product_price: string }[] | null;
}

// Oldest change first, through the partial index on NEW orders. Items come as one JSON
// array per order, prices as text (exact cents) and item ids too (pg reads json with
// JSON.parse, which rounds a long past 2^53).
const LOCK_STUCK = `
  select o.id, o.customer_id,
         (select json_agg(json_build_object('id', i.id::text, 'product_code', i.product_code, 'quantity', i.quantity,
                                            'product_price', i.product_price::text) order by i.id)
            from order_items i where i.order_id = o.id) as items
    from orders o
   where o.status = 'NEW' and o.last_modified_date < now() - make_interval(secs => $1::float8 / 1000)
   order by o.last_modified_date, o.id
   limit $2
     for update of o skip locked`;

// An order whose NEW record is still waiting in the outbox (the relay is behind, or
// Kafka was away) is not stuck in the saga: it has not reached the participants yet.
// One pass over the pending rows (a table as small as the backlog) rather than a probe
// per order. REPUBLISH's insert makes its row pending (the outbox insert trigger).
const STILL_PENDING = `
  select distinct o.aggregate_id as id from outbox_pending p join outbox o on o.id = p.outbox_id
   where o.aggregate_id = any($1::bigint[])`;

const REPUBLISH = `
  with bumped as (
    update orders set last_modified_date = now(), version = version + 1
     where id = any($1::bigint[])
    returning id
  )
  insert into outbox (aggregate_id, topic, event_key, payload)
  select t.id, $3, t.id::text, t.payload from unnest($1::bigint[], $2::text[]) as t (id, payload)
   where t.id in (select id from bumped)`;

// What the gauge reports: orders NEW for longer than the age since they were created,
// republished or not (a republished order still undecided is still stuck).
const COUNT_STUCK = `select count(*)::int as n from orders where status = 'NEW' and created_date < now() - make_interval(secs => $1::float8 / 1000)`;

function itemIdOf(text: string): Id64 {
  const id = parseId64(text);
  if (id === undefined) throw new Error(`order_items.id ${text} is not a 64-bit id`);
  return id;
}

const payloadOf = (row: StuckRow): string =>
  orderDtoJson({
    orderId: row.id,
    customerId: row.customer_id,
    status: 'NEW',
    source: null,
    items: (row.items ?? []).map((i) => ({ itemId: itemIdOf(i.id), productCode: i.product_code, quantity: i.quantity, priceCents: parseNumericCents(i.product_price) })),
  });

/** One run: republishes up to batchSize stuck orders; returns their ids. */
export async function republishStuckOrders(pool: pg.Pool, options: Pick<StuckOrdersOptions, 'ageMs' | 'batchSize'>): Promise<Id64[]> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const stuck = (await client.query<StuckRow>(LOCK_STUCK, [options.ageMs, options.batchSize])).rows;
    let chosen = stuck;
    if (stuck.length > 0) {
      const pending = new Set((await client.query<{ id: Id64 }>(STILL_PENDING, [stuck.map((r) => r.id)])).rows.map((r) => r.id));
      chosen = stuck.filter((r) => !pending.has(r.id));
    }
    if (chosen.length > 0) await client.query(REPUBLISH, [chosen.map((r) => r.id), chosen.map(payloadOf), TOPIC_ORDERS]);
    await client.query('commit');
    return chosen.map((r) => r.id);
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

export async function countStuckOrders(pool: pg.Pool, ageMs: number): Promise<number> {
  return (await pool.query<{ n: number }>(COUNT_STUCK, [ageMs])).rows[0]!.n;
}

export function stuckOrdersJob(pool: pg.Pool, options: StuckOrdersOptions): ScheduledJob {
  return {
    name: STUCK_ORDERS_JOB,
    periodMs: options.periodMs,
    async run(): Promise<JobResult> {
      const ids = await republishStuckOrders(pool, options);
      if (ids.length > 0) options.onRepublished?.(ids.length);
      // More than a batch waiting: the next period takes the next batch.
      return { republished: ids.length };
    },
    async observe(): Promise<JobResult> {
      return { stuck: await countStuckOrders(pool, options.ageMs) };
    },
  };
}
