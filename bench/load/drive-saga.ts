// Saga driver (forked by bench:load): orders POSTed over HTTP, and for each the time
// from its POST being due to its decision (CONFIRMED / REJECTED / ROLLBACK) committed
// on `orders`, read read_committed from the topic's end as bench/saga.load.ts does.
//
// With a rate the load is open: orders are due on a fixed schedule and every latency
// counts from the due time, so a stall is not hidden by the senders waiting
// (coordinated omission); `connections` bounds the POSTs in flight. Without a rate
// it is closed: `connections` loops POST as fast as they are answered, which finds
// the decided orders/s at saturation.
//
// Histograms: `latency` POST→decision (by the second the decision was seen), `post`
// the POST's own time. A tick's count is decisions, `offered` the POSTs accepted.
import { randomOrderBody, schedule } from '../order-load.js';
import { Agent, request } from 'node:http';
import Kafka from 'node-rdkafka';
import { pollBatch } from '../../src/kafka/poll.js';
import { driverConfig, SecondRecorder, status } from './driver-side.js';

const config = driverConfig('saga');
const recorder = new SecondRecorder(['post'], true);

const consumer = new Kafka.KafkaConsumer(
  { 'metadata.broker.list': config.brokers, 'group.id': `bench-load-reader-${process.pid}-${Date.now()}`, 'enable.auto.commit': false, 'isolation.level': 'read_committed' },
  {},
);
await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000, topic: 'orders' }, (err) => (err ? reject(err) : resolve())));
const partitions = await new Promise<number>((resolve, reject) => {
  consumer.getMetadata({ topic: 'orders', timeout: 10_000 }, (err, m) => (err ? reject(err) : resolve(m.topics.find((t) => t.name === 'orders')?.partitions.length ?? 0)));
});
if (partitions === 0) throw new Error('the orders topic has no partitions (is the service up?)');
const assignment = await Promise.all(
  Array.from({ length: partitions }, (_, partition) =>
    new Promise<Kafka.Assignment>((resolve, reject) => {
      consumer.queryWatermarkOffsets('orders', partition, 10_000, (err, o) => (err ? reject(err) : resolve({ topic: 'orders', partition, offset: o.highOffset })));
    }),
  ),
);
consumer.assign(assignment);
await status(`reading decisions from ${partitions} partitions of orders`);

const sentAt = new Map<string, number>();
let decided = 0;
let firstDecision = 0;
let lastDecision = 0;
let reading = true;
// pollBatch, not consume(1000): node-rdkafka's consume(n) waits for n arrivals under a
// steady stream, which added up to a second to every decision seen (src/kafka/poll.ts).
const readLoop = (async () => {
  while (reading) {
    const messages = await pollBatch(consumer, 1000, 50).catch(() => []);
    const now = performance.now();
    for (const msg of messages) {
      const key = msg.key?.toString();
      const t0 = key === undefined ? undefined : sentAt.get(key);
      if (t0 === undefined || msg.value == null) continue;
      if ((JSON.parse(msg.value.toString()) as { status: string }).status === 'NEW') continue;
      sentAt.delete(key!);
      recorder.record(now - t0);
      recorder.completed();
      decided++;
      firstDecision ||= now;
      lastDecision = now;
    }
  }
})();

const agent = new Agent({ keepAlive: true, maxSockets: config.connections + 2 });
function post(body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${config.url}/api/orders`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

let accepted = 0;
let refused = 0;
let transportErrors = 0;
const started = recorder.start();
const endAt = started + config.durationS * 1000;
const nextDue = schedule(started, config.rate);
const sender = async (): Promise<void> => {
  for (;;) {
    const t0 = await nextDue();
    if (t0 >= endAt) return;
    const body = randomOrderBody();
    try {
      const res = await post(body);
      recorder.record(performance.now() - t0, 'post');
      if (res.status === 201) {
        // The id as text: TSID-sized ids are not safe integers.
        sentAt.set(/"orderId"\s*:\s*(\d+)/.exec(res.body)![1]!, t0);
        accepted++;
        recorder.offered();
      } else {
        refused++;
        recorder.error();
      }
    } catch {
      transportErrors++;
      recorder.error();
    }
  }
};
await Promise.all(Array.from({ length: config.connections }, sender));
const loadEnded = performance.now();

// The tail of the saga: decisions of orders accepted near the end.
const drainDeadline = loadEnded + config.drainS * 1000;
while (sentAt.size > 0 && performance.now() < drainDeadline) await new Promise((r) => setTimeout(r, 100));
reading = false;
await readLoop;
recorder.error(sentAt.size); // an order never decided is the saga's error
const decidedPerSecond = decided > 1 && lastDecision > firstDecision ? decided / ((lastDecision - firstDecision) / 1000) : 0;
await recorder.finish(decidedPerSecond, {
  'orders accepted (201)': accepted,
  'POSTs accepted/s': Math.round(accepted / ((loadEnded - started) / 1000)),
  'refused (non-201)': refused,
  'transport errors': transportErrors,
  'orders decided': decided,
  [`undecided after ${config.drainS} s`]: sentAt.size,
  'offered rate': config.rate ?? `closed loop, ${config.connections} connections`,
});
agent.destroy();
await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
process.exit(0);
