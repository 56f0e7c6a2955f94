// The whole saga under load: orders POSTed over HTTP, answered by the payment and
// inventory simulators, joined by the stream engine, decided. For each order the time
// from sending its POST to seeing its decision committed on `orders` (read_committed:
// the same commit that puts it in orders-store). Reports decided orders/s over the
// run, and the percentiles of that time and of the POST itself; plus the store's cache
// hit rate (a reader loop queries /api/orders/store/{id} of recently decided orders,
// as a client polling its order does) and store sizes.
//
// Without --rate the load is closed: `connections` loops POST as fast as they are
// answered, which finds the saturation throughput (latency then is mostly queueing).
// With --rate it is open: orders are due at a fixed rate and every latency counts from
// the moment its order was due, so a stall is not hidden by the loops waiting
// (coordinated omission); `connections` then bounds the requests in flight.
//
//   npm run build && npm run infra:up && npm run bench:saga -- [--duration 60] [--connections 32] [--rate 500]
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import Kafka from 'node-rdkafka';
import { pollBatch } from '../src/kafka/poll.js';
import { memoryOf, startService, startSimulators, type Child } from './children.js';
import { printMachine, saveResults } from './machine.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    connections: { type: 'string', default: '32' },
    port: { type: 'string', default: '18290' },
    rate: { type: 'string' },
    'reject-rate': { type: 'string', default: '0.1' },
  },
});
const durationS = Number(args.duration);
const connections = Number(args.connections);
const port = Number(args.port);
const rate = args.rate === undefined ? undefined : Number(args.rate);
if (rate !== undefined && !(rate > 0)) throw new Error(`--rate must be a positive number of orders/s, got '${args.rate}'`);
const brokers = process.env.KAFKA_BOOTSTRAP_SERVERS ?? '127.0.0.1:9092';
const m = printMachine('saga end to end: POST → decision', { durationS, connections, rate: rate ?? 'closed loop', rejectRate: args['reject-rate'], brokers });

// A stable application id: repeated runs resume from their committed offsets
// instead of re-deciding the topics' whole history.
const children: Child[] = [];
const stopAll = async (): Promise<void> => {
  for (const c of children.reverse()) await c.stop();
};
process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
children.push(await startSimulators({ SIM_APPLICATION_ID: 'bench', SIM_PAYMENT_REJECT_RATE: args['reject-rate'], SIM_INVENTORY_REJECT_RATE: args['reject-rate'] }));
const service = await startService(port, { APPLICATION_ID: 'order-service-bench', INSTANCE_ID: 'bench-0' });
children.push(service);
const base = `http://127.0.0.1:${port}`;

// Decisions, read committed from the current end of `orders`.
const sentAt = new Map<string, number>();
const latencies: number[] = [];
const decisions = new Map<string, string>();
/** The most recently decided orders (a ring), for the store reader. */
const decided: string[] = [];
let decidedNext = 0;
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
      decided[decidedNext++ % 2000] = key;
      const t0 = sentAt.get(key);
      if (t0 !== undefined) {
        latencies.push(now - t0);
        firstDecision ||= now;
        lastDecision = now;
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
let storeReads = 0;
let storeFound = 0;
const started = performance.now();
const endAt = started + durationS * 1000;
let due = 0;
/** When the next order is due: now in a closed loop; its slot of the schedule at a fixed rate. */
async function nextDue(): Promise<number> {
  if (rate === undefined) return performance.now();
  const at = started + (due++ * 1000) / rate;
  const wait = at - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  return at;
}
const poster = async (): Promise<void> => {
  for (;;) {
    const t0 = await nextDue();
    if (t0 >= endAt) return;
    const body = JSON.stringify({
      customerId: 1 + Math.floor(Math.random() * 100),
      items: [
        { productCode: `P00${1 + Math.floor(Math.random() * 9)}`, quantity: 1 + Math.floor(Math.random() * 5), productPrice: 100 },
        { productCode: `P0${10 + Math.floor(Math.random() * 90)}`, quantity: 1, productPrice: 250.5 },
      ],
      deliveryAddress: { addressLine1: '1 Load Street', city: 'Springfield', state: 'IL', zipCode: '62701', country: 'US' },
    });
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
// Interactive queries of recently decided orders: what a client that was told its
// order is done reads next. Each should be found, from the cache while it holds them.
const queries = async (): Promise<void> => {
  while (performance.now() < endAt) {
    const id = decided[Math.floor(Math.random() * Math.min(decided.length, 2000))];
    if (id === undefined) {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    const res = await call('GET', `/api/orders/store/${id}`).catch(() => ({ status: 0, body: '' }));
    storeReads++;
    if (res.status === 200) storeFound++;
    // At a fixed rate, one read per order placed: reads as fast as answered would be
    // a load of their own, competing with the saga for the same two cores.
    if (rate !== undefined) await new Promise((r) => setTimeout(r, 1000 / rate));
  }
};
const progress = setInterval(() => {
  const s = Math.round((performance.now() - started) / 1000);
  console.log(`  ... ${s}/${durationS} s: ${accepted.length} accepted, ${decisions.size} decided`);
}, 10_000);
await Promise.all([...Array.from({ length: connections }, poster), queries()]);
clearInterval(progress);
const loadEnded = performance.now();

// Let the tail of the saga finish.
const drainDeadline = performance.now() + 60_000;
while (latencies.length < accepted.length && performance.now() < drainDeadline) await new Promise((r) => setTimeout(r, 200));
const metrics = await fetch(`${base}/actuator/prometheus`).then((r) => r.text());
const memory = memoryOf(service.process.pid);
reading = false;
await readLoop;
await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
await stopAll();

const percentiles = (values: number[]): ((p: number) => number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return (p) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN);
};
const pct = percentiles(latencies);
const post = percentiles(postLatencies);
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
  'store reads of decided orders (found)': `${storeReads} (${storeFound})`,
  'service RSS now / peak MiB': memory === undefined ? 'n/a' : `${memory.rssMiB} / ${memory.peakRssMiB}`,
};
console.table(figures);
console.log('decisions:', counts);
for (const line of [...metric('orders_store_cache_hit_ratio'), ...metric('orders_store_bytes'), ...metric('orders_store_cache_entries'), ...metric('kafka_streams_')]) console.log(`  ${line}`);
console.log(`saved: ${saveResults('saga', { machine: m, params: { durationS, connections, rate }, figures, decisions: counts, metrics: metric('orders_store').concat(metric('kafka_streams_')) })}`);
process.exit(latencies.length === accepted.length ? 0 : 1);
