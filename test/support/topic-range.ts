// Reads a bounded slice of a topic: from offsets taken earlier to the end as it is now,
// with a plain assigned consumer. For counting what was published between two moments
// without waiting "long enough" for stragglers: everything acknowledged before the call
// lies below the end it snapshots.
//
// read_uncommitted, so the slice ends at the high watermark even while a stream
// transaction is open; the outbox's records are not transactional, and the stream's
// decisions (aborted ones included) are told apart by their value, not counted here.
import type Kafka from 'node-rdkafka';
import { pollBatch } from '../../src/kafka/poll.js';
import { KAFKA_BOOTSTRAP_SERVERS } from './env.js';
import { connect, partitionsOf, toRecord, type ReadRecord } from './topic-reader.js';
import { waitFor } from './wait.js';

export type Offsets = ReadonlyMap<number, number>;

const connected = (): Promise<Kafka.KafkaConsumer> =>
  connect(KAFKA_BOOTSTRAP_SERVERS, { 'enable.partition.eof': true, 'isolation.level': 'read_uncommitted' });

async function ends(consumer: Kafka.KafkaConsumer, topic: string): Promise<Map<number, number>> {
  const entries = await Promise.all(
    (await partitionsOf(consumer, topic)).map(
      (p) =>
        new Promise<[number, number]>((resolve, reject) =>
          consumer.queryWatermarkOffsets(topic, p, 10_000, (err, o) => (err ? reject(err) : resolve([p, o.highOffset]))),
        ),
    ),
  );
  return new Map(entries);
}

/** The end (high watermark) of every partition of `topic` now. */
export async function endOffsets(topic: string): Promise<Offsets> {
  const consumer = await connected();
  try {
    return await ends(consumer, topic);
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}

/** Every record of `topic` from `from` (per partition) to the end as it is at the call. */
export async function readRange(topic: string, from: Offsets): Promise<ReadRecord[]> {
  const consumer = await connected();
  try {
    const to = await ends(consumer, topic);
    const open = new Map([...to].filter(([p, end]) => end > (from.get(p) ?? 0)));
    const records: ReadRecord[] = [];
    if (open.size === 0) return records;
    consumer.on('partition.eof', (eof) => {
      if (eof.offset >= (to.get(eof.partition) ?? 0)) open.delete(eof.partition);
    });
    consumer.assign([...open.keys()].map((partition) => ({ topic, partition, offset: from.get(partition) ?? 0 })));
    await waitFor(`the end of ${topic}`, async () => {
      for (const m of await pollBatch(consumer, 1000, 200)) {
        const end = to.get(m.partition) ?? 0;
        if (m.offset >= end) continue;
        records.push(toRecord(m, performance.now()));
        if (m.offset + 1 >= end) open.delete(m.partition);
      }
      return open.size === 0 ? true : undefined;
    });
    return records;
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}
