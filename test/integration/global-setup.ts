// Brings up the real broker and Postgres with the project's own script, gives the run
// a fresh test database, and on teardown stops what this run started (a broker that
// was already up, say for `npm run dev`, is left alone).
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import pg from 'pg';
import { ensureTopics } from '../../src/kafka/admin.js';
import { DeliveringProducer } from '../../src/kafka/producer.js';
import { topicLayout } from '../../src/kafka/topics.js';
import { KAFKA_BOOTSTRAP_SERVERS, NUM_PARTITIONS, TEST_DATABASE_URL } from '../support/env.js';

function portOpen(hostPort: string): Promise<boolean> {
  const [host = '127.0.0.1', port = '9092'] = hostPort.split(',')[0]!.split(':');
  return new Promise((resolve) => {
    const socket = connect({ host, port: Number(port) }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

async function recreateDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: url.replace(/\/[^/?]+(\?.*)?$/, '/postgres') });
  await admin.connect();
  try {
    await admin.query(`drop database if exists "${name}" with (force)`);
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
}

export default async function setup(): Promise<() => Promise<void>> {
  const brokerWasUp = await portOpen(KAFKA_BOOTSTRAP_SERVERS);
  execFileSync('bash', ['scripts/infra-up.sh'], { stdio: 'inherit' });
  await recreateDatabase(TEST_DATABASE_URL);
  // The shared topics exist before any test reads them, whichever test file runs first
  // (the service creates them too, with the same layout, at its start).
  const producer = await DeliveringProducer.connect({ brokers: KAFKA_BOOTSTRAP_SERVERS, clientId: 'test-setup', deliveryTimeoutMs: 10_000 });
  try {
    await ensureTopics(KAFKA_BOOTSTRAP_SERVERS, producer.client, topicLayout({ numPartitions: NUM_PARTITIONS, replicationFactor: 1, applicationId: 'order-service' }));
  } finally {
    await producer.close();
  }
  return async () => {
    if (!brokerWasUp) execFileSync('bash', ['scripts/infra-down.sh'], { stdio: 'inherit' });
  };
}
