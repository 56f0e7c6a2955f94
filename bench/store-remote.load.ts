// Store reads from the owner vs from another instance (issue 7, item 5): two service
// instances in one group; warm orders read through instance A with autocannon, first
// those whose partition A runs (answered from its cache), then those B runs (A forwards
// each over its keep-alive agent to B, which answers from its cache). Requests/s and
// latency percentiles of each, side by side.
//
//   npm run build && npm run infra:up && node dist/bench/store-remote.load.js [--duration 15] [--connections 32] [--orders 600]
//
// Both instances, the broker, Postgres and the load generator share the machine: a
// forwarded read costs CPU in two processes, which is what a 2-core box shows.
// KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL are passed on to the services.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { freePort, startService, type Child } from './children.js';
import { printMachine, saveResults } from './machine.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '15' },
    connections: { type: 'string', default: '32' },
    orders: { type: 'string', default: '600' },
  },
});
const duration = Number(args.duration);
const connections = Number(args.connections);
const orderCount = Number(args.orders);

const applicationId = `bench-store-remote-${Date.now()}`;
const stateDir = mkdtempSync(join(tmpdir(), 'bench-store-remote-'));
const m = printMachine('store reads: owner vs forwarded (GET /api/orders/store/{id})', { duration, connections, orders: orderCount, applicationId });

interface Instance {
  readonly id: string;
  readonly url: string;
  readonly child: Child;
}

async function instance(id: string): Promise<Instance> {
  const port = await freePort();
  const child = await startService(port, { APPLICATION_ID: applicationId, INSTANCE_ID: id, STATE_DIR: join(stateDir, id), COMMIT_INTERVAL_MS: '200' });
  return { id, url: `http://127.0.0.1:${port}`, child };
}

const a = await instance('bench-a');
const b = await instance('bench-b');
try {
  // Orders through A; each lands in the store of whichever instance runs its partition.
  const ids: number[] = [];
  const body = JSON.stringify({
    customerId: 42,
    items: [{ productCode: 'P001', quantity: 2, productPrice: 10.5 }],
    deliveryAddress: { addressLine1: '1 Load Street', city: 'Springfield', state: 'IL', zipCode: '62701', country: 'US' },
  });
  while (ids.length < orderCount) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, orderCount - ids.length) }, () =>
        fetch(`${a.url}/api/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then(async (r) => ((await r.json()) as { orderId: number }).orderId),
      ),
    );
    ids.push(...batch);
  }

  // Wait until A answers every order (from its store or B's), and learn who serves which.
  const servedBy = new Map<number, string>();
  const deadline = Date.now() + 120_000;
  while (servedBy.size < ids.length) {
    if (Date.now() > deadline) throw new Error(`only ${servedBy.size} of ${ids.length} orders readable after 120 s`);
    for (const id of ids) {
      if (servedBy.has(id)) continue;
      const res = await fetch(`${a.url}/api/orders/store/${id}`);
      await res.arrayBuffer();
      if (res.status === 200) servedBy.set(id, res.headers.get('x-served-by') ?? '?');
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const own = ids.filter((id) => servedBy.get(id) === a.id);
  const remote = ids.filter((id) => servedBy.get(id) === b.id);
  console.log(`orders: ${ids.length}; served by ${a.id}: ${own.length}, by ${b.id}: ${remote.length}`);

  const run = async (name: string, list: number[]): Promise<Record<string, number | string>> => {
    const result = await autocannon({
      url: a.url,
      connections,
      duration,
      requests: list.map((id) => ({ method: 'GET' as const, path: `/api/orders/store/${id}` })),
    });
    return {
      reads: name,
      'requests/s (mean)': Math.round(result.requests.average),
      'latency p50 ms': result.latency.p50,
      'latency p90 ms': result.latency.p90,
      'latency p99 ms': result.latency.p99,
      'latency max ms': result.latency.max,
      '2xx': result['2xx'],
      'non-2xx': result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
    };
  };
  // A short warm-up of each (cache, JIT, A's connections to B), then the measured runs.
  await autocannon({ url: a.url, connections, duration: 3, requests: ids.map((id) => ({ method: 'GET' as const, path: `/api/orders/store/${id}` })) });
  const rows = [await run(`owner (${a.id} runs the partition)`, own), await run(`non-owner (${a.id} forwards to ${b.id})`, remote)];
  console.table(rows);
  console.log(`saved: ${saveResults('store-remote', { machine: m, params: { duration, connections, orders: orderCount }, figures: rows })}`);
  if (rows.some((r) => r['non-2xx'] !== 0 || r.errors !== 0)) process.exitCode = 1;
} finally {
  await b.child.stop();
  await a.child.stop();
  rmSync(stateDir, { recursive: true, force: true });
}
