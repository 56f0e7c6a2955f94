// The stream threads' ends of the HTTP thread's query ports, played by the test: each
// answers from its "RocksDB" as stream-thread.ts would, and records what it was asked.
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { toWire, type EngineError } from '../../src/errors.js';
import type { QueryRequest, QueryResponse } from '../../src/stream/protocol.js';

export type Answer = DistributiveOmit<QueryResponse, 'id'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A thread's error answer, as stream-thread.ts sends it: the error itself on the wire. */
export const errorAnswer = (err: EngineError | Error): Answer => ({ ok: false, code: 'error', message: err.message, error: toWire(err) });

export interface Seen {
  readonly thread: number;
  readonly request: QueryRequest;
}

/**
 * The stream threads' ends of the query ports. Each answers from its "RocksDB": `values`
 * for get (by partition and key), `rows` for range (by partition, in store order).
 */
export class FakeStreamThreads {
  readonly channels: MessageChannel[];
  readonly seen: Seen[] = [];
  readonly values = new Map<string, string>();
  readonly rows = new Map<number, string[]>();
  /** Overrides every answer (error responses). */
  fail: Answer | undefined;
  /** Answers a range with every row from its offset, ignoring the limit (a thread breaking the protocol). */
  ignoreLimit = false;
  /** Partitions answered as a standby task answers: with this lag (undefined: a standby that does not say). */
  readonly standbyLag = new Map<number, number | undefined>();
  /** When set, requests wait here instead of being answered. */
  held: { thread: number; request: QueryRequest }[] | undefined;
  #onHeld: (() => void) | undefined;

  constructor(threads: number) {
    this.channels = Array.from({ length: threads }, () => new MessageChannel());
    this.channels.forEach(({ port2 }, thread) => {
      port2.on('message', (request: QueryRequest) => {
        this.seen.push({ thread, request });
        if (this.held !== undefined) {
          this.held.push({ thread, request });
          this.#onHeld?.();
          return;
        }
        this.#answer(thread, request);
      });
    });
  }

  get ports(): MessagePort[] {
    return this.channels.map((c) => c.port1);
  }

  /** Resolves once `n` requests are held: no sleeping, the messages drive it. */
  heldCount(n: number): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if ((this.held?.length ?? 0) >= n) resolve();
      };
      this.#onHeld = check;
      check();
    });
  }

  release(order: 'fifo' | 'reverse'): void {
    const list = this.held ?? [];
    this.held = undefined;
    for (const { thread, request } of order === 'fifo' ? list : [...list].reverse()) this.#answer(thread, request);
  }

  #answer(thread: number, request: QueryRequest): void {
    let answer: Answer;
    if (this.fail !== undefined) answer = this.fail;
    else if (request.type === 'get') {
      const v = this.values.get(`${request.partition}:${request.key}`);
      answer = { ok: true, values: v === undefined ? [] : [Buffer.from(v)] };
    } else {
      const all = this.rows.get(request.partition) ?? [];
      const rows = all.slice(request.offset, this.ignoreLimit ? undefined : request.offset + request.limit);
      answer = { ok: true, values: rows.map((r) => Buffer.from(r)) };
    }
    if (answer.ok && this.standbyLag.has(request.partition)) {
      const lag = this.standbyLag.get(request.partition);
      if (lag !== undefined) answer = { ...answer, lag };
    }
    const response = { id: request.id, ...answer } as QueryResponse;
    this.channels[thread]!.port2.postMessage(response);
  }

  close(): void {
    for (const { port1, port2 } of this.channels) {
      port1.close();
      port2.close();
    }
  }
}

