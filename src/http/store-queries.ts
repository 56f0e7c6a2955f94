// Interactive queries on this instance's part of orders-store, from the HTTP thread:
// the partition of an order id by Kafka's partitioner, a cache read from shared memory
// (no message hop), and on a miss a read of the owning stream thread's RocksDB over its
// query port. Which instance answers for a partition is cluster-store.ts' decision;
// this file answers for the tasks this instance has.
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
import type { Id64 } from '../domain/id64.js';
import { streamsReady } from './health.js';

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** A thread's answer: the values, and for a standby task how far its copy trails. */
export interface ThreadAnswer {
  readonly values: readonly Uint8Array[];
  readonly lag: number | undefined;
}

interface Pending {
  readonly thread: number;
  readonly resolve: (answer: ThreadAnswer) => void;
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
      if (res.ok) p.resolve({ values: res.values, lag: res.lag });
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

  /** Every active task restored and running (health.ts). */
  get ready(): boolean {
    return streamsReady(this.#state, this.#tasks.values());
  }

  /** This instance's tasks as last reported. */
  get tasks(): readonly TaskInfo[] {
    return [...this.#tasks.values()];
  }

  /** This instance's task of `partition`, if it has one. */
  task(partition: number): TaskInfo | undefined {
    return this.#tasks.get(partition);
  }

  /** The engine's state as last reported. */
  get state(): EngineState {
    return this.#state;
  }

  /**
   * The latest OrderDto bytes of an order from this instance's running task, or
   * undefined when the store has none; a 503 when this instance cannot answer for it.
   */
  async get(orderId: Id64): Promise<Uint8Array | undefined> {
    const partition = partitionFor(String(orderId), this.#numPartitions);
    return this.getRunning(partition, this.#runningTask(partition).thread, orderId);
  }

  /** As get(), from the running task of `partition` on `thread` (the caller checked the task). */
  async getRunning(partition: number, thread: number, orderId: Id64): Promise<Uint8Array | undefined> {
    const cached = this.#cache?.get(partition, orderId);
    if (cached !== undefined) return cached ?? undefined; // null: deleted, not yet written down
    const { values } = await this.#ask(thread, { type: 'get', partition, key: String(orderId) });
    return values[0];
  }

  /**
   * The value of an order in a standby task's copy (never through the cache: a standby
   * has no cache slice of its own, and the slice of the partition may hold what this
   * instance cached while it was active), with the copy's lag as the thread reports it.
   */
  async getStandby(partition: number, thread: number, orderId: Id64): Promise<{ value: Uint8Array | undefined; lag: number | undefined }> {
    const { values, lag } = await this.#ask(thread, { type: 'get', partition, key: String(orderId) });
    // The stream thread does not know the lag; the kafka thread's changelog reader does (TaskInfo).
    return { value: values[0], lag: lag ?? this.#tasks.get(partition)?.lag };
  }

  /** The first `limit` values of a task's partition, in key order (a standby's with its lag). */
  async range(partition: number, thread: number, limit: number): Promise<ThreadAnswer> {
    const answer = await this.#ask(thread, { type: 'range', partition, offset: 0, limit });
    const task = this.#tasks.get(partition);
    return task?.state === 'STANDBY' && answer.lag === undefined && task.lag !== undefined ? { ...answer, lag: task.lag } : answer;
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

  #ask(thread: number, request: WithoutId<QueryRequest>): Promise<ThreadAnswer> {
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
