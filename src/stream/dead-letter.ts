// Records a task cannot deserialize or process go to `recovererDLQ` with their
// original key and bytes, and the reason in headers named as Spring Kafka's
// DeadLetterPublishingRecoverer names them, so existing tooling reads them.
//
// The partition follows the recoverer's rule: the original record's partition, which
// needs a DLQ with at least as many partitions as the inputs (checked at start). A
// smaller DLQ would make that send fail, the transaction abort and the same poison
// record come back forever; there the dead letter goes by its key instead (Kafka's
// default partitioner), and a record without a key to the partition it would wrap to.
import { partitionFor } from '../kafka/partitioner.js';
import { TOPIC_DLQ } from '../kafka/topics.js';
import type { InputRecord, OutputRecord } from './protocol.js';

export function deadLetterPartition(key: string | null, partition: number, dlqPartitions: number): number {
  if (partition < dlqPartitions) return partition;
  return key === null ? partition % dlqPartitions : partitionFor(key, dlqPartitions);
}

export function deadLetter(record: InputRecord, partition: number, dlqPartitions: number, err: unknown): OutputRecord {
  const message = err instanceof Error ? err.message : String(err);
  return {
    topic: TOPIC_DLQ,
    partition: deadLetterPartition(record.key, partition, dlqPartitions),
    key: record.key ?? '',
    value: record.value,
    headers: [
      { 'kafka_dlt-exception-message': message.slice(0, 1000) },
      { 'kafka_dlt-exception-fqcn': err instanceof Error ? err.name : 'Error' },
      { 'kafka_dlt-original-topic': record.topic },
      { 'kafka_dlt-original-partition': String(partition) },
      { 'kafka_dlt-original-offset': String(record.offset) },
    ],
  };
}
