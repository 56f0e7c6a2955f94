// Where the integration tests find the local infrastructure (scripts/infra-up.sh).
export const KAFKA_BOOTSTRAP_SERVERS = process.env.KAFKA_BOOTSTRAP_SERVERS ?? '127.0.0.1:9092';
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/order_service_test';
export const NUM_PARTITIONS = 6;
