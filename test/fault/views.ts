// The other two views of a decided order, read from the outside: its row in
// Postgres (orders.status, written by the status projector) and the orders-store
// (GET /api/orders/store/{id}, materialized by the stream tasks).
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { disagreeing } from '../support/saga-audit.js';

/** orders.status of each id (undefined: no row). */
export async function postgresStatuses(databaseUrl: string, ids: readonly string[]): Promise<Map<string, string | undefined>> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000, query_timeout: 30_000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string; status: string }>('select id::text as id, status from orders where id = any($1::bigint[])', [ids]);
    const seen = new Map<string, string | undefined>();
    for (const row of rows) seen.set(row.id, row.status);
    return seen;
  } finally {
    await client.end();
  }
}

export interface StoreReading {
  /** The status the store shows for each id it answered 200 for. */
  readonly seen: Map<string, string | undefined>;
  /** How each read was answered: `200`, `404`, `503`, ..., or an error code. */
  readonly answers: Record<string, number>;
}

function getJson(agent: Agent, url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('no answer in time'), { code: 'TIMEOUT' })));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Where to read the store: one instance, or several of which each owns some
 * partitions (today an instance answers only for the partitions it owns: 503
 * otherwise). With several, an order is read at its partition's owner, found by
 * asking each in turn until one answers 200 or 404 (only an owner can tell an order
 * is not there) and remembered per partition.
 */
export type StoreTarget = string | { readonly urls: readonly string[]; readonly partitionOf: (id: string) => number };

/**
 * Reads each order from the store, a few at a time; a read without an answer in 5 s
 * counts as not shown, and what is left when `deadline` (performance.now()) passes
 * is not read at all (`unread`), so a store that hangs cannot hang the test. With
 * several instances an order no instance answered for counts as `no owner: <the
 * last answer>`.
 */
export async function storeStatuses(target: StoreTarget | undefined, ids: readonly string[], deadline: number, concurrency = 16): Promise<StoreReading> {
  const seen = new Map<string, string | undefined>();
  const answers: Record<string, number> = {};
  const count = (answer: string): void => void (answers[answer] = (answers[answer] ?? 0) + 1);
  if (target === undefined || (typeof target !== 'string' && target.urls.length === 0)) {
    count('no service');
    return { seen, answers };
  }
  const urls = typeof target === 'string' ? [target] : target.urls;
  const owners = new Map<number, string>();
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const read = async (id: string): Promise<void> => {
    const partition = typeof target === 'string' ? 0 : target.partitionOf(id);
    const owner = owners.get(partition);
    let last = '';
    for (const url of owner === undefined ? urls : [owner, ...urls.filter((u) => u !== owner)]) {
      try {
        const res = await getJson(agent, `${url}/api/orders/store/${id}`, 5000);
        last = String(res.status);
        if (res.status === 200) seen.set(id, (JSON.parse(res.body) as { status?: string }).status);
        if (res.status === 200 || res.status === 404) {
          owners.set(partition, url);
          break;
        }
      } catch (err) {
        last = (err as NodeJS.ErrnoException).code ?? 'error';
      }
      if (urls.length === 1) break;
    }
    count(urls.length === 1 || last === '200' || last === '404' ? last : `no owner: ${last}`);
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ids.length) {
      if (performance.now() > deadline) {
        count('unread');
        next++;
        continue;
      }
      await read(ids[next++]!);
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.destroy();
  }
  return { seen, answers };
}

export interface SettleOptions {
  readonly databaseUrl: string;
  /** Where the store is read now (the service may have been restarted), or undefined if there is none. */
  readonly storeUrl: () => StoreTarget | undefined;
  /** False when waiting longer cannot help (the service is gone). */
  readonly worthWaiting: () => boolean;
  readonly settleMs: number;
}

export interface Mismatch {
  readonly id: string;
  readonly decision: string;
  /** What the view showed; null: no row, no answer, or not found. */
  readonly seen: string | null;
}

export interface SettledViews {
  readonly pgMismatches: readonly Mismatch[];
  readonly storeMismatches: readonly Mismatch[];
  /** ms until every decision showed; undefined if some never did. */
  readonly pgAgreedAfterMs: number | undefined;
  readonly storeAgreedAfterMs: number | undefined;
  readonly storeAnswers: Record<string, number>;
  /** The last failure to read Postgres, if reading it failed at the end. */
  readonly pgError: unknown;
}

/**
 * Compares Postgres and the store with the decisions. Both trail the topic (the
 * status projector, the store's commit), so what disagrees is read again every
 * second until it agrees, `settleMs` passes, or waiting is no longer worth it.
 */
export async function settleViews(decided: ReadonlyMap<string, string>, options: SettleOptions): Promise<SettledViews> {
  const started = performance.now();
  const deadline = started + options.settleMs;
  const expected = (ids: readonly string[]): Map<string, string> => new Map(ids.map((id) => [id, decided.get(id)!]));
  let pgPending = [...decided.keys()];
  let storePending = [...decided.keys()];
  let pgSeen = new Map<string, string | undefined>();
  let storeSeen = new Map<string, string | undefined>();
  let pgAgreedAfterMs: number | undefined;
  let storeAgreedAfterMs: number | undefined;
  let pgError: unknown;
  const storeAnswers: Record<string, number> = {};
  for (;;) {
    if (pgPending.length > 0) {
      try {
        pgSeen = await postgresStatuses(options.databaseUrl, pgPending);
        pgPending = disagreeing(expected(pgPending), pgSeen);
        pgError = undefined;
        if (pgPending.length === 0) pgAgreedAfterMs = performance.now() - started;
      } catch (err) {
        pgError = err;
      }
    }
    if (storePending.length > 0) {
      const reading = await storeStatuses(options.storeUrl(), storePending, deadline + 30_000);
      storeSeen = reading.seen;
      for (const [answer, n] of Object.entries(reading.answers)) storeAnswers[answer] = (storeAnswers[answer] ?? 0) + n;
      storePending = disagreeing(expected(storePending), storeSeen);
      if (storePending.length === 0) storeAgreedAfterMs = performance.now() - started;
    }
    if ((pgPending.length === 0 && storePending.length === 0) || !options.worthWaiting() || performance.now() > deadline) break;
    await sleep(1000);
  }
  const mismatches = (ids: readonly string[], seen: ReadonlyMap<string, string | undefined>): Mismatch[] =>
    ids.map((id) => ({ id, decision: decided.get(id)!, seen: seen.get(id) ?? null }));
  return {
    pgMismatches: mismatches(pgPending, pgSeen),
    storeMismatches: mismatches(storePending, storeSeen),
    pgAgreedAfterMs,
    storeAgreedAfterMs,
    storeAnswers,
    pgError,
  };
}
