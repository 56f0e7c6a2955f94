// Vacuums the outbox's queue tables at a cadence tied to the rows that went through
// them, whatever autovacuum is set to do.
//
// Every outbox row leaves a dead tuple in outbox_claims (inserted at the claim, deleted
// at the mark) and one in outbox (completed_at set), and an index entry of the pending
// partial index pointing at it. Until a vacuum removes them, each claim reads them: the
// claims table grows by a page per few hundred rows and the planner, without statistics,
// scans it whole; the pending index keeps entries of every completed row and the claim
// walks them from its left edge. On a Postgres with autovacuum off (this repository's CI
// machines have it off) a claim took 3.9 ms after 378k orders and kept growing; with
// autovacuum on, outbox is only vacuumed once a fifth of it is dead. See
// docs/performance.md, "The outbox claim read every dead row".
//
// VACUUM runs outside a transaction (one simple-protocol statement) on a pool of its own,
// so it never holds a connection the relay or the status projector waits for. SKIP_LOCKED:
// a vacuum already running on a table (autovacuum, another instance) is not waited for.
// A role that does not own the tables gets a warning from Postgres, not an error.
import type pg from 'pg';
import type { Logger } from '../logger.js';

export interface VacuumSchedule {
  /** Vacuumed together once `everyRows` rows went through them since their last vacuum. */
  readonly tables: readonly string[];
  readonly everyRows: number;
}

interface Due {
  readonly tables: readonly string[];
  readonly everyRows: number;
  rows: number;
}

/** Which schedules are due after `rows` more rows; counts of the due ones restart at 0. */
export function takeDue(schedules: Due[], rows: number, busy: boolean): readonly string[] {
  for (const s of schedules) s.rows += rows;
  if (busy) return [];
  const tables: string[] = [];
  for (const s of schedules) {
    if (s.rows < s.everyRows) continue;
    s.rows = 0;
    for (const t of s.tables) if (!tables.includes(t)) tables.push(t);
  }
  return tables;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

export class TableVacuum {
  readonly #pool: pg.Pool;
  readonly #log: Logger;
  readonly #schedules: Due[];
  #running: Promise<void> | undefined;
  runs = 0;
  failures = 0;

  constructor(pool: pg.Pool, schedules: readonly VacuumSchedule[], log: Logger) {
    for (const s of schedules) {
      for (const t of s.tables) if (!IDENTIFIER.test(t)) throw new Error(`vacuum: ${JSON.stringify(t)} is not a plain table name`);
      if (!(s.everyRows > 0)) throw new Error(`vacuum: everyRows must be positive, got ${s.everyRows}`);
    }
    this.#pool = pool;
    this.#log = log;
    this.#schedules = schedules.map((s) => ({ tables: s.tables, everyRows: s.everyRows, rows: 0 }));
  }

  /** `rows` more rows went through the tables; starts a vacuum of those due unless one is running. */
  note(rows: number): void {
    const tables = takeDue(this.#schedules, rows, this.#running !== undefined);
    if (tables.length === 0) return;
    this.#running = this.#vacuum(tables).finally(() => {
      this.#running = undefined;
    });
  }

  /** Resolves once no vacuum is running (shutdown). */
  async idle(): Promise<void> {
    await this.#running;
  }

  async #vacuum(tables: readonly string[]): Promise<void> {
    const started = performance.now();
    try {
      await this.#pool.query(`vacuum (skip_locked) ${tables.join(', ')}`);
      this.runs++;
      this.#log.debug({ tables, ms: Math.round(performance.now() - started) }, 'vacuumed');
    } catch (err) {
      this.failures++;
      this.#log.warn({ err, tables }, 'vacuum failed (the next one is due after as many rows again)');
    }
  }
}
