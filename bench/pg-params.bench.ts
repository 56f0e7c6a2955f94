// What the group commit's 19 array parameters cost the HTTP thread per batch of 14
// orders (about what a batch holds under `npm run bench:intake`): building them, plus
// the copy pg's Bind makes of each (a string is measured and UTF-8 encoded into the
// message, a Buffer copied), as text literals (src/db/pg-array.ts, before) and as
// binary arrays (src/db/pg-binary-array.ts, what insertOrdersParams sends now).
// With --server, also what the insert costs the Postgres backend, per order, in each
// format: the same statement through one connection, in alternated blocks, the
// backend's CPU read from /proc (a local server), in a scratch database (DATABASE_URL,
// default order_service_bench: its orders and outbox tables are emptied afterwards).
// Run: npm run build && node dist/bench/pg-params.bench.js [--server] [--blocks 3] [--batches 1000]
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Bench } from 'tinybench';
import { migrate } from '../src/db/migrate.js';
import { INSERT_ORDERS, insertOrdersParams, type NewOrder } from '../src/db/order-repository.js';
import { numberArray, textArray } from '../src/db/pg-array.js';
import { formatCents } from '../src/domain/money.js';
import { IdGenerator } from '../src/domain/ids.js';
import { orderDtoJson } from '../src/domain/order-json.js';
import type { Order } from '../src/domain/order.js';
import { readProcStat } from './children.js';
import { printMachine, saveResults, tinybenchRows } from './machine.js';
import { ensureDatabase, SCRATCH_DATABASE_URL } from './scratch-database.js';

const { values: args } = parseArgs({
  options: {
    server: { type: 'boolean', default: false },
    blocks: { type: 'string', default: '3' },
    batches: { type: 'string', default: '1000' },
  },
});
const BATCH = 14;
const BATCHES = 64;
const params = { ordersPerBatch: BATCH, itemsPerOrder: 2, batches: BATCHES, time: 1000, server: args.server };
const m = printMachine('pg-params', params);

const ids = new IdGenerator(1);
function newOrder(): NewOrder {
  const order: Order = {
    orderId: ids.next(),
    customerId: 1 + Math.floor(Math.random() * 100),
    status: 'NEW',
    source: null,
    createdDate: new Date(),
    deliveryAddress: { addressLine1: '1 Load Street', addressLine2: null, city: 'Springfield', state: 'IL', zipCode: '62701', country: 'US' },
    items: [
      { itemId: ids.next(), productCode: 'P001', quantity: 2, priceCents: 10_000 },
      { itemId: ids.next(), productCode: 'P002', quantity: 1, priceCents: 25_050 },
    ],
  };
  return { order, event: { topic: 'orders', key: String(order.orderId), payload: orderDtoJson(order) } };
}
const batches = Array.from({ length: BATCHES }, () => Array.from({ length: BATCH }, newOrder));

/** The same 19 columns as text array literals: insertOrdersParams before binary arrays. */
function textLiteralParams(batch: readonly NewOrder[]): string[] {
  const col = <T>(f: (n: NewOrder) => T): T[] => batch.map(f);
  const items = batch.flatMap((n) => n.order.items.map((item) => ({ item, orderId: n.order.orderId })));
  return [
    numberArray(col((n) => n.order.orderId)),
    numberArray(col((n) => n.order.customerId)),
    textArray(col((n) => n.order.status)),
    textArray(col((n) => n.order.source)),
    textArray(col((n) => n.order.deliveryAddress.addressLine1)),
    textArray(col((n) => n.order.deliveryAddress.addressLine2)),
    textArray(col((n) => n.order.deliveryAddress.city)),
    textArray(col((n) => n.order.deliveryAddress.state)),
    textArray(col((n) => n.order.deliveryAddress.zipCode)),
    textArray(col((n) => n.order.deliveryAddress.country)),
    textArray(col((n) => n.order.createdDate.toISOString())),
    numberArray(items.map((i) => i.item.itemId)),
    textArray(items.map((i) => i.item.productCode)),
    numberArray(items.map((i) => i.item.quantity)),
    textArray(items.map((i) => formatCents(i.item.priceCents))),
    numberArray(items.map((i) => i.orderId)),
    textArray(col((n) => n.event.topic)),
    textArray(col((n) => n.event.key)),
    textArray(col((n) => n.event.payload)),
  ];
}

// What pg-protocol's Bind does with each value: a string's UTF-8 length, then the
// string encoded into the message; a Buffer copied into it.
const message = Buffer.alloc(1 << 20);
function bind(values: readonly (string | Buffer)[]): number {
  let at = 0;
  for (const v of values) {
    if (typeof v === 'string') {
      const len = Buffer.byteLength(v);
      message.writeInt32BE(len, at);
      message.write(v, at + 4);
      at += 4 + len;
    } else {
      message.writeInt32BE(v.length, at);
      v.copy(message, at + 4);
      at += 4 + v.length;
    }
  }
  return at;
}

let sink = 0;
let i = 0;
const bench = new Bench({ time: params.time, warmup: true });
bench
  .add('text array literals + bind', () => {
    sink ^= bind(textLiteralParams(batches[i++ & (BATCHES - 1)]!));
  })
  .add('binary arrays (insertOrdersParams) + bind', () => {
    sink ^= bind(insertOrdersParams(batches[i++ & (BATCHES - 1)]!));
  });
await bench.run();

const rows = tinybenchRows(bench);
console.table(rows);
console.log(`(sink ${sink & 1}; bytes per batch: text ${bind(textLiteralParams(batches[0]!))}, binary ${bind(insertOrdersParams(batches[0]!))})`);

/** The backend's CPU per order inserted, in µs, for each format, over alternated blocks. */
async function serverCost(): Promise<Record<string, number[]>> {
  const blocks = Number(args.blocks);
  const perBlock = Number(args.batches);
  await ensureDatabase(SCRATCH_DATABASE_URL);
  const pool = new pg.Pool({ connectionString: SCRATCH_DATABASE_URL, max: 1 });
  await migrate(pool);
  const client = await pool.connect();
  const costs: Record<string, number[]> = { 'text array literals': [], 'binary arrays': [] };
  try {
    const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    const cpuMs = (): number => readProcStat(`/proc/${pid}/stat`).cpuMs;
    const formats = [
      { name: 'text array literals', statement: 'insert-orders-text', build: textLiteralParams },
      { name: 'binary arrays', statement: 'insert-orders-binary', build: insertOrdersParams },
    ] as const;
    for (const f of formats) for (let k = 0; k < 50; k++) await client.query({ name: f.statement, text: INSERT_ORDERS, values: f.build(Array.from({ length: BATCH }, newOrder)) });
    for (let b = 0; b < blocks; b++) {
      for (const f of formats) {
        const work = Array.from({ length: perBlock }, () => Array.from({ length: BATCH }, newOrder));
        const before = cpuMs();
        for (const batch of work) await client.query({ name: f.statement, text: INSERT_ORDERS, values: f.build(batch) });
        costs[f.name]!.push(Math.round(((cpuMs() - before) * 1000) / (perBlock * BATCH)));
        process.stdout.write(`  ... block ${b + 1}/${blocks}: ${f.name}\n`);
      }
    }
    await client.query('truncate outbox_pending, outbox, order_items, orders');
  } finally {
    client.release();
    await pool.end();
  }
  return costs;
}

const server = args.server ? await serverCost() : undefined;
if (server !== undefined) {
  console.log('Postgres backend CPU per order inserted, µs, by block:');
  console.table(Object.entries(server).map(([format, us]) => ({ format, 'µs per order': us.join(' / ') })));
}
console.log(`saved: ${saveResults('pg-params', { machine: m, params, rows, ...(server === undefined ? {} : { server }) })}`);
