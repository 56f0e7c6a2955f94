// The stream threads as a piscina pool pinned by task: a task's requests always run
// on the thread that owns its stores (the affinity balancer below); piscina gives the
// worker lifecycle, error propagation and run-time histograms. The pool is fixed-size
// and never idles workers out, so a thread's identity is stable for its tasks.
// Batches travel as plain structured-cloned arrays: bench/dispatch.bench.ts found
// msgpackr with a transferred buffer no faster (1000 records: within 5%; 100: 5-17%
// slower), and piscina's run() ~50 µs per round trip dearer than a bare MessagePort,
// which at a few hundred round trips a second is noise beside what it gives.
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { PiscinaTask } from 'piscina';
import type { CacheLayout } from '../state/cache-layout.js';
import type { StreamRequest } from './protocol.js';
import type { StreamThreadData, StreamThreadRequest } from './stream-thread.js';
import { assignThread } from './thread-assignment.js';

type LoadBalancer = NonNullable<NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer']>;

interface Pinned {
  readonly thread: number;
}

/**
 * piscina load balancer: the task names its thread index, and index i is the worker
 * with the i-th smallest id. Until all `size` workers are up it places nothing (null
 * makes a task wait), so that mapping is fixed before the first task lands.
 */
export function pinnedBalancer(size: number): (task: PiscinaTask, workers: { id: number }[]) => { id: number } | null {
  return (task, workers) => {
    const options = (task as unknown as Record<symbol, Pinned | null>)[Piscina.queueOptionsSymbol];
    if (options === null || options === undefined || workers.length < size) return null;
    const sorted = [...workers].sort((a, b) => a.id - b.id);
    return sorted[options.thread] ?? null;
  };
}

export class StreamThreads {
  readonly #pool: Piscina;
  readonly #owner = new Map<number, number>();
  readonly size: number;

  constructor(size: number, cache: { sab: SharedArrayBuffer; layout: CacheLayout } | undefined) {
    this.size = size;
    const workerData: StreamThreadData = { cache };
    this.#pool = new Piscina({
      filename: new URL('./stream-thread.js', import.meta.url).href,
      minThreads: size,
      maxThreads: size,
      idleTimeout: Infinity,
      concurrentTasksPerWorker: 64,
      // piscina's default ('sync') parks an idle worker in Atomics.wait, which blocks
      // its event loop: interactive queries arriving on a stream thread's own
      // MessagePort would wait for the next piscina task (seen: 20 s and more).
      atomics: 'disabled',
      workerData,
      loadBalancer: pinnedBalancer(size) as unknown as LoadBalancer,
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

  run<T>(partition: number, request: StreamRequest): Promise<T> {
    return this.#runOn<T>(this.ownerOf(partition), request, []);
  }

  runOnThread<T>(thread: number, request: StreamRequest): Promise<T> {
    return this.#runOn<T>(thread, request, []);
  }

  /** One MessagePort per thread for interactive queries; returns the other ends. */
  async queryPorts(): Promise<MessagePort[]> {
    const ports: MessagePort[] = [];
    for (let thread = 0; thread < this.size; thread++) {
      const { port1, port2 } = new MessageChannel();
      await this.#runOn(thread, { type: 'attach-query-port', port: port2 }, [port2]);
      ports.push(port1);
    }
    return ports;
  }

  #runOn<T>(thread: number, request: StreamThreadRequest, transferList: MessagePort[]): Promise<T> {
    const task = { ...request, [Piscina.queueOptionsSymbol]: { thread } satisfies Pinned };
    return this.#pool.run(task, { transferList }) as Promise<T>;
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}
