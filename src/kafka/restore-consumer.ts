// Restores task stores from their changelogs: from the checkpoint offset (or the
// beginning) to the end, read_committed, with progress in the logs. A plain assigned
// consumer, never a group member, and never committing offsets: the checkpoint file
// is the position of a restored store (ProcessorStateManager's job in Kafka Streams).
import Kafka from 'node-rdkafka';
import { EngineError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ChangelogPosition, RestoreRecord } from '../stream/protocol.js';

export interface RestoreProgress {
  readonly restored: number;
  readonly remaining: number;
}

function watermarks(c: Kafka.KafkaConsumer, topic: string, partition: number): Promise<Kafka.WatermarkOffsets> {
  return new Promise((resolve, reject) => {
    c.queryWatermarkOffsets(topic, partition, 10_000, (err, o) => (err ? reject(err) : resolve(o)));
  });
}

/** Reads every changelog from its position to its end, handing batches to `apply`. */
export async function restoreChangelogs(
  brokers: string,
  groupId: string,
  positions: readonly ChangelogPosition[],
  apply: (partition: number, records: RestoreRecord[]) => Promise<void>,
  log: Logger,
  onClientError?: (err: Kafka.LibrdKafkaError) => void,
  timeoutMs = 600_000,
): Promise<number> {
  if (positions.length === 0) return 0;
  const consumer = new Kafka.KafkaConsumer(
    {
      'metadata.broker.list': brokers,
      'group.id': groupId,
      'enable.auto.commit': false,
      'enable.partition.eof': true,
      'isolation.level': 'read_committed',
      'fetch.max.bytes': 16 * 1024 * 1024,
    },
    { 'auto.offset.reset': 'earliest' },
  );
  if (onClientError !== undefined) consumer.on('event.error', onClientError);
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 30_000 }, (err) => (err ? reject(err) : resolve())));
  try {
    const open = new Map<string, { position: ChangelogPosition; high: number }>();
    let total = 0;
    for (const p of positions) {
      const { highOffset } = await watermarks(consumer, p.topic, p.partition);
      if (highOffset > p.offset) {
        open.set(`${p.topic}:${p.partition}`, { position: p, high: highOffset });
        total += highOffset - p.offset;
      }
    }
    if (open.size === 0) return 0;
    log.info({ changelogs: [...open.keys()], upTo: total }, 'restore: started');
    consumer.on('partition.eof', (eof) => open.delete(`${eof.topic}:${eof.partition}`));
    consumer.assign([...open.values()].map(({ position: p }) => ({ topic: p.topic, partition: p.partition, offset: p.offset })));

    const deadline = Date.now() + timeoutMs;
    let restored = 0;
    let lastLog = Date.now();
    while (open.size > 0) {
      if (Date.now() > deadline) throw new EngineError('ORD_ERR_KAFKA', `restore did not reach the end of ${[...open.keys()].join(', ')} in ${timeoutMs} ms`);
      const messages = await new Promise<Kafka.Message[]>((resolve, reject) => consumer.consume(2000, (err, m) => (err ? reject(err) : resolve(m))));
      const byPartition = new Map<number, RestoreRecord[]>();
      for (const m of messages) {
        let list = byPartition.get(m.partition);
        if (list === undefined) byPartition.set(m.partition, (list = []));
        list.push({ topic: m.topic, key: m.key === null || m.key === undefined ? '' : m.key.toString(), value: m.value ?? null });
        const k = `${m.topic}:${m.partition}`;
        const entry = open.get(k);
        // The end may be a transaction marker, which no message reaches: EOF closes it.
        if (entry !== undefined && m.offset + 1 >= entry.high) open.delete(k);
      }
      for (const [partition, records] of byPartition) await apply(partition, records);
      restored += messages.length;
      if (Date.now() - lastLog > 2000) {
        lastLog = Date.now();
        log.info({ restored, of: total }, 'restore: progress');
      }
    }
    log.info({ restored }, 'restore: done');
    return restored;
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}
