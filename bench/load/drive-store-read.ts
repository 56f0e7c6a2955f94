// Store-read driver (forked by bench:load): N orders written through the service and
// each read once from GET /api/orders/store/{id} (the store is warm and every id
// exists), then wrk drives random ids over all N in back-to-back 1 s slices (see
// wrk.ts for why slices), each slice one tick.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { driverConfig, send, status } from './driver-side.js';
import { encode, newHistogram } from './histogram.js';
import { errorCount, histogramFromQuantiles, parseWrkOutput, wrkScript } from './wrk.js';

const config = driverConfig('store-read');
const run = promisify(execFile);
await run('wrk', ['--version']).catch((err: { code?: string }) => {
  // wrk --version exits 1 after printing its version.
  if (err.code === 'ENOENT') throw new Error('wrk is not installed (Debian: apt-get install wrk)');
});

/** Runs `task` over `items` with `concurrency` in flight, reporting progress every 2 s. */
async function forEach<T>(what: string, items: readonly T[], concurrency: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let done = 0;
  const progress = setInterval(() => void status(`${what}: ${done}/${items.length}`), 2000);
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < items.length) {
          await task(items[next++]!);
          done++;
        }
      }),
    );
  } finally {
    clearInterval(progress);
  }
}

const body = JSON.stringify({
  customerId: 42,
  items: [{ productCode: 'P001', quantity: 2, productPrice: 10.5 }],
  deliveryAddress: { addressLine1: '1 Load Street', city: 'Springfield', state: 'IL', zipCode: '62701', country: 'US' },
});
const ids: string[] = [];
await forEach('orders created', Array.from({ length: config.orders }), 64, async () => {
  const res = await fetch(`${config.url}/api/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`POST /api/orders answered ${res.status}: ${text}`);
  ids.push(/"orderId"\s*:\s*(\d+)/.exec(text)![1]!);
});
const deadline = Date.now() + 300_000;
await forEach('orders read once from the store', ids, 32, async (id) => {
  for (;;) {
    const res = await fetch(`${config.url}/api/orders/store/${id}`);
    await res.arrayBuffer();
    if (res.status === 200) return;
    if (Date.now() > deadline) throw new Error(`order ${id} not in the store after 300 s (${res.status})`);
    await new Promise((r) => setTimeout(r, 200));
  }
});

const work = mkdtempSync(join(tmpdir(), 'bench-load-wrk-'));
try {
  const idsFile = join(work, 'ids.txt');
  writeFileSync(idsFile, ids.join('\n'));
  const script = join(work, 'random-id.lua');
  writeFileSync(script, wrkScript(idsFile));
  const total = newHistogram();
  let requests = 0;
  let errors = 0;
  let busyUs = 0;
  let slices = 0;
  const started = performance.now();
  while (performance.now() - started < config.durationS * 1000) {
    const { stdout } = await run('wrk', ['-t', String(config.threads), '-c', String(config.connections), '-d', '1s', '-s', script, config.url], { maxBuffer: 1 << 20 });
    const slice = parseWrkOutput(stdout);
    if (slice === undefined) throw new Error(`wrk printed no summary:\n${stdout}`);
    const h = histogramFromQuantiles(slice.requests, slice.q);
    total.add(h);
    requests += slice.requests;
    errors += errorCount(slice);
    busyUs += slice.durationUs;
    slices++;
    await send({ kind: 'tick', t: Math.round((performance.now() - started) / 100) / 10, count: slice.requests, errors: errorCount(slice), histograms: { latency: encode(h) } });
    h.destroy();
  }
  const wallS = (performance.now() - started) / 1000;
  await send({
    kind: 'done',
    histograms: { latency: encode(total) },
    // Requests over the time wrk was loading, as wrk's own Requests/sec counts.
    throughput: requests / (busyUs / 1e6),
    errors,
    figures: {
      orders: config.orders,
      requests,
      'wrk slices (1 s)': slices,
      'share of wall time under load': Math.round((busyUs / 1e6 / wallS) * 1000) / 1000,
      threads: config.threads,
      connections: config.connections,
    },
  });
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exit(0);
