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
// Where the time goes, per decided order, from when this driver's read_committed
// reader saw each record: HOPS[0] the POST's due time to its NEW record on `orders`
// (intake and the outbox relay), HOPS[1] NEW to the later of its two answers (the
// participants), HOPS[2] that answer to the decision (the stream engine's join and
// its commit).
import { randomOrderBody, schedule } from '../order-load.js';
import { Agent, request } from 'node:http';
import Kafka from 'node-rdkafka';
import { pollBatch } from '../../src/kafka/poll.js';
import { driverConfig, SecondRecorder, status } from './driver-side.js';

const config = driverConfig('saga');
const HOPS = ['hop: POST→NEW', 'hop: NEW→answers', 'hop: answers→decision'] as const;
const recorder = new SecondRecorder(['post', ...HOPS], true);
const ANSWER_TOPICS = ['payment-orders', 'stock-orders'];

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
const answerAssignment = await Promise.all(
  ANSWER_TOPICS.flatMap((topic) =>
    Array.from({ length: partitions }, (_, partition) =>
      new Promise<Kafka.Assignment>((resolve, reject) => {
        consumer.queryWatermarkOffsets(topic, partition, 10_000, (err, o) => (err ? reject(err) : resolve({ topic, partition, offset: o.highOffset })));
      }),
    ),
  ),
);
consumer.assign([...assignment, ...answerAssignment]);
await status(`reading decisions and answers from ${partitions} partitions of orders, ${ANSWER_TOPICS.join(', ')}`);

const sentAt = new Map<string, number>();
/** When this reader saw an order's NEW record and its answers (keyed by order id; a POST's answer may come after them). */
const seen = new Map<string, { newAt?: number; answers: number[] }>();
const seenOf = (key: string): { newAt?: number; answers: number[] } => {
  let s = seen.get(key);
  if (s === undefined) seen.set(key, (s = { answers: [] }));
  return s;
};
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
      if (key === undefined || msg.value == null) continue;
      if (msg.topic !== 'orders') {
        seenOf(key).answers.push(now);
        continue;
      }
      if ((JSON.parse(msg.value.toString()) as { status: string }).status === 'NEW') {
        seenOf(key).newAt ??= now;
        continue;
      }
      const t0 = sentAt.get(key);
      if (t0 === undefined) continue;
      sentAt.delete(key);
      recorder.record(now - t0);
      const hops = seen.get(key);
      seen.delete(key);
      if (hops?.newAt !== undefined && hops.answers.length >= 2) {
        const answered = Math.max(...hops.answers);
        recorder.record(hops.newAt - t0, HOPS[0]);
        recorder.record(answered - hops.newAt, HOPS[1]);
        recorder.record(now - answered, HOPS[2]);
      }
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
/** What the transport errors were (their code, else their message), so a report says. */
const transportErrorKinds: Record<string, number> = {};
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
    } catch (err) {
      transportErrors++;
      const kind = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      transportErrorKinds[kind] = (transportErrorKinds[kind] ?? 0) + 1;
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
  ...(transportErrors > 0 ? { 'transport errors by kind': JSON.stringify(transportErrorKinds) } : {}),
  'orders decided': decided,
  [`undecided after ${config.drainS} s`]: sentAt.size,
  'offered rate': config.rate ?? `closed loop, ${config.connections} connections`,
});
agent.destroy();
await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
process.exit(0);
