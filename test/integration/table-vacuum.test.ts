// TableVacuum against the real Postgres: a queue-like table whose rows were all inserted
// and deleted is vacuumed by a pass once its dead rows reach the threshold, and not
// before; passes come every `everyRows` rows and at the first batch. A vacuum truncates
// a table's empty trailing pages, so its size on disk tells whether it ran.
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TableVacuum } from '../../src/db/table-vacuum.js';
import { TEST_DATABASE_URL } from '../support/env.js';
import { waitFor } from '../support/wait.js';

const pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
const TABLE = 'table_vacuum_probe';
const log = pino({ level: 'silent' });

async function pages(): Promise<number> {
  const { rows } = await pool.query<{ pages: string }>(`select pg_relation_size('${TABLE}') / 8192 as pages`);
  return Number(rows[0]!.pages);
}

async function deadRows(): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(`select n_dead_tup as n from pg_stat_user_tables where relname = '${TABLE}'`);
  return Number(rows[0]?.n ?? 0);
}

/** Inserts and deletes `rows` rows, and waits until the statistics count them dead. */
async function churn(rows: number): Promise<void> {
  const before = await deadRows();
  const client = await pool.connect();
  try {
    await client.query(`insert into ${TABLE} (id, owner) select g, 'relay-' || g from generate_series(1, $1) g`, [rows]);
    await client.query(`delete from ${TABLE}`);
    await client.query('select pg_stat_force_next_flush()');
  } finally {
    client.release();
  }
  await waitFor('the statistics count the deleted rows', async () => ((await deadRows()) >= before + rows ? true : undefined), 15_000, 100);
}

beforeAll(async () => {
  await pool.query(`drop table if exists ${TABLE}`);
  // Autovacuum off for this table whatever the server's setting: only TableVacuum runs on it.
  await pool.query(`create table ${TABLE} (id bigint primary key, owner text not null) with (autovacuum_enabled = false)`);
});

afterAll(async () => {
  await pool.query(`drop table if exists ${TABLE}`);
  await pool.end();
});

it('vacuums a churned table in a pass once its dead rows reach the threshold, and only then', async () => {
  const vacuum = new TableVacuum(pool, { everyRows: 1000, tables: [{ table: TABLE, deadRows: 20_000 }] }, log);
  await churn(15_000);
  const bloated = await pages();
  expect(bloated).toBeGreaterThan(50);

  vacuum.note(1); // the first batch: a pass, nothing due yet
  await vacuum.idle();
  expect([vacuum.passes, vacuum.vacuums]).toEqual([1, 0]);
  expect(await pages()).toBe(bloated);

  await churn(5000);
  vacuum.note(999); // not a pass's worth of rows yet
  await vacuum.idle();
  expect(vacuum.passes).toBe(1);

  vacuum.note(1);
  await vacuum.idle();
  expect([vacuum.passes, vacuum.vacuums, vacuum.failures]).toEqual([2, 1, 0]);
  expect(await pages()).toBe(0);
});

it('counts a failed pass and tries again after as many rows', async () => {
  const vacuum = new TableVacuum(pool, { everyRows: 10, tables: [{ table: TABLE, deadRows: 1 }] }, log);
  await churn(100);
  // pg_stat_user_tables is readable by anyone, so fail the vacuum itself: a role with no
  // right to run it gets only warnings, hence a pool to a database that does not exist.
  const broken = new pg.Pool({ connectionString: TEST_DATABASE_URL.replace(/\/[^/]*$/, '/table_vacuum_no_such_db'), max: 1 });
  const failing = new TableVacuum(broken, { everyRows: 10, tables: [{ table: TABLE, deadRows: 1 }] }, log);
  failing.note(0);
  await failing.idle();
  expect(failing.failures).toBe(1);
  failing.note(9);
  await failing.idle();
  expect(failing.failures).toBe(1);
  failing.note(1);
  await failing.idle();
  expect(failing.failures).toBe(2);
  await broken.end();
  // The same pass on the right database vacuums.
  vacuum.note(0);
  await vacuum.idle();
  expect([vacuum.vacuums, vacuum.failures]).toEqual([1, 0]);
});
