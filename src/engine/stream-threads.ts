// The stream threads as a piscina pool pinned by task: a task's requests always run
// on the thread that owns its stores (the affinity balancer below); piscina gives the
// worker lifecycle, error propagation and run-time histograms. The pool is fixed-size
// and never idles workers out, so a thread's identity is stable for its tasks.
// Process batches travel as plain structured-cloned arrays: bench/dispatch.bench.ts
// found msgpackr with a transferred buffer no faster (1000 records: within 5%; 100:
// 5-17% slower), and piscina's run() ~50 µs per round trip dearer than a bare
// MessagePort, which at a few hundred round trips a second is noise beside what it
// gives. Restore batches are the exception: a restore moves every record of a store's
// history, and packed into one transferred buffer (src/stream/restore-batch.ts) it
// went from 133k to 154-168k records/s (npm run bench:restore).
//
// A thread that dies (an uncaught error in it) is replaced by piscina. Its replacement
// takes the same thread index (slot), so the tasks pinned to that index stay pinned
// to one thread; the tasks it held are gone with it and the engine reopens them
// (onThreadLost), and it gets a new query port for the HTTP thread (queryPort()).
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { PiscinaTask } from 'piscina';
import { EngineError, fromWire, type WireError } from '../errors.js';
import type { CacheLayout } from '../state/cache-layout.js';
import type { RocksStoreOptions } from '../state/rocksdb-store.js';
import type { EachResult, StreamRequest, TaskRequest } from '../stream/protocol.js';
import type { StreamThreadData, StreamThreadRequest } from '../stream/stream-thread.js';
import { assignThread } from './thread-assignment.js';

type LoadBalancer = NonNullable<NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer']>;

interface Pinned {
  readonly thread: number;
}

/**
 * piscina load balancer: the task names its thread index (slot). The first time all
 * `size` workers are up, slot i goes to the worker with the i-th smallest id; until
 * then nothing is placed (null makes a task wait), so that mapping is fixed before the
 * first task lands. A slot whose worker has gone is taken by a worker no slot names
 * (piscina's replacement); until one is up, that slot's tasks wait. `slots` holds the
 * mapping (slot → worker id) and is updated in place.
 */
export function pinnedBalancer(size: number, slots: number[] = []): (task: PiscinaTask, workers: { id: number }[]) => { id: number } | null {
  return (task, workers) => {
    const options = (task as unknown as Record<symbol, Pinned | null>)[Piscina.queueOptionsSymbol];
    if (options === null || options === undefined || options.thread < 0 || options.thread >= size) return null;
    if (slots.length === 0) {
      if (workers.length < size) return null;
      slots.push(...workers.map((w) => w.id).sort((a, b) => a - b).slice(0, size));
    }
    const current = workers.find((w) => w.id === slots[options.thread]);
    if (current !== undefined) return current;
    let replacement: { id: number } | undefined;
    for (const w of workers) if (!slots.includes(w.id) && (replacement === undefined || w.id < replacement.id)) replacement = w;
    if (replacement === undefined) return null;
    slots[options.thread] = replacement.id;
    return replacement;
  };
}

const isWireError = (v: unknown): v is WireError =>
  typeof v === 'object' && v !== null && !(v instanceof Error) && typeof (v as WireError).message === 'string' && typeof (v as WireError).name === 'string';

export interface StreamThreadsEvents {
  /** A thread died: the tasks pinned to it lost their state there and must be reopened. */
  onThreadLost(thread: number, err: Error): void;
}

export class StreamThreads {
  readonly #pool: Piscina;
  readonly #owner = new Map<number, number>();
  readonly #slots: number[] = [];
  readonly #events: StreamThreadsEvents;
  readonly #watched = new WeakSet<Worker>();
  #lastError: Error | undefined;
  #closing = false;
  readonly size: number;

  constructor(
    size: number,
    cache: { sab: SharedArrayBuffer; layout: CacheLayout } | undefined,
    events: StreamThreadsEvents,
    filename?: string,
    limits: { readonly heapMb?: number; readonly store?: RocksStoreOptions } = {},
  ) {
    this.size = size;
    const workerData: StreamThreadData = { cache, store: limits.store };
    this.#pool = new Piscina({
      filename: filename ?? new URL('../stream/stream-thread.js', import.meta.url).href,
      minThreads: size,
      maxThreads: size,
      idleTimeout: Infinity,
      concurrentTasksPerWorker: 64,
      // piscina's default ('sync') parks an idle worker in Atomics.wait, which blocks
      // its event loop: interactive queries arriving on a stream thread's own
      // MessagePort would wait for the next piscina task (seen: 20 s and more).
      atomics: 'disabled',
      workerData,
      // Each thread's V8 heap, from the memory budget (V8's default is sized from the machine).
      ...(limits.heapMb === undefined ? {} : { resourceLimits: { maxOldGenerationSizeMb: limits.heapMb } }),
      loadBalancer: pinnedBalancer(size, this.#slots) as unknown as LoadBalancer,
    });
    // A thread that dies with no task running is reported as an 'error' event; an
    // EventEmitter without a listener would rethrow it here and end the process. The
    // loss itself is reported by the worker's 'exit' (see #watch).
    this.#pool.on('error', (err: Error) => {
      this.#lastError = err;
    });
    this.#events = events;
  }

  /**
   * Reports the thread of index `thread` lost when its worker exits. piscina's own
   * 'workerDestroy' cannot say which: a worker's threadId is -1 once it has exited.
   * Armed when a query port is attached, which happens for every thread at start and
   * for each replacement.
   */
  #watch(thread: number): void {
    const worker = this.worker(thread);
    if (worker === undefined || this.#watched.has(worker)) return;
    this.#watched.add(worker);
    worker.once('exit', (code) => {
      if (this.#closing) return;
      const err = this.#lastError ?? new Error(`stream thread ${thread} exited with code ${code}`);
      this.#lastError = undefined;
      this.#events.onThreadLost(thread, err);
    });
  }

  /** The thread that owns (or will own) a task. */
  ownerOf(partition: number): number {
    let thread = this.#owner.get(partition);
    if (thread === undefined) {
      const load = Array.from({ length: this.size }, () => 0);
      for (const t of this.#owner.values()) load[t]!++;
      thread = assignThread(load);
      this.#owner.set(partition, thread);
    }
    return thread;
  }

  release(partition: number): void {
    this.#owner.delete(partition);
  }

  get owners(): ReadonlyMap<number, number> {
    return this.#owner;
  }

  /** The worker of a thread index, if it is up (diagnostics and tests). */
  worker(thread: number): Worker | undefined {
    return this.#pool.threads.find((w) => w.threadId === this.#slots[thread]);
  }

  /** `transfer`: buffers the request owns, moved to the thread instead of cloned. */
  run<T>(partition: number, request: StreamRequest, transfer: readonly ArrayBuffer[] = []): Promise<T> {
    return this.#runOn<T>(this.ownerOf(partition), request, transfer);
  }

  /**
   * Runs tasks' requests with one message per thread rather than one per task: the
   * stream loop sends a request to every task with records on each poll, and to every
   * running task twice per commit, and at a few thousand messages a second their
   * round trips were a tenth of the kafka thread's time. Answers in the order asked;
   * every request has run when it settles, and it rejects with the first failure in
   * that order, the error each thread threw (or its loss).
   */
  async runEach<T>(requests: readonly TaskRequest[]): Promise<T[]> {
    const byThread = new Map<number, number[]>();
    requests.forEach((r, i) => {
      const thread = this.ownerOf(r.partition);
      let list = byThread.get(thread);
      if (list === undefined) byThread.set(thread, (list = []));
      list.push(i);
    });
    const values = new Array<T>(requests.length);
    const errors = new Array<unknown>(requests.length);
    await Promise.all(
      [...byThread].map(async ([thread, indexes]) => {
        let answers: EachResult[];
        try {
          answers = await this.#runOn<EachResult[]>(thread, { type: 'each', requests: indexes.map((i) => requests[i]!) }, []);
        } catch (err) {
          for (const i of indexes) errors[i] = err; // the thread is lost: an EngineError already
          return;
        }
        indexes.forEach((i, k) => {
          const a = answers[k]!;
          if (a.ok) values[i] = a.value as T;
          else errors[i] = fromWire(a.error);
        });
      }),
    );
    for (let i = 0; i < requests.length; i++) if (errors[i] !== undefined) throw errors[i];
    return values;
  }

  runOnThread<T>(thread: number, request: StreamRequest): Promise<T> {
    return this.#runOn<T>(thread, request, []);
  }

  /** One MessagePort per thread for interactive queries; returns the other ends. */
  async queryPorts(): Promise<MessagePort[]> {
    const ports: MessagePort[] = [];
    for (let thread = 0; thread < this.size; thread++) ports.push(await this.queryPort(thread));
    return ports;
  }

  /** A new query port on `thread` (after a replacement: the old one died with the thread). */
  async queryPort(thread: number): Promise<MessagePort> {
    const { port1, port2 } = new MessageChannel();
    await this.#runOn(thread, { type: 'attach-query-port', port: port2 }, [port2]);
    this.#watch(thread);
    return port1;
  }

  async #runOn<T>(thread: number, request: StreamThreadRequest, transferList: readonly (MessagePort | ArrayBuffer)[]): Promise<T> {
    const task = { ...request, [Piscina.queueOptionsSymbol]: { thread } satisfies Pinned };
    try {
      return (await this.#pool.run(task, { transferList: [...transferList] })) as T;
    } catch (err) {
      // The thread's own failures arrive as WireErrors (stream-thread.ts); an Error is
      // piscina's: the thread died under the task.
      if (isWireError(err)) throw fromWire(err);
      const during = request.type === 'each' ? [...new Set(request.requests.map((r) => r.type))].join('+') : request.type;
      throw new EngineError('ORD_ERR_STREAM_THREAD_LOST', `stream thread ${thread} failed during ${during}: ${(err as Error).message}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    this.#closing = true;
    await this.#pool.close();
  }
}
