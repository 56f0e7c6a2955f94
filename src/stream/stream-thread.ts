// A stream thread: a piscina worker that owns the tasks the kafka thread pins to it
// (the affinity balancer in src/engine/stream-threads.ts), their RocksDB stores and their cache
// slices. It answers the kafka thread's requests (one piscina task each) and the HTTP
// thread's interactive queries, which arrive on a MessagePort of their own.
//
// Nothing thrown here may leave as a bare Error: structured clone would keep only its
// message, and the kafka thread could no longer tell a corrupted store (wipe it) from
// an illegal state (stop). Every failure leaves as a WireError (src/errors.ts).
import { threadId, type MessagePort } from 'node:worker_threads';
import { workerData } from 'piscina';
import { EngineError, toWire } from '../errors.js';
import { nameThread } from '../native/thread-name.js';
import { CacheSliceWriter } from '../state/cache.js';
import type { CacheLayout } from '../state/cache-layout.js';
import type { RocksStoreOptions } from '../state/rocksdb-store.js';
import type {
  EachResult,
  OpenResult,
  PrepareCommitResult,
  ProcessResult,
  QueryRequest,
  QueryResponse,
  StreamRequest,
  TaskStats,
} from './protocol.js';
import { Task } from './task.js';

export interface StreamThreadData {
  readonly cache: { readonly sab: SharedArrayBuffer; readonly layout: CacheLayout } | undefined;
  /** Each RocksDB store's block cache and memtables (from the memory budget); unset: Task's defaults. */
  readonly store?: RocksStoreOptions;
}

export type StreamThreadRequest = StreamRequest | { readonly type: 'attach-query-port'; readonly port: MessagePort };

// `stream-` and Node's thread id (the kafka thread's slots map its thread numbers to these ids).
nameThread(`stream-${threadId}`);
const { cache, store } = workerData as StreamThreadData;
const tasks = new Map<number, Task>();

function task(partition: number): Task {
  const t = tasks.get(partition);
  if (t === undefined) throw new EngineError('ORD_ERR_ILLEGAL_STATE', `task 0_${partition} is not open on this thread`);
  return t;
}

async function answer(req: QueryRequest): Promise<QueryResponse> {
  const t = tasks.get(req.partition);
  if (t === undefined) return { id: req.id, ok: false, code: 'not-owned', message: `task 0_${req.partition} is not here` };
  // A standby's copy answers too (committed state, behind by its lag: the HTTP thread says by how much).
  if (t.state !== 'RUNNING' && t.state !== 'STANDBY') return { id: req.id, ok: false, code: 'restoring', message: `task 0_${req.partition} is ${t.state}` };
  if (req.type === 'get') {
    const value = await t.get(req.key);
    return { id: req.id, ok: true, values: value === undefined ? [] : [value] };
  }
  return { id: req.id, ok: true, values: await t.range(req.offset, req.limit) };
}

function onQuery(port: MessagePort, q: QueryRequest): void {
  // answer() may throw synchronously (a malformed request): the catch covers both.
  Promise.resolve()
    .then(() => answer(q))
    .then(
      (res) => port.postMessage(res),
      (err: unknown) => port.postMessage({ id: q.id, ok: false, code: 'error', message: (err as Error).message, error: toWire(err) } satisfies QueryResponse),
    );
}

export default async function handle(req: StreamThreadRequest): Promise<unknown> {
  try {
    return await run(req);
  } catch (err) {
    // piscina clones what is thrown: a plain WireError arrives whole, an Error would not.
    // eslint-disable-next-line @typescript-eslint/only-throw-error
    throw toWire(err);
  }
}

async function run(req: StreamThreadRequest): Promise<unknown> {
  switch (req.type) {
    case 'attach-query-port':
      req.port.on('message', (q: QueryRequest) => onQuery(req.port, q));
      return true;
    case 'open': {
      await tasks.get(req.task.partition)?.close(true);
      tasks.delete(req.task.partition);
      // A standby has no cache slice: the partition's slice is its active owner's, here or elsewhere.
      const standby = req.standby === true;
      const writer = cache === undefined || standby ? undefined : new CacheSliceWriter(cache.sab, req.task.partition, cache.layout);
      writer?.clear();
      const { task: t, restoreFrom } = await Task.open(req.task, writer, standby, store);
      tasks.set(req.task.partition, t);
      return { restoreFrom } satisfies OpenResult;
    }
    case 'promote': {
      const writer = cache === undefined ? undefined : new CacheSliceWriter(cache.sab, req.partition, cache.layout);
      return { restoreFrom: await task(req.partition).promote(writer) } satisfies OpenResult;
    }
    case 'restore':
      await task(req.partition).restore(req.batch, req.positions);
      return true;
    case 'restored':
      await task(req.partition).markRestored();
      return true;
    case 'rollback':
      await task(req.partition).rollback();
      return true;
    case 'wipe':
      await tasks.get(req.task.partition)?.close(true);
      tasks.delete(req.task.partition);
      await Task.wipe(req.task);
      return true;
    case 'process': {
      return (await task(req.partition).process(req.records)) satisfies ProcessResult;
    }
    case 'prepareCommit':
      return { changelog: task(req.partition).prepareCommit() } satisfies PrepareCommitResult;
    case 'postCommit':
      await task(req.partition).postCommit(req.changelogEnd);
      return true;
    case 'close':
      await tasks.get(req.partition)?.close(req.dirty);
      tasks.delete(req.partition);
      return true;
    case 'stats':
      return (await Promise.all([...tasks.values()].map((t) => t.stats()))) satisfies TaskStats[];
    case 'each':
      // Side by side, as the separate messages they stand for would run; one failing
      // leaves the others to finish, and each answers for itself.
      return (await Promise.all(
        req.requests.map((r) =>
          run(r).then(
            (value): EachResult => ({ ok: true, value }),
            (err: unknown): EachResult => ({ ok: false, error: toWire(err) }),
          ),
        ),
      )) satisfies EachResult[];
  }
}
