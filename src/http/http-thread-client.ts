// The main thread's handle on the HTTP thread: start it, forward its outbox wake-ups,
// feed it the relay's stats, and stop it (listen socket closed before it ends).
import { Worker } from 'node:worker_threads';
import type { Config } from '../config.js';
import type { OutboxStats } from '../db/outbox-relay.js';
import type { Logger } from '../logger.js';
import type { HttpThreadData, HttpToMain, MainToHttp } from './protocol.js';

export interface HttpThreadEvents {
  onOutboxWakeup(): void;
  onFatal(err: Error): void;
}

export class HttpThread {
  readonly #worker: Worker;
  readonly #log: Logger;
  #closing = false;
  #closed: Promise<void> | undefined;
  port = 0;
  nodeId = 0;

  private constructor(worker: Worker, log: Logger) {
    this.#worker = worker;
    this.#log = log;
  }

  static async start(config: Config, log: Logger, events: HttpThreadEvents): Promise<HttpThread> {
    const data: HttpThreadData = { config };
    const worker = new Worker(new URL('./http-thread.js', import.meta.url), { workerData: data, name: 'http' });
    const thread = new HttpThread(worker, log);
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error): void => {
        if (thread.#closing) return;
        reject(err); // before 'listening': fails the start
        events.onFatal(err); // after it: stops the process
      };
      worker.on('message', (msg: HttpToMain) => {
        switch (msg.type) {
          case 'listening':
            thread.port = msg.port;
            thread.nodeId = msg.nodeId;
            resolve();
            break;
          case 'outbox-wakeup':
            events.onOutboxWakeup();
            break;
          case 'fatal':
            fail(new Error(`http thread: ${msg.message}`));
            break;
          case 'closed':
            break;
        }
      });
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`http thread exited (code ${code})`)));
    });
    return thread;
  }

  sendOutboxStats(stats: OutboxStats): void {
    this.#post({ type: 'outbox-stats', stats });
  }

  /** Stops listening, lets requests in flight finish, then ends the thread. */
  close(timeoutMs = 10_000): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing = true;
      const closed = new Promise<void>((resolve) => {
        this.#worker.on('message', (msg: HttpToMain) => msg.type === 'closed' && resolve());
        this.#worker.once('exit', () => resolve());
      });
      this.#post({ type: 'shutdown' });
      const timer = setTimeout(() => this.#log.warn('http thread did not close in time'), timeoutMs);
      await Promise.race([closed, new Promise((r) => setTimeout(r, timeoutMs))]);
      clearTimeout(timer);
      // The listen socket is closed by now; ending the thread with open keep-alive
      // connections is safe.
      await this.#worker.terminate();
    })();
    return this.#closed;
  }

  #post(msg: MainToHttp): void {
    this.#worker.postMessage(msg);
  }
}
