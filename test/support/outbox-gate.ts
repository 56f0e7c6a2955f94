// Holds every outbox mark (the statement that deletes a row's outbox_pending entry) at
// the database, so a test can kill the relay's process exactly between the broker's
// acknowledgement and the mark, with no hook in the service. A trigger on
// outbox_pending waits for a shared advisory lock before an entry is deleted; while the
// test holds that lock exclusively, the mark blocks after its records were acknowledged.
//
// A backend keeps running a statement whose client died (Postgres notices the closed
// socket only when it next talks to the client), so after the kill the blocked mark is
// terminated before the gate opens: otherwise it would commit after the crash.
import pg from 'pg';

const GATE_KEY = [74_211, 12] as const; // arbitrary, constant

export class MarkGate {
  readonly #db: pg.Pool;
  readonly #holder: pg.Client;
  #closed = false;

  private constructor(db: pg.Pool, holder: pg.Client) {
    this.#db = db;
    this.#holder = holder;
  }

  /** Installs the trigger (open: marks pass). */
  static async install(db: pg.Pool, connectionString: string): Promise<MarkGate> {
    await db.query(`
      create or replace function test_outbox_mark_gate() returns trigger language plpgsql as $$
      begin
        perform pg_advisory_xact_lock_shared(${GATE_KEY[0]}, ${GATE_KEY[1]});
        return old;
      end $$`);
    await db.query('drop trigger if exists test_outbox_mark_gate on outbox_pending');
    await db.query(`
      create trigger test_outbox_mark_gate before delete on outbox_pending
        for each row execute function test_outbox_mark_gate()`);
    const holder = new pg.Client({ connectionString, application_name: 'test-mark-gate' });
    await holder.connect();
    return new MarkGate(db, holder);
  }

  /** From now on every mark blocks. */
  async close(): Promise<void> {
    await this.#holder.query('select pg_advisory_lock($1, $2)', [...GATE_KEY]);
    this.#closed = true;
  }

  /** Marks waiting at the gate: pid and application of each. */
  async waiting(): Promise<{ pid: number; application: string }[]> {
    const { rows } = await this.#db.query<{ pid: number; application: string }>(
      `select pid, application_name as application from pg_stat_activity
        where wait_event_type = 'Lock' and wait_event = 'advisory' and query like '%delete from outbox_pending%'`,
    );
    return rows;
  }

  /** Ends the backends of the marks waiting at the gate: their statements never commit. */
  async terminateWaiting(): Promise<number> {
    const waiting = await this.waiting();
    for (const { pid } of waiting) await this.#db.query('select pg_terminate_backend($1)', [pid]);
    return waiting.length;
  }

  async open(): Promise<void> {
    if (!this.#closed) return;
    await this.#holder.query('select pg_advisory_unlock($1, $2)', [...GATE_KEY]);
    this.#closed = false;
  }

  /** Opens the gate and removes the trigger. */
  async remove(): Promise<void> {
    await this.open().catch(() => undefined);
    await this.#holder.end().catch(() => undefined);
    await this.#db.query('drop trigger if exists test_outbox_mark_gate on outbox_pending');
    await this.#db.query('drop function if exists test_outbox_mark_gate()');
  }
}
