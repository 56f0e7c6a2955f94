// Interactive queries on orders-store from the HTTP thread: the partition of an order
// id by Kafka's partitioner, a cache read from shared memory (no message hop), and on
// a miss a read of the owning stream thread's RocksDB over its query port.
import type { MessagePort } from 'node:worker_threads';
import { EngineError } from '../errors.js';
import { partitionFor } from '../kafka/partitioner.js';
import type { CacheReader } from '../state/cache.js';
import type { QueryRequest, QueryResponse } from '../stream/protocol.js';
import type { EngineState, TaskInfo } from '../stream/stream-engine.js';

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;
type Pending = { resolve: (values: readonly Uint8Array[]) => void; reject: (err: EngineError) => void };

export class StoreQueries {
  readonly #numPartitions: number;
  readonly #cache: CacheReader | undefined;
  readonly #ports: readonly MessagePort[];
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #state: EngineState = 'CREATED';
  #tasks = new Map<number, TaskInfo>();

  constructor(numPartitions: number, cache: CacheReader | undefined, ports: readonly MessagePort[]) {
    this.#numPartitions = numPartitions;
    this.#cache = cache;
    this.#ports = ports;
    for (const port of ports) {
      port.on('message', (res: QueryResponse) => {
        const p = this.#pending.get(res.id);
        if (p === undefined) return;
        this.#pending.delete(res.id);
        if (res.ok) p.resolve(res.values);
        else p.reject(new EngineError(res.code === 'error' ? 'ORD_ERR_INTERNAL' : 'ORD_ERR_STORE_NOT_READY', res.message));
      });
      port.unref();
    }
  }

  updateTasks(state: EngineState, tasks: readonly TaskInfo[]): void {
    this.#state = state;
    this.#tasks = new Map(tasks.map((t) => [t.partition, t]));
  }

  get ready(): boolean {
    return this.#state === 'RUNNING' && [...this.#tasks.values()].every((t) => t.state === 'RUNNING');
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
      if (task === undefined) continue; // owned by another instance (multi-instance paging comes with discovery)
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
    if (task === undefined || task.state !== 'RUNNING') throw this.#notReady(partition);
    return task;
  }

  #notReady(partition?: number): EngineError {
    const which = partition === undefined ? 'orders-store' : `orders-store partition ${partition}`;
    return new EngineError('ORD_ERR_STORE_NOT_READY', `${which} is not ready (${this.#state}): it is being restored or rebalanced; retry shortly`);
  }

  #ask(thread: number, request: WithoutId<QueryRequest>): Promise<readonly Uint8Array[]> {
    const port = this.#ports[thread];
    if (port === undefined) return Promise.reject(this.#notReady());
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      const message: QueryRequest = { ...request, id };
      port.postMessage(message);
    });
  }
}
