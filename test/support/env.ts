import { tmpdir } from 'node:os';
import { join } from 'node:path';
// Where the integration tests find their infrastructure. They run their own Kafka
// broker (test/integration/global-setup.ts: fresh data each run, its own ports), so
// a broker with history or a dev session's load never slows or skews them.
export const TEST_KAFKA_PORT = Number(process.env.TEST_KAFKA_PORT ?? 19092);
export const KAFKA_BOOTSTRAP_SERVERS = `127.0.0.1:${TEST_KAFKA_PORT}`;
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/order_service_test';
export const NUM_PARTITIONS = 6;
/**
 * The JVM flags of every broker a test starts (scripts/infra-up.sh's KAFKA_JVM_OPTS; the
 * environment's own wins). C1 only: a broker's C2 compiler took a tenth of both cores for
 * minutes after its start, and three of them (the cluster tests) left the engine under
 * test starved of CPU; a test's broker never runs long enough to repay it. Serial GC:
 * a 512 MiB heap needs no concurrent collector threads.
 */
export const TEST_KAFKA_JVM_OPTS = process.env.KAFKA_JVM_OPTS ?? '-Xms256m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1';

// The private Postgres cluster that outage tests stop (scripts/pg-private.sh). Its data
// folder is outside the checkout by default: the server runs as the postgres user,
// which cannot reach a checkout under a private home such as /root.
export const PG_PRIVATE_PORT = Number(process.env.PG_PRIVATE_PORT ?? 15432);
export const PG_PRIVATE_DIR = process.env.PG_PRIVATE_DIR ?? join(tmpdir(), `order-engine-pg-${PG_PRIVATE_PORT}`);
