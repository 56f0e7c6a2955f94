// Order intake under load: POST /api/orders from autocannon in this process against
// the service in another process, for a fixed time, then the figures: requests/s,
// latency percentiles, errors, and how far the outbox relay kept up.
//
//   npm run build && npm run infra:up && npm run bench:intake -- [--url URL] [--duration 20] [--connections 64]
//     [--env NAME=VALUE ...] [--header 'Name: value' ...]
//
// Without --url it starts the service itself (bench/children.ts: node
// dist/src/main.cjs, with BENCH_SERVICE_NODE_ARGS, from BENCH_SERVICE_DIR if set) on a
// free port against the local broker and Postgres, and stops it afterwards; --env sets
// its environment (e.g. the access settings of docs/security.md), --header is sent with
// every request (e.g. X-API-Key).
import { FIXED_ORDER_BODY } from './order-load.js';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { freePort, stackCpuMs, stackCpuPerThousand, startService, threadCpuMs, threadCpuPerThousand } from './children.js';
import { printMachine, saveResults } from './machine.js';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    duration: { type: 'string', default: '20' },
    connections: { type: 'string', default: '64' },
    pipelining: { type: 'string', default: '1' },
    env: { type: 'string', multiple: true, default: [] },
    header: { type: 'string', multiple: true, default: [] },
  },
});
const pairs = (items: readonly string[], sep: string, what: string): Record<string, string> =>
  Object.fromEntries(
    items.map((item) => {
      const at = item.indexOf(sep);
      if (at <= 0) throw new Error(`--${what} ${JSON.stringify(item)}: expected NAME${sep}VALUE`);
      return [item.slice(0, at).trim(), item.slice(at + 1).trim()];
    }),
  );
const serviceEnv = pairs(args.env, '=', 'env');
const extraHeaders = pairs(args.header, ':', 'header');
const duration = Number(args.duration);
const connections = Number(args.connections);
const pipelining = Number(args.pipelining);

async function ownService(): Promise<{ url: string; pid: number | undefined; stop: () => Promise<void> }> {
  const port = await freePort();
  // BENCH_SERVICE_DIR: another checkout's build (old and new code under the same
  // harness, alternated in one sitting).
  const child = await startService(port, serviceEnv, process.env.BENCH_SERVICE_DIR ?? '.');
  return { url: `http://127.0.0.1:${port}`, pid: child.process.pid, stop: () => child.stop() };
}

async function metric(url: string, name: string): Promise<number> {
  const text = await fetch(`${url}/actuator/prometheus`).then((r) => r.text());
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line === undefined ? NaN : Number(line.split(' ')[1]);
}

const service = args.url === undefined ? await ownService() : { url: args.url, pid: undefined, stop: async () => undefined };
// Header values are not printed: an X-API-Key is a secret (API_KEYS holds only digests).
const m = printMachine('intake: POST /api/orders', { url: service.url, duration, connections, pipelining, env: serviceEnv, headers: Object.keys(extraHeaders) });
const body = FIXED_ORDER_BODY;

const publishedBefore = await metric(service.url, 'orders_outbox_published_total');
// CPU per order, which other work on a shared machine disturbs far less than requests/s:
// the service's own (when this benchmark started it) and all of Postgres' (other
// clients of the same server included), from the start of the load to the outbox drained.
const cpuBefore = { threads: threadCpuMs(service.pid), stack: stackCpuMs(service.pid, undefined) };
const instance = autocannon({
  url: `${service.url}/api/orders`,
  method: 'POST',
  headers: { 'content-type': 'application/json', ...extraHeaders },
  body,
  duration,
  connections,
  pipelining,
});
let seconds = 0;
(instance as unknown as NodeJS.EventEmitter).on('tick', () => {
  if (++seconds % 5 === 0) process.stdout.write(`  ... ${seconds}/${duration} s\n`);
});
const result = await instance;

// How long until the relay has published everything accepted during the run.
const accepted = result['2xx'];
const drainStarted = Date.now();
let published = 0;
while (Date.now() - drainStarted < 60_000) {
  published = (await metric(service.url, 'orders_outbox_published_total')) - publishedBefore;
  if (published >= accepted) break;
  await new Promise((r) => setTimeout(r, 100));
}
const drainMs = Date.now() - drainStarted;
const perKOrders = (ms: number): number => Math.round((ms / accepted) * 1000);
const stackAfter = stackCpuMs(service.pid, undefined);
const cpu = {
  service: perKOrders(stackAfter.service - cpuBefore.stack.service),
  postgres: perKOrders(stackAfter.postgres - cpuBefore.stack.postgres),
  threads: threadCpuPerThousand(cpuBefore.threads, threadCpuMs(service.pid), accepted),
  stack: stackCpuPerThousand(cpuBefore.stack, stackAfter, accepted),
};
const batches = await metric(service.url, 'orders_db_group_commit_batches_total');
const orders = await metric(service.url, 'orders_db_group_commit_orders_total');
await service.stop();

const figures = {
  'requests/s (mean)': Math.round(result.requests.average),
  'requests/s (max 1 s)': result.requests.max,
  '2xx': accepted,
  'non-2xx': result.non2xx,
  errors: result.errors,
  timeouts: result.timeouts,
  'latency p50 ms': result.latency.p50,
  'latency p90 ms': result.latency.p90,
  'latency p99 ms': result.latency.p99,
  'latency max ms': result.latency.max,
  'published to orders': published,
  'outbox drained after run (ms)': drainMs,
  'orders per DB round trip': Math.round((orders / batches) * 10) / 10,
  'service CPU ms per 1k orders': cpu.service,
  'by thread (ms per 1k orders)': cpu.threads,
  'postgres CPU ms per 1k orders': cpu.postgres,
  // Everything on the machine, the load generator (this process) and the broker
  // included: on two shared cores, what the service does not use is what it gets.
  'CPU ms per 1k orders: service / simulators / load generator / postgres / java (broker)': cpu.stack,
};
console.table(figures);
console.log(`saved: ${saveResults('intake', { machine: m, params: { duration, connections, pipelining, env: serviceEnv, headers: Object.keys(extraHeaders) }, figures })}`);
if (result.non2xx > 0 || result.errors > 0) process.exitCode = 1;
