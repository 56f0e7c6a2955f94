// Brings up the real broker and Postgres with the project's own script, gives the run
// a fresh test database, and on teardown stops what this run started (a broker that
// was already up, say for `npm run dev`, is left alone).
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import pg from 'pg';
import { KAFKA_BOOTSTRAP_SERVERS, TEST_DATABASE_URL } from '../support/env.js';

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
  return async () => {
    if (!brokerWasUp) execFileSync('bash', ['scripts/infra-down.sh'], { stdio: 'inherit' });
  };
}
