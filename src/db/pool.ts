// The Postgres pool and the mapping of driver failures onto the error vocabulary.
import pg from 'pg';
import { canonicalId } from '../domain/id64.js';
import { EngineError } from '../errors.js';

// bigint columns hold Java longs: the original's order ids are past 2^53. Read as
// canonical ids (src/domain/id64.ts): a number while exact (counts, our own ids), a
// bigint beyond, so no id is rounded into another order's.
pg.types.setTypeParser(pg.types.builtins.INT8, int8);

function int8(text: string): number | bigint {
  if (text.length <= 15) return Number(text);
  return canonicalId(BigInt(text));
}

export interface PoolOptions {
  readonly connectionString: string;
  readonly max: number;
  readonly applicationName: string;
  /** A statement unanswered this long fails (pg's query_timeout); 10 s unless given. */
  readonly queryTimeoutMs?: number;
}

export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max,
    application_name: options.applicationName,
    // Fail fast when the database is away: a request gets a clear 503 in about
    // 2 s instead of hanging (seed failure table: "Database failure").
    connectionTimeoutMillis: 2000,
    idleTimeoutMillis: 30_000,
    query_timeout: options.queryTimeoutMs ?? 10_000,
    keepAlive: true,
  });
  // An idle client losing its connection must not crash the process; the next
  // checkout reconnects.
  pool.on('error', () => undefined);
  // Nor may a checked-out one. pg emits 'error' on a Client whose connection dies (a
  // Postgres crash or restart: "Connection terminated unexpectedly"), and pg-pool
  // listens only while the client is idle: a client held through pool.connect() (the
  // outbox relay's transaction, an order update) had no listener, and the unhandled
  // 'error' event ended the whole process (found by test/integration/
  // group-commit-outage.test.ts crashing Postgres under load). The query in flight is
  // rejected anyway, and pg-pool drops a client that is no longer queryable on release.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

const UNAVAILABLE_SQLSTATE_CLASSES = ['08', '53', '57', '58'];
// ENOENT: over the Unix socket (src/db/connection.ts), a stopped server has removed its socket file.
const UNAVAILABLE_SYSCALL_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENOENT']);

export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (UNAVAILABLE_SYSCALL_CODES.has(code)) return true;
    if (code.length === 5 && UNAVAILABLE_SQLSTATE_CLASSES.includes(code.slice(0, 2))) return true;
  }
  // pg reports these without a code.
  return /timeout exceeded when trying to connect|Connection terminated|Query read timeout|Client has encountered a connection error/.test(
    err.message,
  );
}

/** Wraps a driver error: unavailability becomes a retryable 503, the rest stays as it is. */
export function dbError(err: unknown, what: string): unknown {
  if (err instanceof EngineError) return err;
  if (isUnavailable(err)) return new EngineError('ORD_ERR_DATABASE_UNAVAILABLE', `the database is unavailable (${what})`, { cause: err });
  return err;
}
