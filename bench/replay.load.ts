// Catch-up speed and memory: how fast a service works through a backlog on `orders`
// (a pod back after an outage, a new application id), and how much memory it takes
// meanwhile. A backlog is where the stream loop's polls all come back full; its
// queues once kept every record they had held, and a fresh application id over 570k
// orders took the kafka thread to its heap limit in 15 s (docs/performance.md).
//
//   npm run build && npm run infra:up && npm run bench:replay -- [--records 500000] [--answers 0]
//
// 1. `orders` is topped up with NEW orders until it holds N records (a broker that
//    holds more is used as it is: the backlog is its last N records).
// 2. A new application id each run (no state, no changelog to restore): its stream
//    group and its status projector's start N records before the end of `orders`,
//    spread over the partitions, and at the end of the answer topics.
//    --answers A: then A more NEW orders, and both participants' answers to them after
//    them (later in time than every order of the backlog), which the run replays too:
//    the answer topics' fetches (smaller records) run ahead of `orders`, the case the
//    stream loop's flow control is for. The decisions the service writes to `orders`
//    are part of what it catches up on.
// 3. The service starts as `npm start` starts it (the kafka thread's heap from the
//    memory budget) on an empty STATE_DIR; its consumer lag on `orders` (and with
//    --answers, on the answer topics) is read every 500 ms and a progress line printed
//    every 2 s, until every partition is caught up. Then:
//    records, seconds, records/s, RSS at the end and at its peak.
// 4. The run's internal topics (changelogs, instance directory) are deleted.
//
// The last line of stdout is `RESULT {json}`. KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL
// are passed on to the service.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Kafka from 'node-rdkafka';
import { orderDtoJson } from '../src/domain/order-json.js';
import { ensureTopics } from '../src/kafka/admin.js';
import { disconnectProducer } from '../src/kafka/connect.js';
import { partitionFor } from '../src/kafka/partitioner.js';
import { JOIN_INPUTS, TOPIC_ORDERS, instancesTopic, topicLayout } from '../src/kafka/topics.js';
import { call, commitGroupOffsets, produceAll, watermarks } from './bench-kafka.js';
import { freePort, memoryOf, spawnService } from './children.js';
import { startFlags } from './load/stack.js';
import { printMachine, saveResults } from './machine.js';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '500000' },
    answers: { type: 'string', default: '0' },
    'timeout-s': { type: 'string', default: '900' },
  },
});
const records = Number(args.records);
const answered = Number(args.answers);
const timeoutMs = Number(args['timeout-s']) * 1000;
const APPLICATION_ID = `order-service-replay-bench-${Date.now()}`;
const NUM_PARTITIONS = 6;
const brokers = process.env.KAFKA_BOOTSTRAP_SERVERS ?? '127.0.0.1:9092';
const params = { records, answers: answered, applicationId: APPLICATION_ID, partitions: NUM_PARTITIONS };
const m = printMachine('replay of a backlog on orders by a new application id', params);

// Ids shaped like the service's (src/domain/ids.ts), apart from restore.load.ts's.
const ID_BASE = (Date.UTC(2025, 8, 1) - Date.UTC(2025, 0, 1)) * 2 ** 12;

const layout = topicLayout({ numPartitions: NUM_PARTITIONS, replicationFactor: 1, applicationId: APPLICATION_ID });
const internalTopics = [...layout.map((t) => t.name).filter((name) => name.startsWith(APPLICATION_ID)), instancesTopic(APPLICATION_ID)];

async function ordersHeld(producer: Kafka.Producer): Promise<Kafka.WatermarkOffsets[]> {
  const ends: Kafka.WatermarkOffsets[] = [];
  for (let p = 0; p < NUM_PARTITIONS; p++) ends.push(await watermarks(producer, TOPIC_ORDERS, p));
  return ends;
}

/** Produces `count` NEW orders to `orders`, each on its key's partition, as the relay does; ids from `first` on. */
async function topUp(producer: Kafka.Producer, count: number, first = Date.now() * 1000): Promise<void> {
  await produceAll(
    producer,
    count,
    (n) => {
      const orderId = ID_BASE + first + n;
      const key = String(orderId);
      const items = [{ itemId: orderId * 4, productCode: `P${String(1 + (n % 100)).padStart(3, '0')}`, quantity: 1 + (n % 5), priceCents: 100 + (n % 9900) }];
      const value = Buffer.from(orderDtoJson({ orderId, customerId: 1 + (n % 5000), status: 'NEW', source: null, items }));
      return { topic: TOPIC_ORDERS, partition: partitionFor(key, NUM_PARTITIONS), key, value };
    },
    'orders',
  );
}

/** The answer topics' ends, per topic and partition. */
async function answerEnds(producer: Kafka.Producer): Promise<Kafka.TopicPartitionOffset[]> {
  const ends: Kafka.TopicPartitionOffset[] = [];
  for (const topic of JOIN_INPUTS) {
    for (let partition = 0; partition < NUM_PARTITIONS; partition++) ends.push({ topic, partition, offset: (await watermarks(producer, topic, partition)).highOffset });
  }
  return ends;
}

/** --answers: `count` NEW orders, then both participants' ACCEPT answers to each. */
async function writeAnswered(producer: Kafka.Producer, count: number): Promise<void> {
  const first = Date.now() * 1000;
  const idOf = (n: number): number => ID_BASE + first + n;
  await topUp(producer, count, first);
  await produceAll(
    producer,
    2 * count,
    (n) => {
      const orderId = idOf(n >> 1);
      const key = String(orderId);
      const [topic, source] = n % 2 === 0 ? [JOIN_INPUTS[0], 'PAYMENT'] : [JOIN_INPUTS[1], 'INVENTORY'];
      const items = [{ itemId: orderId * 4, productCode: 'P001', quantity: 1, priceCents: 100 }];
      const value = Buffer.from(orderDtoJson({ orderId, customerId: 1 + (n % 5000), status: 'ACCEPT', source, items }));
      return { topic, partition: partitionFor(key, NUM_PARTITIONS), key, value };
    },
    'answers',
  );
}

/** Sets where the run's groups start; returns the backlog on `orders` they face. */
async function placeGroups(producer: Kafka.Producer, answers: readonly Kafka.TopicPartitionOffset[]): Promise<number> {
  const ends = await ordersHeld(producer);
  const share = Math.ceil(records / NUM_PARTITIONS);
  const starts = ends.map((o, partition) => ({ topic: TOPIC_ORDERS, partition, offset: Math.max(o.lowOffset, o.highOffset - share) }));
  const backlog = starts.reduce((sum, s, p) => sum + ends[p]!.highOffset - s.offset, 0);
  for (const [groupId, offsets] of [
    [APPLICATION_ID, [...starts, ...answers]],
    [`${APPLICATION_ID}-status-projector`, starts],
  ] as const) {
    const failed = await commitGroupOffsets(brokers, groupId, [...offsets]);
    if (failed !== undefined) throw new Error(`could not set ${groupId}'s offsets: ${failed}`);
  }
  return backlog;
}

async function deleteInternalTopics(): Promise<void> {
  const admin = Kafka.AdminClient.create({ 'metadata.broker.list': brokers });
  try {
    for (const topic of internalTopics) {
      await call<void>((cb) => admin.deleteTopic(topic, 10_000, (err) => cb(err, undefined))).catch((err: unknown) => {
        const code = (err as Kafka.LibrdKafkaError).code;
        if (code !== Kafka.CODES.ERRORS.ERR_UNKNOWN_TOPIC_OR_PART) console.log(`  (could not delete ${topic}: ${(err as Error).message})`);
      });
    }
  } finally {
    admin.disconnect();
  }
}

const producer = new Kafka.Producer({
  'metadata.broker.list': brokers,
  'client.id': 'replay-bench-loader',
  'enable.idempotence': true,
  'linger.ms': 20,
  'batch.size': 1024 * 1024,
  'queue.buffering.max.messages': 500_000,
  dr_cb: true,
});
let backlog: number;
await call<unknown>((cb) => producer.connect({}, (err, data) => cb(err, data)));
producer.setPollInterval(50);
try {
  await ensureTopics(brokers, producer, layout);
  const held = (await ordersHeld(producer)).reduce((sum, o) => sum + o.highOffset - o.lowOffset, 0);
  if (held < records) {
    console.log(`orders holds ${held} records: writing ${records - held} NEW orders`);
    await topUp(producer, records - held);
  }
  const answersFrom = await answerEnds(producer);
  if (answered > 0) {
    console.log(`writing ${answered} NEW orders and both answers to each`);
    await writeAnswered(producer, answered);
  }
  backlog = await placeGroups(producer, answersFrom);
  console.log(`backlog: the last ${backlog} records of orders${answered > 0 ? `, and ${2 * answered} answers` : ''}`);
} finally {
  await disconnectProducer(producer, 5000);
}

/**
 * The stream consumer's lag per partition of a topic (a partition is left out until its
 * end is known; the answer topics, at their end with nothing coming, may never be).
 */
const lagsOf = (text: string, topic: string): number[] =>
  [...text.matchAll(new RegExp(`^kafka_consumer_records_lag\\{topic="${topic}",partition="\\d+"\\} (\\d+)$`, 'gm'))].map((match) => Number(match[1]));
/** A counter's value in a scrape (NaN if absent). */
const counterOf = (text: string, name: string): number => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1]);

const stateDir = mkdtempSync(join(tmpdir(), 'bench-replay-state-'));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const env = { APPLICATION_ID, INSTANCE_ID: 'replay-bench-0', STATE_DIR: stateDir, NUM_PARTITIONS: String(NUM_PARTITIONS), OUTBOX_RELAY_ENABLED: 'false', LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn' };
const nodeArgs = startFlags('.', env);
console.log(`starting the service: node ${[...nodeArgs, 'dist/src/main.cjs'].join(' ')}`);
const started = performance.now();
const service = spawnService(port, env, '.', nodeArgs);
const progress: { t: number; replayed: number; rssMiB: number }[] = [];
try {
  let firstSeen: number | undefined;
  let caughtUpReads = 0;
  let lastPrint = -Infinity;
  let lastReplayed = 0;
  for (;;) {
    if (service.process.exitCode !== null || service.process.signalCode !== null) throw new Error(`the service exited (${service.process.exitCode ?? service.process.signalCode})`);
    const t = (performance.now() - started) / 1000;
    if (t * 1000 > timeoutMs) throw new Error(`not caught up after ${args['timeout-s']} s`);
    const scrape = await fetch(`${base}/actuator/prometheus`).then(async (r) => (r.ok ? r.text() : ''), () => '');
    const lags = lagsOf(scrape, TOPIC_ORDERS);
    const answerLags = answered > 0 ? JOIN_INPUTS.flatMap((topic) => lagsOf(scrape, topic)) : [];
    const behind = lags.reduce((a, b) => a + b, 0);
    if (lags.length === NUM_PARTITIONS) firstSeen ??= t;
    // A transaction's commit marker takes an offset no record is handed out for.
    const answersDone = answered === 0 || (answerLags.length === JOIN_INPUTS.length * NUM_PARTITIONS && answerLags.every((l) => l <= 1));
    caughtUpReads = firstSeen !== undefined && lags.every((l) => l <= 1) && answersDone ? caughtUpReads + 1 : 0;
    const replayed = firstSeen === undefined ? 0 : Math.max(0, backlog - behind);
    if (caughtUpReads >= 2 || t - lastPrint >= 2) {
      const rssMiB = memoryOf(service.process.pid)?.rssMiB ?? NaN;
      const rate = t - lastPrint === Infinity ? 0 : (replayed - lastReplayed) / (t - lastPrint);
      progress.push({ t: Math.round(t * 10) / 10, replayed, rssMiB });
      console.log(`  ... ${t.toFixed(1)} s: ${replayed}/${backlog} records, ${Math.round(rate)}/s, RSS ${rssMiB} MiB${caughtUpReads >= 2 ? ', caught up' : ''}`);
      lastPrint = t;
      lastReplayed = replayed;
    }
    if (caughtUpReads >= 2) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const seconds = (performance.now() - started) / 1000;
  const replaySeconds = seconds - (firstSeen ?? 0);
  const memory = memoryOf(service.process.pid);
  const scrape = await fetch(`${base}/actuator/prometheus`).then((r) => r.text());
  const result = {
    records: backlog,
    answers: 2 * answered,
    seconds: Math.round(seconds * 100) / 100,
    recordsPerSecond: Math.round(backlog / seconds),
    rssMiB: memory?.rssMiB ?? NaN,
    peakRssMiB: memory?.peakRssMiB ?? NaN,
    flowPauses: counterOf(scrape, 'kafka_streams_partition_flow_pauses_total'),
    releasedPastBound: counterOf(scrape, 'kafka_streams_held_records_released_past_bound_total'),
    progress,
  };
  console.table([
    {
      records: result.records,
      'seconds (start → caught up)': result.seconds,
      'records/s': result.recordsPerSecond,
      'assigned at s': Math.round((firstSeen ?? NaN) * 100) / 100,
      'replay records/s (assigned → caught up)': Math.round(backlog / replaySeconds),
      'RSS MiB': result.rssMiB,
      'peak RSS MiB': result.peakRssMiB,
      'flow pauses': result.flowPauses,
      'released past the held bound': result.releasedPastBound,
    },
  ]);
  console.log(`saved: ${saveResults('replay', { machine: m, params, nodeArgs, figures: { ...result, assignedAtSeconds: firstSeen, replaySeconds } })}`);
  console.log(`RESULT ${JSON.stringify(result)}`);
} finally {
  await service.stop();
  rmSync(stateDir, { recursive: true, force: true });
  await deleteInternalTopics();
}
