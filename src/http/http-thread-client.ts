// The main thread's handle on the HTTP thread: start it, forward its outbox wake-ups,
// feed it the relay's stats, and stop it (listen socket closed before it ends).
import { Worker, type MessagePort } from 'node:worker_threads';
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

  static async start(config: Config, log: Logger, shared: Omit<HttpThreadData, 'config'>, events: HttpThreadEvents): Promise<HttpThread> {
    const data: HttpThreadData = { config, ...shared };
    const worker = new Worker(new URL('./http-thread.js', import.meta.url), {
      workerData: data,
      transferList: [...shared.queryPorts],
      name: 'http',
      // The HTTP thread's V8 heap, from the memory budget (V8's default is sized from the machine).
      resourceLimits: { maxOldGenerationSizeMb: config.memory.heapMb.httpThread },
    });
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

  send(msg: MainToHttp): void {
    this.#post(msg);
  }

  sendQueryPort(thread: number, port: MessagePort): void {
    if (this.#closing) return;
    this.#worker.postMessage({ type: 'query-port', thread, port } satisfies MainToHttp, [port]);
  }

  /**
   * Stops listening and lets requests in flight finish; the thread then ends by itself
   * once its keep-alive connections are gone (uWS closes idle ones within ~10 s).
   * Terminating it earlier with sockets open aborts the process (uv_loop_close with
   * open handles), so termination is only the last resort after `timeoutMs`.
   */
  close(timeoutMs = 20_000): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing = true;
      const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
      this.#post({ type: 'shutdown' });
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)));
      if (await Promise.race([exited.then(() => false), timedOut])) {
        this.#log.warn({ timeoutMs }, 'http thread still has open connections; terminating it');
        await this.#worker.terminate();
      }
      clearTimeout(timer);
    })();
    return this.#closed;
  }

  #post(msg: MainToHttp): void {
    this.#worker.postMessage(msg);
  }
}
