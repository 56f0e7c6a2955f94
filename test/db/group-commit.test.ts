import { describe, expect, it } from 'vitest';
import { GroupCommitter, type GroupCommitOptions } from '../../src/db/group-commit.js';
import { dbError } from '../../src/db/pool.js';
import { EngineError } from '../../src/errors.js';

/** One call of the fake `write`: the items it was given, settled by the test. */
interface WriteCall {
  readonly items: readonly string[];
  readonly resolve: (results: readonly string[]) => void;
  readonly reject: (err: unknown) => void;
}

/** An in-memory `write` that records each call and leaves it pending until the test settles it. */
function fakeWrite(): { calls: WriteCall[]; write: (items: readonly string[]) => Promise<readonly string[]> } {
  const calls: WriteCall[] = [];
  const write = (items: readonly string[]): Promise<readonly string[]> =>
    new Promise((resolve, reject) => calls.push({ items: [...items], resolve, reject }));
  return { calls, write };
}

/** Runs every pending microtask (promise reactions) before returning; not a timed wait. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Records how a promise settled, without leaving a rejection unhandled. */
function track<R>(p: Promise<R>): { state: 'pending' | 'resolved' | 'rejected'; value?: R; error?: unknown } {
  const t: { state: 'pending' | 'resolved' | 'rejected'; value?: R; error?: unknown } = { state: 'pending' };
  p.then(
    (value) => Object.assign(t, { state: 'resolved', value }),
    (error: unknown) => Object.assign(t, { state: 'rejected', error }),
  );
  return t;
}

const upper = (items: readonly string[]): string[] => items.map((i) => i.toUpperCase());

function committer(options: Partial<GroupCommitOptions> = {}) {
  const fake = fakeWrite();
  const gc = new GroupCommitter<string, string>(fake.write, { maxBatch: 10, maxInFlight: 1, maxQueued: 100, ...options });
  return { ...fake, gc };
}

/** A refused connection as pg reports it. */
const refused = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
/**
 * What the committer really receives during an outage: the repository wraps every
 * driver error with dbError, so a refused connection arrives as
 * ORD_ERR_DATABASE_UNAVAILABLE, not as the raw ECONNREFUSED (the old test passed the
 * raw error and so never saw that the committer could not recognise the wrapped one).
 */
const unavailable = (): unknown => dbError(refused(), 'insert orders');

describe('GroupCommitter', () => {
  it('writes a lone submit alone, right away', async () => {
    const { gc, calls } = committer({ maxInFlight: 2 });
    const p = gc.submit('a');
    // Synchronously: a lone request waits for no timer and no other request.
    expect(calls.map((c) => c.items)).toEqual([['a']]);
    calls[0]!.resolve(['A']);
    await expect(p).resolves.toBe('A');
  });

  it('writes each submit alone while a slot is free', () => {
    const { gc, calls } = committer({ maxInFlight: 3 });
    for (const item of ['a', 'b', 'c']) void gc.submit(item);
    expect(calls.map((c) => c.items)).toEqual([['a'], ['b'], ['c']]);
    expect(gc.stats).toMatchObject({ inFlight: 3, queued: 0 });
  });

  it('queues submits while maxInFlight batches are in flight and writes them together when a slot frees', async () => {
    const { gc, calls } = committer({ maxInFlight: 2, maxBatch: 10 });
    const a = track(gc.submit('a'));
    const b = track(gc.submit('b'));
    const queued = ['c', 'd', 'e'].map((i) => track(gc.submit(i)));
    expect(calls).toHaveLength(2);
    expect(gc.stats).toMatchObject({ inFlight: 2, queued: 3 });

    calls[1]!.resolve(['B']);
    await flush();
    expect(calls.map((c) => c.items)).toEqual([['a'], ['b'], ['c', 'd', 'e']]);
    expect(gc.stats).toMatchObject({ inFlight: 2, queued: 0 });
    expect(b).toMatchObject({ state: 'resolved', value: 'B' });
    expect(a.state).toBe('pending');

    calls[2]!.resolve(['C', 'D', 'E']);
    calls[0]!.resolve(['A']);
    await flush();
    expect(queued.map((t) => t.value)).toEqual(['C', 'D', 'E']);
    expect(a.value).toBe('A');
  });

  it.each<[string, number, number, number[]]>([
    ['all queued items fit one batch', 10, 4, [1, 4]],
    ['queued items split at maxBatch', 3, 7, [1, 3, 3, 1]],
    ['maxBatch 1 writes one at a time', 1, 3, [1, 1, 1, 1]],
    ['exactly maxBatch queued', 5, 5, [1, 5]],
  ])('batches never exceed maxBatch: %s', async (_, maxBatch, queuedCount, expectedSizes) => {
    const { gc, calls } = committer({ maxInFlight: 1, maxBatch });
    const results = ['first', ...Array.from({ length: queuedCount }, (_, i) => `q${i}`)].map((i) => gc.submit(i));
    for (let done = 0; done < calls.length; done++) {
      calls[done]!.resolve(upper(calls[done]!.items));
      await flush();
    }
    expect(calls.map((c) => c.items.length)).toEqual(expectedSizes);
    expect(calls.flatMap((c) => c.items)).toEqual(['first', ...Array.from({ length: queuedCount }, (_, i) => `q${i}`)]);
    await expect(Promise.all(results)).resolves.toEqual(['FIRST', ...Array.from({ length: queuedCount }, (_, i) => `Q${i}`)]);
  });

  it('maps each result of a batch back to its own submit, in order', async () => {
    const { gc, calls } = committer({ maxInFlight: 1 });
    const first = gc.submit('first');
    const batch = ['x', 'y', 'z', 'w'].map((i) => gc.submit(i));
    calls[0]!.resolve(['FIRST']);
    await flush();
    expect(calls[1]!.items).toEqual(['x', 'y', 'z', 'w']);
    calls[1]!.resolve(['result-x', 'result-y', 'result-z', 'result-w']);
    await expect(first).resolves.toBe('FIRST');
    await expect(Promise.all(batch)).resolves.toEqual(['result-x', 'result-y', 'result-z', 'result-w']);
  });

  it('rejects submits beyond maxQueued at once with ORD_ERR_OVERLOADED, and accepts again once the queue drains', async () => {
    const { gc, calls } = committer({ maxInFlight: 1, maxQueued: 2 });
    const accepted = ['a', 'b', 'c'].map((i) => track(gc.submit(i))); // a in flight, b and c queued
    const refused = gc.submit('d');
    await expect(refused).rejects.toBeInstanceOf(EngineError);
    await expect(refused).rejects.toMatchObject({ code: 'ORD_ERR_OVERLOADED', status: 503 });
    expect(calls.flatMap((c) => c.items)).not.toContain('d');
    expect(gc.stats.queued).toBe(2);

    calls[0]!.resolve(['A']);
    await flush();
    expect(calls[1]!.items).toEqual(['b', 'c']);
    const again = track(gc.submit('e'));
    expect(again.state).toBe('pending');
    calls[1]!.resolve(['B', 'C']);
    await flush();
    expect(calls[2]!.items).toEqual(['e']);
    calls[2]!.resolve(['E']);
    await flush();
    expect(accepted.map((t) => t.value)).toEqual(['A', 'B', 'C']);
    expect(again).toMatchObject({ state: 'resolved', value: 'E' });
  });

  it('retries a batch that failed with a non-connection error item by item, so only the bad item rejects', async () => {
    const { gc, calls } = committer({ maxInFlight: 1 });
    void gc.submit('first');
    const items = ['b', 'bad', 'd'].map((i) => track(gc.submit(i)));
    calls[0]!.resolve(['FIRST']);
    await flush();
    expect(calls[1]!.items).toEqual(['b', 'bad', 'd']);

    calls[1]!.reject(new Error('duplicate key value violates unique constraint'));
    await flush();
    expect(calls.slice(2).map((c) => c.items)).toEqual([['b'], ['bad'], ['d']]);
    const badItemError = new Error('value too long for type character varying(255)');
    calls[2]!.resolve(['B']);
    calls[3]!.reject(badItemError);
    calls[4]!.resolve(['D']);
    await flush();
    expect(items[0]).toMatchObject({ state: 'resolved', value: 'B' });
    expect(items[1]).toMatchObject({ state: 'rejected', error: badItemError });
    expect(items[2]).toMatchObject({ state: 'resolved', value: 'D' });
  });

  // Regression: isUnavailable matched only raw driver errors, so the
  // ORD_ERR_DATABASE_UNAVAILABLE the repository throws fanned every failed batch out
  // into one more write per item against a database that was down.
  it.each<[string, () => unknown]>([
    ['the database is unavailable (a refused connection, as the repository wraps it)', unavailable],
    ['the database is unavailable (a server shutting down, 57P01, as wrapped)', () => dbError(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }), 'insert orders')],
    ['the database is unavailable (its Unix socket gone: a stopped server, as wrapped)', () => dbError(Object.assign(new Error('connect ENOENT /var/run/postgresql/.s.PGSQL.5432'), { code: 'ENOENT' }), 'insert orders')],
    ['the database is unavailable (a connection lost mid-query, as wrapped)', () => dbError(new Error('Connection terminated unexpectedly'), 'insert orders')],
    ['the service is overloaded', () => new EngineError('ORD_ERR_OVERLOADED', 'busy')],
  ])('rejects every item of a batch at once, without per-item retries, when %s', async (_, failure) => {
    const { gc, calls } = committer({ maxInFlight: 1 });
    void gc.submit('first');
    const items = ['b', 'c', 'd'].map((i) => track(gc.submit(i)));
    calls[0]!.resolve(['FIRST']);
    await flush();
    const err = failure();
    calls[1]!.reject(err);
    await flush();
    expect(calls).toHaveLength(2);
    expect(gc.stats.writes).toBe(2);
    for (const t of items) expect(t).toMatchObject({ state: 'rejected', error: err });
  });

  it('hands every caller of a failed batch the 503 ORD_ERR_DATABASE_UNAVAILABLE of the vocabulary', async () => {
    const { gc, calls } = committer({ maxInFlight: 1 });
    void gc.submit('first');
    const items = ['b', 'c'].map((i) => track(gc.submit(i)));
    calls[0]!.resolve(['FIRST']);
    await flush();
    calls[1]!.reject(unavailable());
    await flush();
    for (const t of items) expect(t.error).toMatchObject({ code: 'ORD_ERR_DATABASE_UNAVAILABLE', status: 503, recovery: 'retry' });
  });

  it.each<[string, () => unknown]>([
    ['a unique violation (23505)', () => Object.assign(new Error('duplicate key value violates unique constraint "orders_pkey"'), { code: '23505' })],
    ['a value the column cannot take (22021)', () => Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: '22021' })],
    ['an error outside the vocabulary', () => new Error('something else')],
    ['a client error of the vocabulary', () => new EngineError('ORD_ERR_VALIDATION', 'bad item')],
  ])('isolates the items of a batch that failed with %s: one write per item', async (_, failure) => {
    const { gc, calls } = committer({ maxInFlight: 1 });
    void gc.submit('first');
    const items = ['b', 'c'].map((i) => track(gc.submit(i)));
    calls[0]!.resolve(['FIRST']);
    await flush();
    calls[1]!.reject(failure());
    await flush();
    expect(calls.slice(2).map((c) => c.items)).toEqual([['b'], ['c']]);
    expect(gc.stats.writes).toBe(4);
    calls[2]!.resolve(['B']);
    calls[3]!.resolve(['C']);
    await flush();
    expect(items.map((t) => t.value)).toEqual(['B', 'C']);
  });

  it('rejects a lone item that fails without writing it again', async () => {
    const { gc, calls } = committer();
    const p = track(gc.submit('a'));
    const err = new Error('check constraint violated');
    calls[0]!.reject(err);
    await flush();
    expect(calls).toHaveLength(1);
    expect(p).toMatchObject({ state: 'rejected', error: err });
  });

  it('frees the slot after a failed batch, so queued work goes on', async () => {
    const { gc, calls } = committer({ maxInFlight: 1 });
    const first = track(gc.submit('first'));
    const next = track(gc.submit('next'));
    calls[0]!.reject(unavailable());
    await flush();
    expect(first.state).toBe('rejected');
    expect(calls[1]!.items).toEqual(['next']);
    calls[1]!.resolve(['NEXT']);
    await flush();
    expect(next).toMatchObject({ state: 'resolved', value: 'NEXT' });
    expect(gc.stats).toMatchObject({ inFlight: 0, queued: 0 });
  });

  it('counts batches and items in stats', async () => {
    const { gc, calls } = committer({ maxInFlight: 1, maxBatch: 10 });
    expect(gc.stats).toEqual({ batches: 0, items: 0, writes: 0, queued: 0, inFlight: 0 });
    const all = ['a', 'b', 'c', 'd'].map((i) => gc.submit(i));
    expect(gc.stats).toEqual({ batches: 1, items: 1, writes: 1, queued: 3, inFlight: 1 });
    calls[0]!.resolve(['A']);
    await flush();
    expect(gc.stats).toEqual({ batches: 2, items: 4, writes: 2, queued: 0, inFlight: 1 });
    calls[1]!.resolve(['B', 'C', 'D']);
    await Promise.all(all);
    await flush();
    expect(gc.stats).toEqual({ batches: 2, items: 4, writes: 2, queued: 0, inFlight: 0 });
  });
});
