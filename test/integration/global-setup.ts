// Brings up a broker for this test run (the project's own script, its own ports and a
// data folder wiped first) and Postgres with a fresh test database, creates the
// shared topics, and stops that broker again on teardown. A dev broker on 9092 is
// left alone.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensureTopics } from '../../src/kafka/admin.js';
import { DeliveringProducer } from '../../src/kafka/producer.js';
import { topicLayout } from '../../src/kafka/topics.js';
import { recreateDatabase } from '../support/private-postgres.js';
import { KAFKA_BOOTSTRAP_SERVERS, NUM_PARTITIONS, TEST_DATABASE_URL, TEST_KAFKA_JVM_OPTS, TEST_KAFKA_PORT } from '../support/env.js';

const infraDir = join(process.cwd(), '.infra', 'test');
const scriptEnv = {
  ...process.env,
  ORDER_ENGINE_INFRA_DIR: infraDir,
  KAFKA_PORT: String(TEST_KAFKA_PORT),
  KAFKA_CONTROLLER_PORT: String(TEST_KAFKA_PORT + 1),
  TEST_DATABASE_URL,
  KAFKA_JVM_OPTS: TEST_KAFKA_JVM_OPTS,
};
const script = (name: string): void => {
  execFileSync('bash', [`scripts/${name}.sh`], { stdio: 'inherit', env: scriptEnv });
};

export default async function setup(): Promise<() => Promise<void>> {
  script('infra-down'); // a broker left over by an interrupted run
  rmSync(join(infraDir, 'kafka', 'data'), { recursive: true, force: true });
  script('infra-up');
  await recreateDatabase(TEST_DATABASE_URL);
  // The shared topics exist before any test reads them, whichever test file runs first
  // (the service creates them too, with the same layout, at its start).
  const producer = await DeliveringProducer.connect({ brokers: KAFKA_BOOTSTRAP_SERVERS, clientId: 'test-setup', deliveryTimeoutMs: 10_000 });
  try {
    await ensureTopics(KAFKA_BOOTSTRAP_SERVERS, producer.client, topicLayout({ numPartitions: NUM_PARTITIONS, replicationFactor: 1, applicationId: 'order-service' }));
  } finally {
    await producer.close();
  }
  return async () => script('infra-down');
}
