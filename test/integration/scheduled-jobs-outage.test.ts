// The scheduled jobs when Postgres goes away in the middle of a run. pg-boss 10 writes a
// finished job's outcome without awaiting it; with the database gone that write was an
// unhandled rejection, and the service ended (src/jobs/pg-boss-completions.ts). Here a
// job crashes the private Postgres itself, so the write after it always meets a dead
// database: the process must live, and the scheduler must run the job again once
// Postgres is back.
import { pino } from 'pino';
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { createPool } from '../../src/db/pool.js';
import { JobScheduler } from '../../src/jobs/job-scheduler.js';
import { pgPrivate, recreatePrivateDatabase } from '../support/pg-private.js';
import { waitFor } from '../support/wait.js';

const log = pino({ level: 'silent' });
let pool: pg.Pool;

beforeAll(async () => {
  await pgPrivate('start');
  const url = await recreatePrivateDatabase('order_service_jobs_outage');
  pool = createPool({ connectionString: url, max: 4, applicationName: 'jobs-outage-test' });
  // A crash drops the pool's connections: their errors are expected here.
  pool.on('error', () => undefined);
  await migrate(pool);
});

afterAll(async () => {
  await pool?.end();
  await pgPrivate('stop');
});

it('lives through a Postgres crash in the middle of a run, and runs the job again once Postgres is back', { timeout: 120_000 }, async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  let runs = 0;
  const scheduler = await JobScheduler.start(
    [
      {
        name: 'crash-postgres',
        periodMs: 1000,
        async run() {
          runs++;
          // The first run takes the database down under pg-boss: its completion write fails.
          if (runs === 1) await pgPrivate('crash');
          return { runs };
        },
      },
    ],
    pool,
    { queuePrefix: `jobs-outage-${Date.now()}`, instanceId: 'jobs-outage-test' },
    log,
  );
  try {
    await waitFor('the first run', () => (runs >= 1 ? true : undefined), 30_000, 50);
    // Long enough for pg-boss to try the completion write and for it to fail.
    await new Promise((r) => setTimeout(r, 3000));
    expect(unhandled).toEqual([]);
    await pgPrivate('start');
    // The completion, written again once Postgres is back, frees the queue (singleton): the next slot runs.
    await waitFor('a run after Postgres came back', () => (runs >= 2 ? true : undefined), 90_000, 100);
    expect(unhandled).toEqual([]);
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await pgPrivate('start');
    await scheduler.stop().catch(() => undefined);
  }
});
