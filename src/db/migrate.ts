// Applies the SQL files in ./migrations in name order, each once, each in its own
// transaction. An advisory lock makes concurrent starts of several instances safe:
// the first applies, the others wait and then find nothing left to do.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import type pg from 'pg';

const MIGRATION_LOCK = 7_302_418_553; // arbitrary, constant: "order-engine migrations"

export interface MigrationResult {
  readonly applied: readonly string[];
}

// The SQL files stay in src/ (they are not compiled): found beside this module when it
// runs from source, from dist/src/db/ otherwise.
const defaultDir = [new URL('./migrations/', import.meta.url), new URL('../../../src/db/migrations/', import.meta.url)].find((u) =>
  existsSync(u),
);

export async function migrate(pool: pg.Pool, dir: URL | undefined = defaultDir): Promise<MigrationResult> {
  if (dir === undefined) throw new Error('migrations folder not found (src/db/migrations)');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(
      'create table if not exists schema_migrations (name text primary key, applied_at timestamptz not null default now())',
    );
    const done = new Set((await client.query<{ name: string }>('select name from schema_migrations')).rows.map((r) => r.name));
    for (const file of files) {
      if (done.has(file)) continue;
      const sql = await readFile(new URL(file, dir), 'utf8');
      await client.query('begin');
      try {
        await client.query(sql);
        await client.query('insert into schema_migrations (name) values ($1)', [file]);
        await client.query('commit');
      } catch (err) {
        await client.query('rollback');
        throw new Error(`migration ${file} failed: ${(err as Error).message}`, { cause: err });
      }
      applied.push(file);
    }
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
  return { applied };
}
