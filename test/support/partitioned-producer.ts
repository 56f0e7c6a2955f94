// A producer that partitions as a client outside this repo might: librdkafka's own
// default, consistent_random (CRC32 of the key), is what Python, Go and C# clients use
// out of the box; murmur2_random is the Java client's. Resolves with the partition
// each record was written to.
import Kafka from 'node-rdkafka';
import { disconnectProducer } from '../../src/kafka/connect.js';
import { KAFKA_BOOTSTRAP_SERVERS } from './env.js';

export type Partitioner = 'consistent_random' | 'murmur2_random';

export interface RawRecord {
  readonly topic: string;
  readonly key: string;
  readonly value: Buffer;
}

export async function produceWith(partitioner: Partitioner, records: readonly RawRecord[]): Promise<number[]> {
  const producer = new Kafka.Producer(
    { 'metadata.broker.list': KAFKA_BOOTSTRAP_SERVERS, dr_cb: true, 'enable.idempotence': true },
    { acks: -1, partitioner },
  );
  await new Promise<void>((resolve, reject) => producer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
  producer.setPollInterval(5);
  try {
    const partitions: number[] = [];
    await new Promise<void>((resolve, reject) => {
      let pending = records.length;
      producer.on('delivery-report', (err, report) => {
        if (err) reject(err);
        partitions[report.opaque as number] = report.partition;
        if (--pending === 0) resolve();
      });
      records.forEach((r, i) => producer.produce(r.topic, null, r.value, r.key, Date.now(), i));
    });
    return partitions;
  } finally {
    await disconnectProducer(producer, 5000);
  }
}
