// A poll with Java's semantics: wait up to `waitMs` for the first record, then take
// whatever else librdkafka has already fetched, up to `max`, without waiting again.
//
// node-rdkafka's consume(n) does not do that: it calls rd_kafka_consumer_poll once per
// message, each with the whole consume timeout, and returns only when n are in hand or
// one of those waits times out (node-rdkafka #716; the fix, PR #1053, is unmerged).
// Under a steady stream with gaps shorter than the timeout, a batch of 1000 waits for
// 1000 arrivals: measured here, the stream loop's poll took ~0.5 s at 500 orders/s,
// which delayed every commit and so every decision. Two calls avoid it: one record
// with the wait, then the rest with a timeout of 0, which ends at the local queue's end.
import type Kafka from 'node-rdkafka';

function consume(consumer: Kafka.KafkaConsumer, max: number, timeoutMs: number): Promise<Kafka.Message[]> {
  consumer.setDefaultConsumeTimeout(timeoutMs);
  return new Promise((resolve, reject) => consumer.consume(max, (err, messages) => (err ? reject(err) : resolve(messages))));
}

/** Up to `max` records: waits at most `waitMs` for the first, not at all for the rest. */
export async function pollBatch(consumer: Kafka.KafkaConsumer, max: number, waitMs: number): Promise<Kafka.Message[]> {
  const first = await consume(consumer, 1, waitMs);
  if (first.length === 0 || max <= 1) return first;
  const rest = await consume(consumer, max - 1, 0);
  return rest.length === 0 ? first : first.concat(rest);
}
