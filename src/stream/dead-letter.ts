// Records a task cannot deserialize or process go to `recovererDLQ` with their
// original key and bytes, and the reason in headers named as Spring Kafka's
// DeadLetterPublishingRecoverer names them, so existing tooling reads them.
import { TOPIC_DLQ } from '../kafka/topics.js';
import type { InputRecord, OutputRecord } from './protocol.js';

export function deadLetter(record: InputRecord, partition: number, err: unknown): OutputRecord {
  const message = err instanceof Error ? err.message : String(err);
  return {
    topic: TOPIC_DLQ,
    partition,
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
