// The addon's packed consumer (src/native/packed-consumer.ts) against a real
// broker: what it hands over must be exactly what a read_committed consumer sees
// (aborted transactions and their markers left out, per partition in offset order),
// packed as the stream threads read it, with the partition ends and watermarks that
// decide when a restore is complete.
import Kafka from 'node-rdkafka';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureTopics } from '../../src/kafka/admin.js';
import { DeliveringProducer } from '../../src/kafka/producer.js';
import { PackedConsumer, type NativeFetchResult } from '../../src/native/packed-consumer.js';
import { forEachRestoreRecord } from '../../src/stream/restore-batch.js';
import { KAFKA_BOOTSTRAP_SERVERS } from '../support/env.js';

const run = Date.now();
const main = `packed-consumer-${run}`;
const other = `packed-consumer-other-${run}`;
let producer: DeliveringProducer;
const consumers: PackedConsumer[] = [];

interface Seen {
  topic: string;
  partition: number;
  key: string;
  value: string | null;
}

function plainConsumer(): PackedConsumer {
  const f = new PackedConsumer({
    'bootstrap.servers': KAFKA_BOOTSTRAP_SERVERS,
    'group.id': `${main}-unused`,
    'enable.auto.commit': false,
    'enable.partition.eof': true,
    'isolation.level': 'read_committed',
    'fetch.wait.max.ms': 50,
    'auto.offset.reset': 'earliest',
    log_level: 0,
  });
  consumers.push(f);
  return f;
}

function unpack(result: NativeFetchResult, into: Seen[]): void {
  for (const batch of result.batches) {
    let count = 0;
    forEachRestoreRecord(batch, (topic, key, value) => {
      count++;
      into.push({ topic, partition: batch.partition, key: key.toString(), value: value === null ? null : value.toString() });
    });
    expect(count).toBe(batch.count);
  }
}

/** Fetches until every partition in `ends` has reported its end; returns what was read and the EOF offsets. */
async function readToEnd(f: PackedConsumer, ends: readonly string[]): Promise<{ seen: Seen[]; eof: Map<string, number>; positions: Map<string, number> }> {
  const seen: Seen[] = [];
  const eof = new Map<string, number>();
  const positions = new Map<string, number>();
  const deadline = Date.now() + 20_000;
  while (ends.some((tp) => !eof.has(tp))) {
    if (Date.now() > deadline) throw new Error(`no end reported for ${ends.filter((tp) => !eof.has(tp)).join(', ')}`);
    const result = await f.fetch({ maxRecords: 3, maxBytes: 1 << 20, waitMs: 200 });
    expect(result.errors).toEqual([]);
    unpack(result, seen);
    for (const b of result.batches) for (const p of b.positions) positions.set(`${p.topic}:${b.partition}`, p.offset);
    for (const e of result.eofs) eof.set(`${e.topic}:${e.partition}`, e.offset);
  }
  return { seen, eof, positions };
}

beforeAll(async () => {
  producer = await DeliveringProducer.connect({ brokers: KAFKA_BOOTSTRAP_SERVERS, clientId: 'packed-consumer-test', deliveryTimeoutMs: 10_000 });
  await ensureTopics(KAFKA_BOOTSTRAP_SERVERS, producer.client, [
    { name: main, partitions: 2, replicationFactor: 1, coPartitioned: false, config: {} },
    { name: other, partitions: 1, replicationFactor: 1, coPartitioned: false, config: {} },
  ]);
  // main/0 and other/0: plain records.
  await producer.sendAll(Array.from({ length: 7 }, (_, i) => ({ topic: main, partition: 0, key: `a${i}`, value: Buffer.from(`va${i}`) })));
  await producer.sendAll([{ topic: other, partition: 0, key: 'o0', value: Buffer.from('vo0') }]);
  // main/1: an aborted transaction, then a committed one with a tombstone.
  const tx = new Kafka.Producer({ 'metadata.broker.list': KAFKA_BOOTSTRAP_SERVERS, 'transactional.id': `${main}-tx`, dr_cb: false });
  await new Promise<void>((resolve, reject) => tx.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
  const call = (fn: (cb: (err: Kafka.LibrdKafkaError | null | undefined) => void) => void): Promise<void> => new Promise((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));
  try {
    await call((cb) => tx.initTransactions(10_000, cb));
    await call((cb) => tx.beginTransaction(cb));
    for (let i = 0; i < 3; i++) tx.produce(main, 1, Buffer.from(`aborted${i}`), `x${i}`);
    // Written to the log before the abort (an abort purges what is still unsent).
    await call((cb) => tx.flush(10_000, cb));
    await call((cb) => tx.abortTransaction(10_000, cb));
    await call((cb) => tx.beginTransaction(cb));
    tx.produce(main, 1, Buffer.from('vb0'), 'b0');
    tx.produce(main, 1, null, 'b1');
    await call((cb) => tx.commitTransaction(10_000, cb));
  } finally {
    await new Promise<void>((resolve) => tx.disconnect(() => resolve()));
  }
}, 60_000);

afterAll(async () => {
  for (const f of consumers) await f.close();
  await producer?.close();
});

it('hands over exactly the committed records, per partition in order, packed, with each partition\'s end', { timeout: 30_000 }, async () => {
  const f = plainConsumer();
  f.assign([
    { topic: main, partition: 0, offset: 0 },
    { topic: main, partition: 1, offset: 0 },
    { topic: other, partition: 0, offset: 0 },
  ]);
  const { seen, eof, positions } = await readToEnd(f, [`${main}:0`, `${main}:1`, `${other}:0`]);
  const of = (topic: string, partition: number): Seen[] => seen.filter((s) => s.topic === topic && s.partition === partition);
  expect(of(main, 0).map((s) => [s.key, s.value])).toEqual(Array.from({ length: 7 }, (_, i) => [`a${i}`, `va${i}`]));
  expect(of(other, 0).map((s) => [s.key, s.value])).toEqual([['o0', 'vo0']]);
  // The aborted records and both transaction markers are left out; the tombstone is kept as null.
  expect(of(main, 1).map((s) => [s.key, s.value])).toEqual([
    ['b0', 'vb0'],
    ['b1', null],
  ]);
  // Positions: after the last record taken. main/1: 3 aborted + marker + 2 = offsets 0..5, then the commit marker at 6.
  expect(positions.get(`${main}:0`)).toBe(7);
  expect(positions.get(`${main}:1`)).toBe(6);
  // The end of main/1 is past its commit marker: a restore closes on the EOF, which no record reaches.
  expect(eof.get(`${main}:0`)).toBe(7);
  expect(eof.get(`${main}:1`)).toBe(7);
  expect(eof.get(`${other}:0`)).toBe(1);
  expect(await f.watermarks(main, 1, 10_000)).toEqual({ lowOffset: 0, highOffset: 7 });
});

it('starts a partition at the offset it is assigned from, and stops reading one that is unassigned', { timeout: 30_000 }, async () => {
  const f = plainConsumer();
  f.assign([{ topic: main, partition: 0, offset: 4 }]);
  const first = await readToEnd(f, [`${main}:0`]);
  expect(first.seen.map((s) => s.key)).toEqual(['a4', 'a5', 'a6']);

  f.assign([{ topic: other, partition: 0, offset: 0 }]);
  f.unassign([{ topic: main, partition: 0 }]);
  await producer.sendAll([{ topic: main, partition: 0, key: 'late', value: Buffer.from('late') }]);
  const second = await readToEnd(f, [`${other}:0`]);
  expect(second.seen.map((s) => `${s.topic}:${s.key}`)).toEqual([`${other}:o0`]);
  // Nothing of the unassigned partition comes later either.
  const after = await f.fetch({ maxRecords: 100, maxBytes: 1 << 20, waitMs: 500 });
  expect(after.batches.filter((b) => b.topics.includes(main))).toEqual([]);
});

it('takes at most maxRecords records per fetch, across partitions', { timeout: 30_000 }, async () => {
  const f = plainConsumer();
  f.assign([
    { topic: main, partition: 0, offset: 0 },
    { topic: main, partition: 1, offset: 0 },
  ]);
  let total = 0;
  const ends = new Set<string>();
  const deadline = Date.now() + 20_000;
  while (ends.size < 2 && Date.now() < deadline) {
    const r = await f.fetch({ maxRecords: 2, maxBytes: 1 << 20, waitMs: 200 });
    const count = r.batches.reduce((n, b) => n + b.count, 0);
    expect(count).toBeLessThanOrEqual(2);
    total += count;
    for (const e of r.eofs) ends.add(`${e.topic}:${e.partition}`);
  }
  // Every record of main/0 (no transactions there) and main/1's two committed ones.
  const { highOffset } = await f.watermarks(main, 0, 10_000);
  expect(total).toBe(highOffset + 2);
});

it('reports client errors (no broker there) to takeErrors while it has nothing to fetch, and to fetches', { timeout: 30_000 }, async () => {
  const away = new PackedConsumer({ 'bootstrap.servers': '127.0.0.1:1', 'group.id': 'packed-consumer-away', 'reconnect.backoff.max.ms': 200, log_level: 0 });
  consumers.push(away);
  away.assign([{ topic: main, partition: 0, offset: 0 }]);
  const errors: { code: number; message: string }[] = [];
  const deadline = Date.now() + 10_000;
  while (errors.length === 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    errors.push(...away.takeErrors());
  }
  // Local: Broker transport failure (-195) or All broker connections are down (-187).
  expect(errors.some((e) => e.code === -195 || e.code === -187)).toBe(true);
  // What comes later is handed to the next fetch.
  let fromFetch: { code: number }[] = [];
  const until = Date.now() + 10_000;
  while (fromFetch.length === 0 && Date.now() < until) fromFetch = (await away.fetch({ maxRecords: 10, maxBytes: 1 << 20, waitMs: 300 })).errors;
  expect(fromFetch.length).toBeGreaterThan(0);
});

it('keeps only the records whose value holds one of the strings, with their offsets; the others only move the position', { timeout: 30_000 }, async () => {
  const f = new PackedConsumer(
    { 'bootstrap.servers': KAFKA_BOOTSTRAP_SERVERS, 'group.id': `${main}-filter`, 'enable.partition.eof': true, 'isolation.level': 'read_committed', 'auto.offset.reset': 'earliest', log_level: 0 },
    { valueContains: ['va2', 'va5'], offsets: true },
  );
  consumers.push(f);
  f.assign([{ topic: main, partition: 0, offset: 0 }, { topic: main, partition: 1, offset: 0 }]);
  const kept: [string, number][] = [];
  const positions = new Map<number, number>();
  const ends = new Set<number>();
  const deadline = Date.now() + 20_000;
  while (ends.size < 2 && Date.now() < deadline) {
    const r = await f.fetch({ maxRecords: 100, maxBytes: 1 << 20, waitMs: 200 });
    for (const b of r.batches) {
      let i = 0;
      forEachRestoreRecord(b, (_topic, key) => kept.push([key.toString(), b.offsets![i++]!]));
      expect(i).toBe(b.count);
      for (const p of b.positions) positions.set(b.partition, p.offset);
    }
    for (const e of r.eofs) ends.add(e.partition);
  }
  expect(kept).toEqual([
    ['a2', 2],
    ['a5', 5],
  ]);
  // main/1 had nothing to keep (its tombstone included): its position still passed its records.
  expect(positions.get(1)).toBe(6);
  expect(positions.get(0)).toBe((await f.watermarks(main, 0, 10_000)).highOffset);
  expect(() => new PackedConsumer({ 'bootstrap.servers': KAFKA_BOOTSTRAP_SERVERS }, { valueContains: [''] })).toThrow(TypeError);
});

it('refuses bad arguments, one fetch at a time, and use after close', async () => {
  const f = plainConsumer();
  expect(() => f.assign([{ topic: main, partition: -1, offset: 0 }])).toThrow(RangeError);
  expect(() => f.assign([{ topic: '', partition: 0, offset: 0 }])).toThrow(TypeError);
  expect(() => f.fetch({ maxRecords: 0, maxBytes: 1, waitMs: 0 })).toThrow(RangeError);
  expect(() => new PackedConsumer({ 'no.such.property': 'x' })).toThrow(/no\.such\.property/);
  const running = f.fetch({ maxRecords: 1, maxBytes: 1, waitMs: 300 });
  await expect(f.fetch({ maxRecords: 1, maxBytes: 1, waitMs: 0 })).rejects.toThrow(/already running/);
  await running;
  await f.close();
  await f.close();
  await expect(f.fetch({ maxRecords: 1, maxBytes: 1, waitMs: 0 })).rejects.toThrow(/closed/);
  await expect(f.watermarks(main, 0, 1000)).rejects.toThrow(/closed/);
});
