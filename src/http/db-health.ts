// Postgres for readiness: `select 1` on a pool of its own, bounded in time, one at a
// time. Its own pool (one connection): a probe never waits behind order writes for a
// connection, and never takes one from them. Bounded: a Postgres that accepts the
// connection and then says nothing (a hung server, a partition) must not hang the
// probe, so each caller waits at most timeoutMs and is told DOWN. One at a time: while
// a check is in flight, callers share it rather than start another, so probes that
// come faster than a hung check times out do not pile up queries and connections.
import type { ComponentHealth } from './health.js';

export type DbProbe = () => Promise<unknown>;

export interface DbHealthOptions {
  readonly timeoutMs: number;
  /** The clock, for tests. */
  readonly now?: () => number;
}

type Outcome = { readonly ok: true; readonly ms: number } | { readonly ok: false; readonly error: string };

export class DbHealth {
  readonly #probe: DbProbe;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  #inFlight: Promise<Outcome> | undefined;
  /** Checks started (tests: that concurrent callers shared one). */
  started = 0;

  constructor(probe: DbProbe, options: DbHealthOptions) {
    this.#probe = probe;
    this.#timeoutMs = options.timeoutMs;
    this.#now = options.now ?? Date.now;
  }

  async check(): Promise<ComponentHealth> {
    const outcome = await this.#bounded(this.#inFlight ?? this.#start());
    const details = { database: 'PostgreSQL', validationQuery: 'select 1' };
    return outcome.ok ? { status: 'UP', details: { ...details, responseMs: outcome.ms } } : { status: 'DOWN', details: { ...details, error: outcome.error } };
  }

  #start(): Promise<Outcome> {
    this.started++;
    const t0 = this.#now();
    const check = this.#probe().then(
      (): Outcome => ({ ok: true, ms: this.#now() - t0 }),
      (err: unknown): Outcome => ({ ok: false, error: err instanceof Error ? err.message : String(err) }),
    );
    this.#inFlight = check;
    // Forgotten once settled, however late: the next caller starts a fresh check.
    void check.finally(() => {
      if (this.#inFlight === check) this.#inFlight = undefined;
    });
    return check;
  }

  #bounded(check: Promise<Outcome>): Promise<Outcome> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Outcome>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, error: `no answer within ${this.#timeoutMs} ms` }), this.#timeoutMs);
    });
    return Promise.race([check, timeout]).finally(() => clearTimeout(timer));
  }
}
