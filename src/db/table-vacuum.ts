// Vacuums the write path's churned tables as rows go through them, whatever autovacuum
// is set to do.
//
// Every outbox row leaves a dead tuple in outbox_claims (inserted at the claim, deleted
// at the mark) and one in outbox_pending (inserted with the row, deleted at the mark);
// every decision leaves one in orders. Until a vacuum removes them, reads walk them: the
// claims table grows a page per few hundred rows and the planner, without statistics,
// scans it whole on every claim; the claim walks the pending key's dead entries from
// its left edge (it once walked those of a partial index on outbox, when the mark
// updated the outbox row); the stuck-order job walks the
// partial index on NEW orders over every decided order. On a Postgres with autovacuum
// off (this repository's CI machines have it off) a claim took 3.9 ms after 378k orders
// and kept growing; with autovacuum on, a table waits until a fifth of it is dead. See
// docs/performance.md, "The outbox claim read every dead row".
//
// A pass runs every `everyRows` rows the relay completes (and at its first batch): it
// reads the tables' dead-row counts from pg_stat_user_tables (kept across restarts, so
// a service restarted often still gets there) and vacuums those past their threshold.
// VACUUM runs outside a transaction (one simple-protocol statement) on a pool of its
// own, so it never holds a connection the relay or the status projector waits for.
// SKIP_LOCKED: a vacuum already running on a table (autovacuum, another instance) is not
// waited for. A role that does not own the tables gets a warning from Postgres, not an
// error.
import type pg from 'pg';
import type { Logger } from '../logger.js';

export interface VacuumTable {
  readonly table: string;
  /** Vacuumed once it holds at least this many dead rows. */
  readonly deadRows: number;
}

export interface TableVacuumOptions {
  /** Rows between two passes. */
  readonly everyRows: number;
  readonly tables: readonly VacuumTable[];
}

/** The tables past their threshold, given each one's dead rows (absent: no statistics yet, not due). */
export function dueTables(tables: readonly VacuumTable[], dead: ReadonlyMap<string, number>): string[] {
  return tables.filter((t) => (dead.get(t.table) ?? 0) >= t.deadRows).map((t) => t.table);
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

const DEAD_ROWS = `
  select relname, n_dead_tup from pg_stat_user_tables
   where schemaname = current_schema() and relname = any($1::text[])`;

export class TableVacuum {
  readonly #pool: pg.Pool;
  readonly #log: Logger;
  readonly #options: TableVacuumOptions;
  /** Rows since the last pass; starts full, so the first batch runs one. */
  #rows: number;
  #running: Promise<void> | undefined;
  passes = 0;
  vacuums = 0;
  failures = 0;

  constructor(pool: pg.Pool, options: TableVacuumOptions, log: Logger) {
    for (const t of options.tables) if (!IDENTIFIER.test(t.table)) throw new Error(`vacuum: ${JSON.stringify(t.table)} is not a plain table name`);
    if (!(options.everyRows > 0)) throw new Error(`vacuum: everyRows must be positive, got ${options.everyRows}`);
    this.#pool = pool;
    this.#log = log;
    this.#options = options;
    this.#rows = options.everyRows;
  }

  /** `rows` more rows went through the tables; starts a pass when one is due and none is running. */
  note(rows: number): void {
    this.#rows += rows;
    if (this.#running !== undefined || this.#rows < this.#options.everyRows) return;
    this.#rows = 0;
    this.#running = this.#pass().finally(() => {
      this.#running = undefined;
    });
  }

  /** Resolves once no pass is running (shutdown). */
  async idle(): Promise<void> {
    await this.#running;
  }

  async #pass(): Promise<void> {
    const started = performance.now();
    try {
      const { rows } = await this.#pool.query<{ relname: string; n_dead_tup: string }>(DEAD_ROWS, [this.#options.tables.map((t) => t.table)]);
      const dead = new Map(rows.map((r) => [r.relname, Number(r.n_dead_tup)]));
      const due = dueTables(this.#options.tables, dead);
      this.passes++;
      if (due.length === 0) return;
      await this.#pool.query(`vacuum (skip_locked) ${due.join(', ')}`);
      this.vacuums++;
      this.#log.debug({ tables: due, dead: Object.fromEntries(dead), ms: Math.round(performance.now() - started) }, 'vacuumed');
    } catch (err) {
      this.failures++;
      this.#log.warn({ err }, 'vacuum pass failed (the next one comes after as many rows again)');
    }
  }
}
