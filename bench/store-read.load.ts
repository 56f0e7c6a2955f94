// Store reads against the HTTP layer's own ceiling (issue 8, item 3): N warm orders
// (100k by default) are written through the service, read once from
// GET /api/orders/store/{id} (which warms the store and collects each answer), then
// wrk (a native load generator: autocannon itself tops out below these rates) drives,
// one after the other in the same run,
//   bare     a bare uWebSockets.js server answering those same bodies from a Map
//            (bench/bare-uws-server.ts): what the HTTP layer can do at all;
//   service  the service's GET /api/orders/store/{id}, random ids over all N.
// Requests/s, latency percentiles and the service's share of the bare server's rate.
//
//   npm run build && npm run infra:up && node dist/bench/store-read.load.js [--orders 100000] [--duration 15] [--connections 64] [--threads 2]
//
// Needs wrk on the PATH (Debian: apt-get install wrk). The service runs with the saga
// bench's application id, so repeated runs resume from committed offsets instead of
// replaying the whole of `orders`; KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL are passed on.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { freePort, startService } from './children.js';
import { printMachine, saveResults } from './machine.js';

const { values: args } = parseArgs({
  options: {
    orders: { type: 'string', default: '100000' },
    duration: { type: 'string', default: '15' },
    connections: { type: 'string', default: '64' },
    threads: { type: 'string', default: '2' },
  },
});
const orderCount = Number(args.orders);
const duration = Number(args.duration);
const connections = Number(args.connections);
const threads = Number(args.threads);
const m = printMachine('store reads vs a bare uWebSockets.js server (wrk)', { orders: orderCount, duration, connections, threads });
const run = promisify(execFile);
await run('wrk', ['--version']).catch((err: { code?: string; stdout?: string }) => {
  // wrk --version exits 1 after printing its version.
  if (err.code === 'ENOENT') throw new Error('wrk is not installed (Debian: apt-get install wrk)');
});

/** Runs `task` over `items` with `concurrency` in flight, printing progress every 2 s. */
async function forEach<T>(what: string, items: readonly T[], concurrency: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let done = 0;
  const progress = setInterval(() => console.log(`  ... ${what}: ${done}/${items.length}`), 2000);
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < items.length) {
          const item = items[next++]!;
          await task(item);
          done++;
        }
      }),
    );
  } finally {
    clearInterval(progress);
  }
}

interface WrkResult {
  readonly requestsPerSecond: number;
  readonly latencyMs: Record<string, number>;
  readonly non2xx: number;
  readonly socketErrors: string;
}

const toMs = (value: string): number => {
  const match = /^([\d.]+)(us|ms|s)$/.exec(value.trim());
  if (match === null) return NaN;
  const n = Number(match[1]);
  return match[2] === 'us' ? n / 1000 : match[2] === 's' ? n * 1000 : n;
};

async function wrk(url: string, script: string): Promise<WrkResult> {
  const { stdout } = await run('wrk', ['-t', String(threads), '-c', String(connections), '-d', `${duration}s`, '--latency', '-s', script, url], { maxBuffer: 1 << 20 });
  const latencyMs: Record<string, number> = {};
  for (const match of stdout.matchAll(/^\s+(50|75|90|99)%\s+(\S+)$/gm)) latencyMs[`p${match[1]}`] = toMs(match[2]!);
  return {
    requestsPerSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? NaN),
    latencyMs,
    non2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0),
    socketErrors: /Socket errors:.*$/m.exec(stdout)?.[0] ?? 'none',
  };
}

const work = mkdtempSync(join(tmpdir(), 'bench-store-read-'));
const port = await freePort();
const service = await startService(port, { APPLICATION_ID: 'order-service-bench', INSTANCE_ID: 'bench-0' });
const base = `http://127.0.0.1:${port}`;
try {
  // N orders through the service's own intake.
  const body = JSON.stringify({
    customerId: 42,
    items: [{ productCode: 'P001', quantity: 2, productPrice: 10.5 }],
    deliveryAddress: { addressLine1: '1 Load Street', city: 'Springfield', state: 'IL', zipCode: '62701', country: 'US' },
  });
  const ids: string[] = [];
  await forEach('orders created', Array.from({ length: orderCount }), 64, async () => {
    const res = await fetch(`${base}/api/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    if (res.status !== 201) throw new Error(`POST /api/orders answered ${res.status}: ${await res.text()}`);
    // The id as text: TSID-sized ids are not safe integers.
    ids.push(/"orderId"\s*:\s*(\d+)/.exec(await res.text())![1]!);
  });

  // Every order read once from the store (waiting for the ones not there yet): the
  // store is warm, and the bodies are what the bare server will answer.
  const bodies = new Map<string, string>();
  const deadline = Date.now() + 300_000;
  await forEach('orders read from the store', ids, 32, async (id) => {
    for (;;) {
      const res = await fetch(`${base}/api/orders/store/${id}`);
      const text = await res.text();
      if (res.status === 200) {
        bodies.set(id, text);
        return;
      }
      if (Date.now() > deadline) throw new Error(`order ${id} not in the store after 300 s (${res.status} ${text})`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });
  const bodiesFile = join(work, 'bodies.tsv');
  writeFileSync(bodiesFile, [...bodies].map(([id, json]) => `${id}\t${json}`).join('\n'));
  const idsFile = join(work, 'ids.txt');
  writeFileSync(idsFile, ids.join('\n'));
  const script = join(work, 'random-id.lua');
  writeFileSync(
    script,
    `local ids = {}
for line in io.lines("${idsFile}") do ids[#ids + 1] = line end
math.randomseed(os.time())
request = function() return wrk.format("GET", "/api/orders/store/" .. ids[math.random(#ids)]) end
`,
  );
  const meanBytes = Math.round([...bodies.values()].reduce((n, b) => n + b.length, 0) / bodies.size);
  console.log(`${bodies.size} orders in the store, answers of ${meanBytes} bytes on average`);

  // The bare server first, alone with the (idle) service; then the service.
  const bare = spawn(process.execPath, ['dist/bench/bare-uws-server.js', bodiesFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  const barePort = await new Promise<number>((resolve, reject) => {
    bare.stdout.on('data', (d: Buffer) => {
      const match = /listening (\d+)/.exec(d.toString());
      if (match !== null) resolve(Number(match[1]));
    });
    bare.once('exit', (code) => reject(new Error(`the bare server exited with ${code}`)));
  });
  let bareResult: WrkResult;
  try {
    await wrk(`http://127.0.0.1:${barePort}`, script); // warm-up run, not counted
    bareResult = await wrk(`http://127.0.0.1:${barePort}`, script);
  } finally {
    bare.kill('SIGTERM');
  }
  const serviceResult = await wrk(base, script);

  const row = (name: string, r: WrkResult): Record<string, string | number> => ({
    server: name,
    'requests/s': Math.round(r.requestsPerSecond),
    'p50 ms': r.latencyMs.p50 ?? NaN,
    'p90 ms': r.latencyMs.p90 ?? NaN,
    'p99 ms': r.latencyMs.p99 ?? NaN,
    'non-2xx': r.non2xx,
    'socket errors': r.socketErrors,
  });
  const rows = [row('bare uWebSockets.js, Map lookup', bareResult), row('service GET /api/orders/store/{id}', serviceResult)];
  console.table(rows);
  const share = serviceResult.requestsPerSecond / bareResult.requestsPerSecond;
  console.log(`service / bare: ${(100 * share).toFixed(0)}% of the bare server's requests/s (goal: 70%, p99 under 5 ms)`);
  console.log(`saved: ${saveResults('store-read', { machine: m, params: { orders: orderCount, duration, connections, threads }, figures: { rows, share } })}`);
  if (serviceResult.non2xx > 0 || bareResult.non2xx > 0) process.exitCode = 1;
} finally {
  await service.stop();
  rmSync(work, { recursive: true, force: true });
}
