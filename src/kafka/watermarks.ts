// A partition's low and high watermarks from the broker (librdkafka's
// query_watermark_offsets: a round trip, holding a libuv thread while it waits), as a
// promise. Producers and consumers both answer it.
import type Kafka from 'node-rdkafka';

type WatermarkClient = Pick<Kafka.Producer, 'queryWatermarkOffsets'> | Pick<Kafka.KafkaConsumer, 'queryWatermarkOffsets'>;

export function queryWatermarks(client: WatermarkClient, topic: string, partition: number, timeoutMs: number): Promise<Kafka.WatermarkOffsets> {
  return new Promise<Kafka.WatermarkOffsets>((resolve, reject) => {
    client.queryWatermarkOffsets(topic, partition, timeoutMs, (err, offsets) => (err ? reject(err) : resolve(offsets)));
  });
}
