// The native calls still running on each librdkafka client, so that a client is never
// destroyed under one.
//
// node-rdkafka's transactional calls (init, begin, sendOffsets, commit, abort) run on a
// libuv worker without the connection lock that produce and flush take, and its
// disconnect deletes the client outright. A producer disconnected while one of them
// still runs takes the process down: librdkafka asserts ("rk_ops queue disabled") or
// the worker reads freed memory (SIGSEGV). The engine met that after a broker restart,
// when it replaced a producer whose sendOffsetsToTransaction it had given up on as
// stuck (librdkafka #5456) while the call itself was still waiting in the library.
// Waiting for the call first is the only safe order; a call that never returns keeps
// its client, which is fenced and idle, rather than the process crashing.
export class NativeCalls<Client extends object> {
  readonly #running = new Map<Client, Set<Promise<unknown>>>();
  readonly #idle = new Map<Client, (() => void)[]>();

  /** Counts `call` as running on `client` until it settles; returns it unchanged. */
  track<T>(client: Client, call: Promise<T>): Promise<T> {
    let calls = this.#running.get(client);
    if (calls === undefined) this.#running.set(client, (calls = new Set()));
    calls.add(call);
    const done = (): void => {
      calls.delete(call);
      if (calls.size > 0) return;
      this.#running.delete(client);
      for (const wake of this.#idle.get(client)?.splice(0) ?? []) wake();
      this.#idle.delete(client);
    };
    call.then(done, done);
    return call;
  }

  /** How many tracked calls are running on `client`. */
  running(client: Client): number {
    return this.#running.get(client)?.size ?? 0;
  }

  /**
   * Resolves true once no tracked call runs on `client` (at once if none does), or
   * false after `timeoutMs` with one still running (never, without a timeout).
   */
  idle(client: Client, timeoutMs?: number): Promise<boolean> {
    if (this.running(client) === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const wake = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      let waiting = this.#idle.get(client);
      if (waiting === undefined) this.#idle.set(client, (waiting = []));
      waiting.push(wake);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          const list = this.#idle.get(client);
          const at = list?.indexOf(wake) ?? -1;
          if (list !== undefined && at >= 0) list.splice(at, 1);
          resolve(false);
        }, timeoutMs);
      }
    });
  }
}
