// How a polled batch should travel from the kafka thread to a stream thread: as the
// array of records (structured clone, which copies every value), or packed with
// msgpackr into one buffer that is transferred and unpacked there; and over a plain
// worker's MessagePort or through piscina's run() (what StreamThreads uses: pinning,
// lifecycle, error propagation). One round trip per iteration, a batch of the stream
// loop's MAX_POLL_RECORDS OrderDto-sized records.
//   npm run build && npm run bench:dispatch
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { pack } from 'msgpackr';
import { Piscina } from 'piscina';
import { Bench } from 'tinybench';
import type { DispatchMessage } from './dispatch-worker.js';
import { printMachine, saveResults, tinybenchRows } from './machine.js';

const BATCH = Number(process.env.BATCH ?? 1000);
const workerFile = new URL('./dispatch-worker.js', import.meta.url);
const params = { batch: BATCH, valueBytes: 0, time: 2000 };

const dto = (id: number): Uint8Array =>
  Buffer.from(JSON.stringify({ orderId: id, customerId: 1 + (id % 100), status: 'ACCEPT', source: 'PAYMENT', items: [{ itemId: id + 1, productId: 'P001', quantity: 2, productPrice: 100.0 }, { itemId: id + 2, productId: 'P042', quantity: 1, productPrice: 250.5 }] }));
const records = Array.from({ length: BATCH }, (_, i) => ({
  topic: i % 2 === 0 ? 'payment-orders' : 'stock-orders',
  offset: 1_000_000 + i,
  key: String(245_515_753_987_584 + i * 128),
  value: dto(245_515_753_987_584 + i * 128),
  timestamp: Date.now(),
}));
params.valueBytes = records[0]!.value.byteLength;
const m = printMachine('dispatch: kafka thread → stream thread', params);

const worker = new Worker(workerFile);
await once(worker, 'online');
const roundTrip = (msg: DispatchMessage, transfer: ArrayBuffer[] = []): Promise<number> => {
  const answered = once(worker, 'message') as Promise<[number]>;
  worker.postMessage(msg, transfer);
  return answered.then(([n]) => n);
};
const pool = new Piscina({ filename: workerFile.href, minThreads: 1, maxThreads: 1, idleTimeout: Infinity, atomics: 'disabled' });
const packed = (): { msg: DispatchMessage; transfer: ArrayBuffer[] } => {
  // pack() returns a view of msgpackr's shared buffer: copy it out to own what is transferred.
  const bytes = new Uint8Array(pack(records));
  return { msg: { packed: bytes }, transfer: [bytes.buffer] };
};

let sink = 0;
const bench = new Bench({ time: params.time, warmup: true });
bench
  .add('worker port: records (structured clone)', async () => {
    sink ^= await roundTrip({ records });
  })
  .add('worker port: msgpackr, transferred', async () => {
    const { msg, transfer } = packed();
    sink ^= await roundTrip(msg, transfer);
  })
  .add('piscina run: records (structured clone)', async () => {
    sink ^= (await pool.run({ records })) as number;
  })
  .add('piscina run: msgpackr, transferred', async () => {
    const { msg, transfer } = packed();
    sink ^= (await pool.run(msg, { transferList: transfer })) as number;
  });
await bench.run();
await worker.terminate();
await pool.close();

const rows = tinybenchRows(bench).map((r) => ({ ...r, 'records/s': r['ops/s'] * BATCH }));
console.table(rows);
console.log(`winner: ${[...rows].sort((a, b) => b['ops/s'] - a['ops/s'])[0]!.task} (sink ${sink & 1})`);
console.log(`saved: ${saveResults('dispatch', { machine: m, params, rows })}`);
