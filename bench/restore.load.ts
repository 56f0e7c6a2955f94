// Restore speed (the performance issue, item 5): how fast a service with an empty
// state directory restores orders-store from its changelog.
//
//   npm run build && npm run infra:up && npm run bench:restore -- [--records 1000000]
//
// 1. The changelog of orders-store of a bench application id is filled with N
//    OrderDto values (keys and values as the tasks write them: the order id as text,
//    the OrderDto JSON), each on its key's partition, with a plain idempotent producer.
//    A changelog that already holds N records or more is reused as it is.
// 2. The group's committed offsets on its input topics are moved to their ends, so the
//    service restores and does not go on to replay what other runs left on them.
// 3. The service starts on an empty STATE_DIR; from its start until it is ready (every
//    task restored and running), kafka_streams_restore_records_total is read every
//    250 ms and printed every 2 s. Then: records, seconds, records/s, the service's RSS;
//    and the restore alone: from its HTTP answering first (its tasks' restores begin
//    then) to ready, which leaves out the process's start (loading, connecting).
//
// The last line of stdout is `RESULT {json}` for tools that compare runs.
// KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL are passed on to the service.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Kafka from 'node-rdkafka';
import { orderDtoJson } from '../src/domain/order-json.js';
import { ensureTopics } from '../src/kafka/admin.js';
import { disconnectProducer } from '../src/kafka/connect.js';
import { partitionFor } from '../src/kafka/partitioner.js';
import { JOIN_INPUTS, ORDERS_STORE, TOPIC_ORDERS, changelogTopic, topicLayout } from '../src/kafka/topics.js';
import { call, commitGroupOffsets, produceAll, watermarks } from './bench-kafka.js';
import { freePort, memoryOf, spawnService } from './children.js';
import { printMachine, saveResults } from './machine.js';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    'timeout-s': { type: 'string', default: '600' },
  },
});
const records = Number(args.records);
const timeoutMs = Number(args['timeout-s']) * 1000;
const APPLICATION_ID = 'order-service-restore-bench';
const INSTANCE_ID = 'restore-bench-0';
const NUM_PARTITIONS = 6;
const brokers = process.env.KAFKA_BOOTSTRAP_SERVERS ?? '127.0.0.1:9092';
const changelog = changelogTopic(APPLICATION_ID, ORDERS_STORE);
const params = { records, applicationId: APPLICATION_ID, changelog, partitions: NUM_PARTITIONS };
const m = printMachine('restore of orders-store from its changelog into an empty state dir', params);

// Ids shaped like the service's (src/domain/ids.ts: ms since 2025 << 12 | node << 7 | sequence).
const ID_BASE = (Date.UTC(2025, 5, 1) - Date.UTC(2025, 0, 1)) * 2 ** 12;
const STATUSES = ['CONFIRMED', 'CONFIRMED', 'CONFIRMED', 'REJECTED', 'ROLLBACK'] as const;
const SOURCES = ['PAYMENT', 'INVENTORY'] as const;

/** The n-th bench order as the table processor stores it: its OrderDto JSON. */
function orderValue(n: number): { key: string; value: Buffer } {
  const orderId = ID_BASE + n;
  const status = STATUSES[n % STATUSES.length]!;
  const items = Array.from({ length: 1 + (n % 3) }, (_, i) => ({
    itemId: orderId * 4 + i,
    productCode: `P${String(1 + ((n + i * 37) % 100)).padStart(3, '0')}`,
    quantity: 1 + ((n + i) % 5),
    priceCents: 100 + ((n * 7919 + i * 104_729) % 99_900),
  }));
  const source = status === 'CONFIRMED' ? null : SOURCES[n % 2]!;
  return { key: String(orderId), value: Buffer.from(orderDtoJson({ orderId, customerId: 1 + (n % 5000), status, source, items })) };
}

async function connectProducer(): Promise<Kafka.Producer> {
  const producer = new Kafka.Producer({
    'metadata.broker.list': brokers,
    'client.id': `${APPLICATION_ID}-loader`,
    'enable.idempotence': true,
    // As the service's transactional producer writes changelogs.
    'compression.codec': 'lz4',
    'linger.ms': 20,
    'batch.size': 1024 * 1024,
    'queue.buffering.max.messages': 500_000,
    'queue.buffering.max.kbytes': 512 * 1024,
    dr_cb: true,
  });
  await call<unknown>((cb) => producer.connect({}, (err, data) => cb(err, data)));
  producer.setPollInterval(50);
  return producer;
}

/** Records in the changelog now (high minus low watermark over its partitions). */
async function changelogRecords(producer: Kafka.Producer): Promise<number> {
  let n = 0;
  for (let p = 0; p < NUM_PARTITIONS; p++) {
    const o = await watermarks(producer, changelog, p);
    n += o.highOffset - o.lowOffset;
  }
  return n;
}

/** Produces orders `from` .. `to` - 1 to the changelog, each on its key's partition. */
async function fill(producer: Kafka.Producer, from: number, to: number): Promise<void> {
  const started = Date.now();
  await produceAll(
    producer,
    to - from,
    (i) => {
      const { key, value } = orderValue(from + i);
      return { topic: changelog, partition: partitionFor(key, NUM_PARTITIONS), key, value };
    },
    'changelog',
  );
  console.log(`changelog: ${to - from} records written in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/**
 * Moves the committed offsets of the service's groups (the stream group, its status
 * projector) to the end of their inputs: the run measures the restore, and the service
 * must not go on to join and decide what other runs left on the shared topics.
 */
async function skipInputs(producer: Kafka.Producer): Promise<void> {
  const groups: [string, readonly string[]][] = [
    [APPLICATION_ID, [TOPIC_ORDERS, ...JOIN_INPUTS]],
    [`${APPLICATION_ID}-status-projector`, [TOPIC_ORDERS]],
  ];
  for (const [groupId, topics] of groups) {
    const ends: Kafka.TopicPartitionOffset[] = [];
    for (const topic of topics) {
      for (let partition = 0; partition < NUM_PARTITIONS; partition++) {
        const { highOffset } = await watermarks(producer, topic, partition);
        ends.push({ topic, partition, offset: highOffset });
      }
    }
    const failed = await commitGroupOffsets(brokers, groupId, ends);
    if (failed !== undefined) console.log(`  (could not move ${groupId}'s offsets to the end: ${failed}; it may replay some input after the restore)`);
  }
}

/** Records the restore has to read: the whole changelog (the join store's is empty). */
let changelogSize = records;
const producer = await connectProducer();
try {
  await ensureTopics(brokers, producer, topicLayout({ numPartitions: NUM_PARTITIONS, replicationFactor: 1, applicationId: APPLICATION_ID }));
  const existing = await changelogRecords(producer);
  if (existing >= records) console.log(`changelog ${changelog} holds ${existing} records already (>= ${records}): reused`);
  else await fill(producer, existing, records);
  changelogSize = Math.max(existing, records);
  await skipInputs(producer);
} finally {
  await disconnectProducer(producer, 5000);
}

interface Sample {
  readonly t: number;
  readonly restored: number;
}

const restoredIn = (text: string): number => Number(/^kafka_streams_restore_records_total(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? 0);

const stateDir = mkdtempSync(join(tmpdir(), 'bench-restore-state-'));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const started = performance.now();
const service = spawnService(port, {
  APPLICATION_ID,
  INSTANCE_ID,
  STATE_DIR: stateDir,
  NUM_PARTITIONS: String(NUM_PARTITIONS),
  OUTBOX_RELAY_ENABLED: 'false',
  LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
});
const progress: Sample[] = [];
try {
  let restored = 0;
  let ready = false;
  let lastPrint = 0;
  /** When the service first answered HTTP: it registers its tasks' restores right then. */
  let upAt: number | undefined;
  const scrape = (): Promise<number> => fetch(`${base}/actuator/prometheus`).then(async (r) => (r.ok ? restoredIn(await r.text()) : restored), () => restored);
  while (!ready) {
    if (service.process.exitCode !== null) throw new Error(`the service exited with ${service.process.exitCode}`);
    const t = (performance.now() - started) / 1000;
    if (t * 1000 > timeoutMs) throw new Error(`not restored after ${args['timeout-s']} s`);
    const answer = await fetch(`${base}/actuator/health/readiness`).then((r) => r.status, () => 0);
    ready = answer === 200;
    if (answer !== 0) upAt ??= t;
    restored = await scrape();
    if (ready || t - lastPrint >= 2) {
      lastPrint = t;
      progress.push({ t: Math.round(t * 10) / 10, restored });
      console.log(`  ... ${t.toFixed(1)} s: ${restored} records restored${ready ? ', ready' : ''}`);
    }
    if (!ready) await new Promise((r) => setTimeout(r, 250));
  }
  const seconds = (performance.now() - started) / 1000;
  const memory = memoryOf(service.process.pid);
  restored = await scrape();
  const restoreSeconds = seconds - (upAt ?? 0);
  // Ready means every task read its changelog to the end: all of it is restored. (The
  // counter is refreshed by the service now and then, and may trail by a step or two.)
  if (restored < changelogSize) console.log(`  (kafka_streams_restore_records_total says ${restored}; the changelog holds ${changelogSize})`);
  const result = {
    records: changelogSize,
    seconds: Math.round(seconds * 100) / 100,
    recordsPerSecond: Math.round(changelogSize / seconds),
    rssMiB: memory?.rssMiB ?? NaN,
    progress,
  };
  console.table([
    {
      records: result.records,
      'seconds (start → ready)': result.seconds,
      'records/s': result.recordsPerSecond,
      'HTTP up at s': Math.round((upAt ?? NaN) * 100) / 100,
      'restore s (up → ready)': Math.round(restoreSeconds * 100) / 100,
      'restore records/s': Math.round(changelogSize / restoreSeconds),
      'RSS MiB': result.rssMiB,
      'peak RSS MiB': memory?.peakRssMiB ?? NaN,
    },
  ]);
  console.log(`saved: ${saveResults('restore', { machine: m, params, figures: { ...result, peakRssMiB: memory?.peakRssMiB, upAtSeconds: upAt, restoreSeconds } })}`);
  console.log(`RESULT ${JSON.stringify(result)}`);
} finally {
  await service.stop();
  rmSync(stateDir, { recursive: true, force: true });
}
