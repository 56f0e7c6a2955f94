// Interactive queries on orders-store from the HTTP thread: the partition of an order
// id by Kafka's partitioner, a cache read from shared memory (no message hop), and on
// a miss a read of the owning stream thread's RocksDB over its query port.
//
// A question to a thread is bounded twice: in time (QUERY_TIMEOUT_MS, then a 503) and
// in number (MAX_PENDING, then a 503 at once), so a thread that hangs or dies cannot
// pile up requests and memory here. A replaced thread gets a new port (replacePort);
// what was asked of the old one is answered with a 503 at once.
import type { MessagePort } from 'node:worker_threads';
import { EngineError, fromWire } from '../errors.js';
import { partitionFor } from '../kafka/partitioner.js';
import type { CacheReader } from '../state/cache.js';
import type { QueryRequest, QueryResponse } from '../stream/protocol.js';
import type { EngineState, TaskInfo } from '../engine/engine-state.js';

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

interface Pending {
  readonly thread: number;
  readonly resolve: (values: readonly Uint8Array[]) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export interface StoreQueryLimits {
  /** A thread that has not answered in this long gets the request a 503. */
  readonly timeoutMs: number;
  /** Questions in flight to all threads at once; past it, a 503 at once. */
  readonly maxPending: number;
}

export const DEFAULT_QUERY_LIMITS: StoreQueryLimits = { timeoutMs: 5000, maxPending: 10_000 };

export class StoreQueries {
  readonly #numPartitions: number;
  readonly #cache: CacheReader | undefined;
  readonly #ports: (MessagePort | undefined)[];
  readonly #limits: StoreQueryLimits;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #state: EngineState = 'CREATED';
  #tasks = new Map<number, TaskInfo>();

  constructor(numPartitions: number, cache: CacheReader | undefined, ports: readonly MessagePort[], limits: StoreQueryLimits = DEFAULT_QUERY_LIMITS) {
    this.#numPartitions = numPartitions;
    this.#cache = cache;
    this.#limits = limits;
    this.#ports = [];
    ports.forEach((port, thread) => this.replacePort(thread, port));
  }

  /** Questions waiting for an answer (metrics, tests). */
  get pending(): number {
    return this.#pending.size;
  }

  /** Takes a thread's (new) query port; questions still waiting on its old one fail at once. */
  replacePort(thread: number, port: MessagePort): void {
    const old = this.#ports[thread];
    if (old !== undefined) {
      old.removeAllListeners('message');
      old.close();
      for (const [id, p] of this.#pending) {
        if (p.thread !== thread) continue;
        this.#settle(id)?.reject(new EngineError('ORD_ERR_STORE_NOT_READY', `stream thread ${thread} was replaced while answering; retry`));
      }
    }
    this.#ports[thread] = port;
    port.on('message', (res: QueryResponse) => {
      const p = this.#settle(res.id);
      if (p === undefined) return; // timed out already
      if (res.ok) p.resolve(res.values);
      else if (res.code === 'error') p.reject(fromWire(res.error));
      else if (res.code === 'not-owned') p.reject(this.#notOwned(undefined));
      else p.reject(new EngineError('ORD_ERR_STORE_NOT_READY', res.message));
    });
    port.unref();
  }

  /** Closes every query port (shutdown). */
  close(): void {
    for (const port of this.#ports) port?.close();
  }

  updateTasks(state: EngineState, tasks: readonly TaskInfo[]): void {
    this.#state = state;
    this.#tasks = new Map(tasks.map((t) => [t.partition, t]));
  }

  get ready(): boolean {
    // Standbys are warm copies of other instances' tasks: not this instance's to wait for.
    return this.#state === 'RUNNING' && [...this.#tasks.values()].every((t) => t.state === 'RUNNING' || t.state === 'STANDBY');
  }

  /** The latest OrderDto bytes of an order, or undefined when the store has none. */
  async get(orderId: number): Promise<Uint8Array | undefined> {
    const key = String(orderId);
    const partition = partitionFor(key, this.#numPartitions);
    const task = this.#runningTask(partition);
    const cached = this.#cache?.get(partition, orderId);
    if (cached !== undefined) return cached ?? undefined; // null: deleted, not yet written down
    const [value] = await this.#ask(task.thread, { type: 'get', partition, key });
    return value;
  }

  /** A page of the store in store order: partition by partition, key order inside. */
  async page(pageNo: number, pageSize: number): Promise<Uint8Array[]> {
    if (!this.ready) throw this.#notReady();
    let skip = pageNo * pageSize;
    const out: Uint8Array[] = [];
    for (let partition = 0; partition < this.#numPartitions && out.length < pageSize; partition++) {
      const task = this.#tasks.get(partition);
      if (task === undefined || task.state === 'STANDBY') continue; // owned by another instance (multi-instance paging comes with discovery)
      const rows = await this.#ask(task.thread, { type: 'range', partition, offset: 0, limit: skip + pageSize - out.length });
      if (rows.length <= skip) {
        skip -= rows.length;
        continue;
      }
      out.push(...rows.slice(skip, skip + pageSize - out.length));
      skip = 0;
    }
    return out;
  }

  #runningTask(partition: number): TaskInfo {
    const task = this.#tasks.get(partition);
    if (task === undefined || task.state === 'STANDBY') {
      // A running instance without the task does not own it; while the engine
      // rebalances, nobody can tell yet.
      throw this.#state === 'RUNNING' ? this.#notOwned(partition) : this.#notReady(partition);
    }
    if (task.state !== 'RUNNING') throw this.#notReady(partition);
    return task;
  }

  #notReady(partition?: number): EngineError {
    const which = partition === undefined ? 'orders-store' : `orders-store partition ${partition}`;
    return new EngineError('ORD_ERR_STORE_NOT_READY', `${which} is not ready (${this.#state}): it is being restored or rebalanced; retry shortly`);
  }

  #notOwned(partition: number | undefined): EngineError {
    const which = partition === undefined ? 'this partition of orders-store' : `orders-store partition ${partition}`;
    return new EngineError('ORD_ERR_STORE_NOT_OWNED', `${which} is not owned by this instance; ask the instance that owns it`);
  }

  #settle(id: number): Pending | undefined {
    const p = this.#pending.get(id);
    if (p === undefined) return undefined;
    this.#pending.delete(id);
    clearTimeout(p.timer);
    return p;
  }

  #ask(thread: number, request: WithoutId<QueryRequest>): Promise<readonly Uint8Array[]> {
    const port = this.#ports[thread];
    if (port === undefined) return Promise.reject(this.#notReady());
    if (this.#pending.size >= this.#limits.maxPending) {
      return Promise.reject(new EngineError('ORD_ERR_OVERLOADED', `${this.#pending.size} store queries are waiting for the stream threads; retry shortly`));
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#settle(id)?.reject(new EngineError('ORD_ERR_STORE_QUERY_TIMEOUT', `stream thread ${thread} did not answer within ${this.#limits.timeoutMs} ms`));
      }, this.#limits.timeoutMs);
      timer.unref();
      this.#pending.set(id, { thread, resolve, reject, timer });
      const message: QueryRequest = { ...request, id };
      port.postMessage(message);
    });
  }
}
