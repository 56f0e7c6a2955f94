// The whole saga under load: orders POSTed over HTTP, answered by the payment and
// inventory simulators, joined by the stream engine, decided. For each order the time
// from sending its POST to seeing its decision committed on `orders` (read_committed;
// the store materializes it from there a little later). Reports decided orders/s over the
// run, and the percentiles of that time and of the POST itself. A sample of the decided
// orders (every --store-sample'th) is then read from /api/orders/store/{id} until the
// store shows the decision, as a client told its order is done would read it: that
// gives POST → decision in the store, and how long the store trails the topic. Last,
// the store's cache hit rate and sizes from the service's metrics, and the CPU time
// the service spent per 1,000 decided orders from the first POST to the end of the
// drain (/proc): its kafka thread (the main thread, the one the stream engine, the
// outbox relay and the status projector share) and the whole process.
//
// Without --rate the load is closed: `connections` loops POST as fast as they are
// answered, which finds the saturation throughput (latency then is mostly queueing).
// With --rate it is open: orders are due at a fixed rate and every latency counts from
// the moment its order was due, so a stall is not hidden by the loops waiting
// (coordinated omission); `connections` then bounds the requests in flight.
//
//   npm run build && npm run infra:up && npm run bench:saga -- [--duration 60] [--connections 32] [--rate 500]
import { randomOrderBody, schedule } from './order-load.js';
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import Kafka from 'node-rdkafka';
import { pollBatch } from '../src/kafka/poll.js';
import { cpuMsOf, memoryOf, stackCpuMs, stackCpuPerThousand, startService, startSimulators, untilCaughtUp, type Child } from './children.js';
import { printMachine, saveResults } from './machine.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    connections: { type: 'string', default: '32' },
    port: { type: 'string', default: '18290' },
    rate: { type: 'string' },
    'reject-rate': { type: 'string', default: '0.1' },
    'store-sample': { type: 'string', default: '5' },
  },
});
const durationS = Number(args.duration);
const connections = Number(args.connections);
const port = Number(args.port);
const rate = args.rate === undefined ? undefined : Number(args.rate);
if (rate !== undefined && !(rate > 0)) throw new Error(`--rate must be a positive number of orders/s, got '${args.rate}'`);
const storeSample = Number(args['store-sample']);
if (!Number.isInteger(storeSample) || storeSample < 1) throw new Error(`--store-sample must be a positive integer, got '${args['store-sample']}'`);
const brokers = process.env.KAFKA_BOOTSTRAP_SERVERS ?? '127.0.0.1:9092';
const m = printMachine('saga end to end: POST → decision', { durationS, connections, rate: rate ?? 'closed loop', rejectRate: args['reject-rate'], storeSample, brokers });

// A stable application id: repeated runs resume from their committed offsets
// instead of re-deciding the topics' whole history.
const children: Child[] = [];
const stopAll = async (): Promise<void> => {
  for (const c of children.reverse()) await c.stop();
};
process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
// The simulators' groups are new each run: a new group starts at the end of `orders`
// (src/sim/participant.ts), so they answer this run's orders only, not every order other
// runs wrote since the last saga run (a million after a few intake runs: an hour of saga).
const simulators = await startSimulators({ SIM_APPLICATION_ID: `bench-${Date.now()}`, SIM_PAYMENT_REJECT_RATE: args['reject-rate'], SIM_INVENTORY_REJECT_RATE: args['reject-rate'] });
children.push(simulators);
// BENCH_SERVICE_DIR: another checkout's build, driven by this bench (before/after in one sitting).
const service = await startService(port, { APPLICATION_ID: 'order-service-bench', INSTANCE_ID: 'bench-0' }, process.env.BENCH_SERVICE_DIR ?? '.').catch(async (err: unknown) => {
  await stopAll(); // the simulators, which would go on answering in the bench's groups
  throw err;
});
children.push(service);
const base = `http://127.0.0.1:${port}`;
await untilCaughtUp(base, (line) => console.log(line)).catch(async (err: unknown) => {
  await stopAll();
  throw err;
});

// Decisions, read committed from the current end of `orders`.
const sentAt = new Map<string, number>();
const latencies: number[] = [];
const decisions = new Map<string, string>();
/** Sampled decided orders waiting to be read from the store, oldest first (bounded). */
const toWatch: { id: string; status: string; t0: number; seenAt: number }[] = [];
const WATCH_QUEUE_MAX = 1000;
let watchDropped = 0;
let firstDecision = 0;
let lastDecision = 0;
const consumer = new Kafka.KafkaConsumer(
  { 'metadata.broker.list': brokers, 'group.id': `bench-reader-${Date.now()}`, 'enable.auto.commit': false, 'isolation.level': 'read_committed' },
  {},
);
await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
const assignment = await Promise.all(
  Array.from({ length: 6 }, (_, partition) =>
    new Promise<Kafka.Assignment & { offset: number }>((resolve, reject) => {
      consumer.queryWatermarkOffsets('orders', partition, 10_000, (err, o) => (err ? reject(err) : resolve({ topic: 'orders', partition, offset: o.highOffset })));
    }),
  ),
);
consumer.assign(assignment);
let reading = true;
const readLoop = (async () => {
  while (reading) {
    const messages = await pollBatch(consumer, 1000, 50).catch(() => []);
    const now = performance.now();
    for (const msg of messages) {
      const status = (JSON.parse(msg.value!.toString()) as { status: string }).status;
      const key = msg.key!.toString();
      if (status === 'NEW' || decisions.has(key)) continue;
      decisions.set(key, status);
      const t0 = sentAt.get(key);
      if (t0 !== undefined) {
        latencies.push(now - t0);
        firstDecision ||= now;
        lastDecision = now;
        if (latencies.length % storeSample === 0) {
          if (toWatch.length < WATCH_QUEUE_MAX) toWatch.push({ id: key, status, t0, seenAt: now });
          else watchDropped++;
        }
      }
    }
  }
})();

// Load: `connections` loops POSTing orders over keep-alive connections.
const agent = new Agent({ keepAlive: true, maxSockets: connections + 2 });
function call(method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, agent, headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {} }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
const accepted: string[] = [];
const postLatencies: number[] = [];
let refused = 0;
let errors = 0;
const errorKinds: Record<string, number> = {};
const storeLatencies: number[] = [];
const storeLags: number[] = [];
/** What each store read answered: the decision, an earlier state of the order, or an HTTP status. */
const storeAnswers: Record<string, number> = {};
let storeNeverShown = 0;
const servicePid = service.process.pid;
const cpuBefore = { kafkaThread: cpuMsOf(servicePid, servicePid), process: cpuMsOf(servicePid) };
const stackBefore = stackCpuMs(servicePid, simulators.process.pid);
const started = performance.now();
const endAt = started + durationS * 1000;
const nextDue = schedule(started, rate);
const poster = async (): Promise<void> => {
  for (;;) {
    const t0 = await nextDue();
    if (t0 >= endAt) return;
    const body = randomOrderBody();
    try {
      const res = await call('POST', '/api/orders', body);
      postLatencies.push(performance.now() - t0);
      if (res.status === 201) {
        const id = String((JSON.parse(res.body) as { orderId: number }).orderId);
        sentAt.set(id, t0);
        accepted.push(id);
      } else refused++;
    } catch (err) {
      errors++;
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      errorKinds[code] = (errorKinds[code] ?? 0) + 1;
    }
  }
};
// Interactive queries of decided orders, as a client told its order is done reads
// it: each sampled order is read until the store shows its decision (every 5 ms, at
// most 10 s), so the time to that read is POST → decision in the store.
const watcher = async (): Promise<void> => {
  while (reading) {
    const order = toWatch.shift();
    if (order === undefined) {
      if (performance.now() > endAt && latencies.length >= accepted.length) return;
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    for (const giveUpAt = performance.now() + 10_000; ; ) {
      const res = await call('GET', `/api/orders/store/${order.id}`).catch(() => ({ status: 0, body: '' }));
      const shown = res.status === 200 ? (JSON.parse(res.body) as { status: string }).status : undefined;
      const answer = shown === undefined ? `http ${res.status}` : shown === order.status ? 'decision' : `earlier state (${shown})`;
      storeAnswers[answer] = (storeAnswers[answer] ?? 0) + 1;
      const now = performance.now();
      if (shown === order.status) {
        storeLatencies.push(now - order.t0);
        storeLags.push(now - order.seenAt);
        break;
      }
      if (now > giveUpAt) {
        storeNeverShown++;
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }
};
const progress = setInterval(() => {
  const s = Math.round((performance.now() - started) / 1000);
  console.log(`  ... ${s}/${durationS} s: ${accepted.length} accepted, ${decisions.size} decided`);
}, 10_000);
const watchers = Array.from({ length: 4 }, watcher);
await Promise.all(Array.from({ length: connections }, poster));
clearInterval(progress);
const loadEnded = performance.now();

// Let the tail of the saga finish.
const drainDeadline = performance.now() + 60_000;
while (latencies.length < accepted.length && performance.now() < drainDeadline) await new Promise((r) => setTimeout(r, 200));
while (toWatch.length > 0 && performance.now() < drainDeadline) await new Promise((r) => setTimeout(r, 200));
reading = false;
await Promise.all(watchers);
const metrics = await fetch(`${base}/actuator/prometheus`).then((r) => r.text());
const memory = memoryOf(servicePid);
// From the first POST to the end of the drain: what the service spent on this run's orders.
const cpuMs = { kafkaThread: cpuMsOf(servicePid, servicePid) - cpuBefore.kafkaThread, process: cpuMsOf(servicePid) - cpuBefore.process };
const stackAfter = stackCpuMs(servicePid, simulators.process.pid);
await readLoop;
await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
await stopAll();

const percentiles = (values: number[]): ((p: number) => number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return (p) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN);
};
const pct = percentiles(latencies);
const post = percentiles(postLatencies);
const inStore = percentiles(storeLatencies);
const lag = percentiles(storeLags);
const counts: Record<string, number> = {};
for (const status of decisions.values()) counts[status] = (counts[status] ?? 0) + 1;
const metric = (name: string): string[] => metrics.split('\n').filter((l) => l.startsWith(name));
const figures = {
  'orders accepted (201)': accepted.length,
  'intake requests/s': Math.round(accepted.length / ((loadEnded - started) / 1000)),
  'POST p50 / p95 / p99 ms': `${post(50)} / ${post(95)} / ${post(99)}`,
  'refused (non-201)': refused,
  'transport errors': errors === 0 ? 0 : `${errors} ${JSON.stringify(errorKinds)}`,
  'orders decided': latencies.length,
  'decided orders/s (first→last decision)': Math.round(latencies.length / ((lastDecision - firstDecision) / 1000)),
  'POST→decision p50 ms': pct(50),
  'POST→decision p95 ms': pct(95),
  'POST→decision p99 ms': pct(99),
  'POST→decision max ms': pct(100),
  'undecided after 60 s drain': accepted.length - latencies.length,
  'POST→decision in the store p50 / p95 / p99 ms': `${inStore(50)} / ${inStore(95)} / ${inStore(99)} (${storeLatencies.length} sampled)`,
  'store trails the topic p50 / p99 ms': `${lag(50)} / ${lag(99)}`,
  'sampled decisions never shown by the store': storeNeverShown + (watchDropped > 0 ? ` (${watchDropped} not sampled: queue full)` : ''),
  'store reads': JSON.stringify(storeAnswers),
  'service RSS now / peak MiB': memory === undefined ? 'n/a' : `${memory.rssMiB} / ${memory.peakRssMiB}`,
  'service CPU ms per 1,000 decided: kafka thread / whole process': `${Math.round((cpuMs.kafkaThread / latencies.length) * 1000)} / ${Math.round((cpuMs.process / latencies.length) * 1000)}`,
  // The whole machine's share of each order: on two cores, what the rest takes is what the service waits for.
  'CPU ms per 1,000 decided: service / simulators / load generator / postgres / java (broker)': stackCpuPerThousand(stackBefore, stackAfter, latencies.length),
};
console.table(figures);
console.log('decisions:', counts);
for (const line of [...metric('orders_store_cache_hit_ratio'), ...metric('orders_store_bytes'), ...metric('orders_store_cache_entries'), ...metric('kafka_streams_')]) console.log(`  ${line}`);
console.log(`saved: ${saveResults('saga', { machine: m, params: { durationS, connections, rate, storeSample }, figures, decisions: counts, metrics: metric('orders_store').concat(metric('kafka_streams_')) })}`);
process.exit(latencies.length === accepted.length && storeNeverShown === 0 ? 0 : 1);
