// Kafka chores of the benches that prepare a broker before starting the service
// (restore.load.ts, replay.load.ts): callbacks as promises, watermarks on a topic just
// created, and a consumer group's offsets set before its first member joins.
import Kafka from 'node-rdkafka';

export function call<T>(fn: (cb: (err: Kafka.LibrdKafkaError | null | undefined, v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

type WatermarkClient = Pick<Kafka.Producer, 'queryWatermarkOffsets'>;

/**
 * A partition's watermarks. On a broker where ensureTopics has just created the topic,
 * the client's metadata does not know its partitions yet (Local: Unknown partition):
 * asked again until it does, for up to 30 s.
 */
export async function watermarks(client: WatermarkClient, topic: string, partition: number): Promise<Kafka.WatermarkOffsets> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await call<Kafka.WatermarkOffsets>((cb) => {
        client.queryWatermarkOffsets(topic, partition, 10_000, cb);
      });
    } catch (err) {
      const code = (err as Kafka.LibrdKafkaError).code;
      const unknown = code === Kafka.CODES.ERRORS.ERR__UNKNOWN_PARTITION || code === Kafka.CODES.ERRORS.ERR_UNKNOWN_TOPIC_OR_PART;
      if (!unknown || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/**
 * Commits `offsets` for `groupId` (no member must be in the group): where its members
 * start. Returns why it could not, or undefined.
 */
export async function commitGroupOffsets(brokers: string, groupId: string, offsets: Kafka.TopicPartitionOffset[]): Promise<string | undefined> {
  const consumer = new Kafka.KafkaConsumer({ 'metadata.broker.list': brokers, 'group.id': groupId, 'enable.auto.commit': false }, {});
  await call<unknown>((cb) => consumer.connect({}, (err, data) => cb(err, data)));
  try {
    consumer.assign(offsets);
    consumer.commitSync(offsets);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}

export interface BenchRecord {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  readonly value: Buffer;
}

/**
 * Produces `count` records (the n-th from `recordAt(n)`) through a producer made with
 * `dr_cb: true`, waiting on a full queue, and returns once every one is acknowledged;
 * the first failed delivery fails it. Progress every 2 s, named `what`.
 */
export async function produceAll(producer: Kafka.Producer, count: number, recordAt: (n: number) => BenchRecord, what: string): Promise<void> {
  let delivered = 0;
  let failure: Error | undefined;
  const onReport = (err: Kafka.LibrdKafkaError | null | undefined): void => {
    if (err) failure ??= new Error(`${what}: a write failed: ${err.message}`);
    else delivered++;
  };
  producer.on('delivery-report', onReport);
  const progress = setInterval(() => console.log(`  ... ${what}: ${delivered}/${count} records written`), 2000);
  try {
    for (let n = 0; n < count && failure === undefined; n++) {
      const r = recordAt(n);
      for (;;) {
        try {
          producer.produce(r.topic, r.partition, r.value, r.key, Date.now());
          break;
        } catch (err) {
          if ((err as Kafka.LibrdKafkaError).code !== Kafka.CODES.ERRORS.ERR__QUEUE_FULL) throw err;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    }
    await call<void>((cb) => producer.flush(120_000, (err) => cb(err, undefined)));
    while (delivered < count && failure === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    clearInterval(progress);
    producer.removeListener('delivery-report', onReport);
  }
  if (failure !== undefined) throw failure;
}
