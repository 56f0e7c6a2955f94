// The private Postgres cluster (scripts/pg-private.sh) for the tests that take the
// database away: the machine's own cluster on 5432 is shared and must never be
// stopped. Port and data folder come from PG_PRIVATE_PORT and PG_PRIVATE_DIR, which
// the script reads from the environment too.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export const PG_PRIVATE_PORT = Number(process.env.PG_PRIVATE_PORT ?? 15432);

/** start: initdb on first use, then up (idempotent); stop: clean (-m fast); crash: -m immediate. */
export async function pgPrivate(command: 'start' | 'stop' | 'crash'): Promise<void> {
  await run('bash', ['scripts/pg-private.sh', command], { env: process.env });
}

export function privateDatabaseUrl(database: string): string {
  return `postgres://postgres@127.0.0.1:${PG_PRIVATE_PORT}/${database}`;
}

/** Drops and creates `database` on the private cluster (which must be up); returns its URL. */
export async function recreatePrivateDatabase(database: string): Promise<string> {
  const admin = new pg.Client({ connectionString: privateDatabaseUrl('postgres') });
  await admin.connect();
  try {
    await admin.query(`drop database if exists "${database}" with (force)`);
    await admin.query(`create database "${database}"`);
  } finally {
    await admin.end();
  }
  return privateDatabaseUrl(database);
}
