// TableVacuum against the real Postgres: a queue-like table whose rows were all inserted
// and deleted is vacuumed once enough rows went through it, and not before. A vacuum
// truncates a table's empty trailing pages, so its size on disk tells whether it ran.
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TableVacuum } from '../../src/db/table-vacuum.js';
import { TEST_DATABASE_URL } from '../support/env.js';

const pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
const TABLE = 'table_vacuum_probe';

async function pages(): Promise<number> {
  const { rows } = await pool.query<{ pages: string }>(`select pg_relation_size('${TABLE}') / 8192 as pages`);
  return Number(rows[0]!.pages);
}

async function churn(rows: number): Promise<void> {
  await pool.query(`insert into ${TABLE} (id, owner) select g, 'relay-' || g from generate_series(1, $1) g`, [rows]);
  await pool.query(`delete from ${TABLE}`);
}

beforeAll(async () => {
  await pool.query(`drop table if exists ${TABLE}`);
  // Autovacuum kept off for this table whatever the server's setting, so only TableVacuum runs on it.
  await pool.query(`create table ${TABLE} (id bigint primary key, owner text not null) with (autovacuum_enabled = false)`);
});

afterAll(async () => {
  await pool.query(`drop table if exists ${TABLE}`);
  await pool.end();
});

it('vacuums a churned table once its rows are due, and only then', async () => {
  const vacuum = new TableVacuum(pool, [{ tables: [TABLE], everyRows: 20_000 }], pino({ level: 'silent' }));
  await churn(20_000);
  const bloated = await pages();
  expect(bloated).toBeGreaterThan(50);

  vacuum.note(19_999);
  await vacuum.idle();
  expect(vacuum.runs).toBe(0);
  expect(await pages()).toBe(bloated);

  vacuum.note(1);
  await vacuum.idle();
  expect(vacuum.runs).toBe(1);
  expect(vacuum.failures).toBe(0);
  expect(await pages()).toBe(0);
});

it('counts a failed vacuum and tries again after as many rows', async () => {
  const vacuum = new TableVacuum(pool, [{ tables: ['table_vacuum_missing'], everyRows: 10 }], pino({ level: 'silent' }));
  vacuum.note(10);
  await vacuum.idle();
  expect(vacuum.failures).toBe(1);
  vacuum.note(9);
  await vacuum.idle();
  expect(vacuum.failures).toBe(1);
  vacuum.note(1);
  await vacuum.idle();
  expect(vacuum.failures).toBe(2);
});
