// Consumer lag of the stream engine's group consumer, per input partition: how many
// records the partition's end is ahead of the consumer's position. Both come from
// librdkafka's local state, with no broker round trip: the position is the next offset
// the application will be handed (rd_kafka_position), the end is the high watermark
// cached from the last fetch response (rd_kafka_get_watermark_offsets), so a scrape
// costs a few lock-protected reads per partition. Its statistics JSON
// (statistics.interval.ms) carries a consumer_lag too, but measured from the offset
// the consumer last committed itself, which a transactional commit
// (sendOffsetsToTransaction, by the producer) never updates, and at the price of
// serialising and parsing every broker, topic and partition each interval.
import type Kafka from 'node-rdkafka';

export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  readonly lag: number;
}

/**
 * Records between a position and the partition's end; undefined while either is unknown
 * (librdkafka's negative sentinels). A partition that was never written (end 0) has no
 * lag whatever the position: librdkafka reports no position until it has handed the
 * application a record, so an empty input had no series at all, and a reader waiting
 * for the lag to be known (the benchmarks, on a fresh broker) waited for ever.
 */
export function partitionLag(position: number | undefined, end: number | undefined): number | undefined {
  if (end === 0) return 0;
  if (position === undefined || end === undefined || position < 0 || end < 0) return undefined;
  return Math.max(0, end - position);
}

/** The lag of every assigned partition whose position and end are known. */
export function consumerLag(consumer: Kafka.KafkaConsumer): PartitionLag[] {
  let positions: Kafka.TopicPartitionOffset[];
  try {
    const assigned = consumer.assignments();
    if (assigned.length === 0) return [];
    positions = consumer.position(assigned);
  } catch {
    return []; // disconnected (a consumer being replaced): no figure rather than a wrong one
  }
  const out: PartitionLag[] = [];
  for (const p of positions) {
    let end: number | undefined;
    try {
      end = consumer.getWatermarkOffsets(p.topic, p.partition).highOffset;
    } catch {
      end = undefined;
    }
    const lag = partitionLag(p.offset, end);
    if (lag !== undefined) out.push({ topic: p.topic, partition: p.partition, lag });
  }
  return out;
}
