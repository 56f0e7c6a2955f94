import { MessageChannel } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EngineError } from '../../src/errors.js';
import { StoreQueries } from '../../src/http/store-queries.js';
import { partitionFor } from '../../src/kafka/partitioner.js';
import { CacheReader, CacheSliceWriter, createCacheBuffer } from '../../src/state/cache.js';
import type { QueryRequest } from '../../src/stream/protocol.js';
import type { EngineState, TaskInfo } from '../../src/engine/engine-state.js';
import { errorAnswer, FakeStreamThreads, type Seen } from '../support/fake-stream-threads.js';

const NUM_PARTITIONS = 4;
const THREADS = 2;
// Partition → owning thread. Not partition % THREADS, so a request sent to the port of
// the partition number instead of the owner's lands on the wrong thread and shows.
const OWNER = [1, 0, 1, 0] as const;

/** Order ids whose partition (Kafka's partitioner over the decimal id) is p: ids[p][0], ids[p][1], … */
const ids: number[][] = Array.from({ length: NUM_PARTITIONS }, () => []);
for (let id = 1_000; ids.some((l) => l.length < 3); id++) {
  const list = ids[partitionFor(String(id), NUM_PARTITIONS)]!;
  if (list.length < 3) list.push(id);
}
const idOn = (partition: number, n = 0): number => ids[partition]![n]!;

const allRunning = (): TaskInfo[] => OWNER.map((thread, partition) => ({ partition, thread, state: 'RUNNING' as const }));
const text = (v: Uint8Array | undefined): string | undefined => (v === undefined ? undefined : Buffer.from(v).toString('utf8'));

async function rejection(p: Promise<unknown>): Promise<EngineError> {
  const err: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(EngineError);
  return err as EngineError;
}

let threads: FakeStreamThreads;
let writers: CacheSliceWriter[];
let queries: StoreQueries;

beforeEach(() => {
  threads = new FakeStreamThreads(THREADS);
  const { sab, layout } = createCacheBuffer(64 * 1024, NUM_PARTITIONS);
  writers = Array.from({ length: NUM_PARTITIONS }, (_, p) => new CacheSliceWriter(sab, p, layout));
  queries = new StoreQueries(NUM_PARTITIONS, new CacheReader(sab, layout), threads.ports);
});

afterEach(() => {
  threads.close();
});

/**
 * Proves no earlier message is still on its way to any stream thread: a port keeps
 * its messages in order, so once a fresh miss on every thread is answered, anything
 * sent before it has been seen. Returns the requests seen before the drain.
 */
async function seenBeforeDrain(): Promise<Seen[]> {
  const before = threads.seen.length;
  queries.updateTasks('RUNNING', allRunning());
  // ids[p][2] is never cached by any test: a miss on partitions 0 (thread 1) and 1 (thread 0).
  await Promise.all([queries.get(idOn(0, 2)), queries.get(idOn(1, 2))]);
  const drained = threads.seen.slice(before);
  expect(drained.map((s) => s.thread).sort()).toEqual([0, 1]);
  return threads.seen.slice(0, before);
}

describe('StoreQueries: readiness', () => {
  const restoring = (partition: number): TaskInfo[] => allRunning().map((t) => (t.partition === partition ? { ...t, state: 'RESTORING' as const } : t));
  it.each<{ name: string; update: [EngineState, TaskInfo[]] | undefined }>([
    { name: 'before any task update', update: undefined },
    { name: 'while the engine rebalances with no tasks yet', update: ['REBALANCING', []] },
    { name: 'while the task of the key restores (engine RUNNING)', update: ['RUNNING', restoring(2)] },
    { name: 'while the task of the key restores (engine REBALANCING)', update: ['REBALANCING', restoring(2)] },
  ])('get() rejects with ORD_ERR_STORE_NOT_READY (503) $name, even for a cached key, without asking a thread', async ({ update }) => {
    const id = idOn(2);
    writers[2]!.put(id, Buffer.from('cached'), { dirty: true });
    threads.values.set(`2:${id}`, 'stored');
    if (update !== undefined) queries.updateTasks(...update);
    expect(queries.ready).toBe(false);

    const err = await rejection(queries.get(id));
    expect(err.code).toBe('ORD_ERR_STORE_NOT_READY');
    expect(err.status).toBe(503);
    expect(err.canRetry).toBe(true);
    expect(await seenBeforeDrain()).toEqual([]);
  });

  it('get() answers for a running task while another task restores (readiness is per partition)', async () => {
    queries.updateTasks('RUNNING', restoring(2));
    const id = idOn(1);
    threads.values.set(`1:${id}`, 'v1');
    expect(text(await queries.get(id))).toBe('v1');
  });

  it('is ready once the engine and every task run', () => {
    queries.updateTasks('RUNNING', allRunning());
    expect(queries.ready).toBe(true);
  });
});

describe('StoreQueries.get', () => {
  beforeEach(() => {
    queries.updateTasks('RUNNING', allRunning());
  });

  it.each([0, 1, 2, 3])('answers a key cached in partition %i from shared memory, without a port message', async (p) => {
    const id = idOn(p);
    writers[p]!.put(id, Buffer.from(`cached-${id}`), { dirty: false });
    // RocksDB holds an older value: an answer from the port would show.
    threads.values.set(`${p}:${id}`, 'stale');
    expect(text(await queries.get(id))).toBe(`cached-${id}`);
    expect(await seenBeforeDrain()).toEqual([]);
  });

  it.each([0, 1, 2, 3])('answers undefined for a key deleted in the cache of partition %i, without a port message', async (p) => {
    const id = idOn(p);
    writers[p]!.put(id, Buffer.from('old'), { dirty: true });
    writers[p]!.delete(id);
    // The delete is not written down yet: RocksDB still has the value.
    threads.values.set(`${p}:${id}`, 'not yet deleted');
    expect(await queries.get(id)).toBeUndefined();
    expect(await seenBeforeDrain()).toEqual([]);
  });

  it.each([0, 1, 2, 3])('on a miss asks the thread owning partition %i for that partition and the decimal key', async (p) => {
    const id = idOn(p, 1);
    threads.values.set(`${p}:${id}`, `stored-${id}`);
    expect(text(await queries.get(id))).toBe(`stored-${id}`);
    expect(threads.seen).toHaveLength(1);
    const { thread, request } = threads.seen[0]!;
    expect(thread).toBe(OWNER[p]);
    expect(request).toEqual({ id: expect.any(Number), type: 'get', partition: p, key: String(id) });
  });

  it('answers undefined when neither the cache nor the store has the key', async () => {
    expect(await queries.get(idOn(3, 1))).toBeUndefined();
    expect(threads.seen).toHaveLength(1);
  });

  it('asks the thread on a miss when there is no cache at all', async () => {
    const q = new StoreQueries(NUM_PARTITIONS, undefined, threads.ports);
    q.updateTasks('RUNNING', allRunning());
    const id = idOn(0);
    threads.values.set(`0:${id}`, 'from-rocksdb');
    expect(text(await q.get(id))).toBe('from-rocksdb');
    expect(threads.seen.map((s) => s.thread)).toEqual([OWNER[0]]);
  });

  it('matches answers to questions by id, not by arrival order', async () => {
    const a = idOn(0, 1);
    const b = idOn(2, 1); // same owner thread as partition 0
    threads.values.set(`0:${a}`, 'A');
    threads.values.set(`2:${b}`, 'B');
    threads.held = [];
    const pa = queries.get(a);
    const pb = queries.get(b);
    await threads.heldCount(2);
    threads.release('reverse');
    expect([text(await pa), text(await pb)]).toEqual(['A', 'B']);
    const [ra, rb] = threads.seen.map((s) => s.request.id);
    expect(ra).not.toBe(rb);
  });

  it.each([
    { code: 'restoring' as const, expected: 'ORD_ERR_STORE_NOT_READY' },
    { code: 'not-owned' as const, expected: 'ORD_ERR_STORE_NOT_OWNED' },
  ])('rejects with $expected when the thread answers $code', async ({ code, expected }) => {
    threads.fail = { ok: false, code, message: `thread says ${code}` };
    const err = await rejection(queries.get(idOn(1, 1)));
    expect(err.code).toBe(expected);
  });

  it.each([
    { thrown: new EngineError('ORD_ERR_STATE_CORRUPTED', 'Corruption: bad block'), expected: 'ORD_ERR_STATE_CORRUPTED' },
    { thrown: new EngineError('ORD_ERR_ILLEGAL_STATE', 'no such task'), expected: 'ORD_ERR_ILLEGAL_STATE' },
    { thrown: new TypeError('a bug'), expected: undefined },
  ])('keeps the class of an error the thread answers with ($expected)', async ({ thrown, expected }) => {
    threads.fail = errorAnswer(thrown);
    const err: unknown = await queries.get(idOn(1, 1)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as { code?: string }).code).toBe(expected);
    expect((err as Error).message).toBe(thrown.message);
  });

  it('says "not owned here" (503 ORD_ERR_STORE_NOT_OWNED), not "restoring", for a partition a running instance does not own', async () => {
    queries.updateTasks('RUNNING', allRunning().filter((t) => t.partition !== 3));
    const err = await rejection(queries.get(idOn(3, 1)));
    expect(err).toMatchObject({ code: 'ORD_ERR_STORE_NOT_OWNED', status: 503 });
    expect(err.message).toMatch(/not owned by this instance/);
    // While the engine rebalances, nobody can tell yet: not ready.
    queries.updateTasks('REBALANCING', allRunning().filter((t) => t.partition !== 3));
    expect((await rejection(queries.get(idOn(3, 1)))).code).toBe('ORD_ERR_STORE_NOT_READY');
  });

  it('rejects, not hangs, when the owning thread has no port', async () => {
    queries.updateTasks('RUNNING', allRunning().map((t) => (t.partition === 3 ? { ...t, thread: THREADS } : t)));
    expect((await rejection(queries.get(idOn(3, 1)))).code).toBe('ORD_ERR_STORE_NOT_READY');
  });
});

describe('StoreQueries: bounds on questions to the threads', () => {
  // Regression: pending queries had no timeout and no bound; a thread that stopped
  // answering left every request hanging and the map growing.
  it('answers 503 ORD_ERR_STORE_QUERY_TIMEOUT when a thread does not answer in time, and forgets the question', async () => {
    const q = new StoreQueries(NUM_PARTITIONS, undefined, threads.ports, { timeoutMs: 50, maxPending: 100 });
    q.updateTasks('RUNNING', allRunning());
    threads.held = [];
    const err = await rejection(q.get(idOn(0, 1)));
    expect(err).toMatchObject({ code: 'ORD_ERR_STORE_QUERY_TIMEOUT', status: 503 });
    expect(q.pending).toBe(0);
    // A late answer to the forgotten question is ignored.
    threads.release('fifo');
  });

  it('refuses at once (503 ORD_ERR_OVERLOADED) past maxPending questions in flight', async () => {
    const q = new StoreQueries(NUM_PARTITIONS, undefined, threads.ports, { timeoutMs: 10_000, maxPending: 3 });
    q.updateTasks('RUNNING', allRunning());
    threads.held = [];
    const waiting = [0, 1, 2].map((p) => q.get(idOn(p, 1)));
    await threads.heldCount(3);
    expect((await rejection(q.get(idOn(3, 1)))).code).toBe('ORD_ERR_OVERLOADED');
    threads.release('fifo');
    await Promise.all(waiting);
    expect(q.pending).toBe(0);
  });

  it('fails questions waiting on a replaced thread at once and asks the new port from then on', async () => {
    queries.updateTasks('RUNNING', allRunning());
    threads.held = [];
    // Partition 1 is owned by thread 0.
    const waiting = queries.get(idOn(1, 1));
    await threads.heldCount(1);
    const replacement = new MessageChannel();
    replacement.port2.on('message', (request: QueryRequest) => replacement.port2.postMessage({ id: request.id, ok: true, values: [Buffer.from('from the new thread')] }));
    queries.replacePort(0, replacement.port1);
    expect((await rejection(waiting)).code).toBe('ORD_ERR_STORE_NOT_READY');
    expect(text(await queries.get(idOn(1, 2)))).toBe('from the new thread');
    replacement.port1.close();
    replacement.port2.close();
  });
});
