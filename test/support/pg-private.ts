// The integration tests' private Postgres cluster (scripts/pg-private.sh) for the
// tests that take the database away: the machine's own cluster on 5432 is shared and
// must never be stopped. Port and data folder: PG_PRIVATE_PORT and PG_PRIVATE_DIR
// (test/support/env.ts).
import { PG_PRIVATE_DIR, PG_PRIVATE_PORT } from './env.js';
import { PrivatePostgres } from './private-postgres.js';

export { PG_PRIVATE_PORT };

const cluster = new PrivatePostgres({ port: PG_PRIVATE_PORT, dataDir: PG_PRIVATE_DIR });

/** start: initdb on first use, then up (idempotent); stop: clean (-m fast); crash: -m immediate. */
export function pgPrivate(command: 'start' | 'stop' | 'crash'): Promise<void> {
  return cluster[command]();
}

export function privateDatabaseUrl(database: string): string {
  return cluster.url(database);
}

/** Drops and creates `database` on the private cluster (which must be up); returns its URL. */
export async function recreatePrivateDatabase(database: string): Promise<string> {
  await cluster.recreateDatabase(database);
  return cluster.url(database);
}
