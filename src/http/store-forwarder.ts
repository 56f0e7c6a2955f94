// Store reads forwarded to the instance that serves the partition, from the HTTP
// thread: node:http over a keep-alive Agent (a warm connection per peer, no handshake
// per read), a deadline per request (STORE_FORWARD_TIMEOUT_MS), a bound on forwards in
// flight, and a bound on the answer's size. Whatever happens, the caller gets an answer
// or an EngineError within the deadline: a peer that was killed (ECONNREFUSED), hangs
// (timeout) or dies mid-answer never leaves a request waiting.
//
// Every forwarded request carries FORWARDED_BY_HEADER: the instance receiving it
// answers from its own tasks or not at all (src/cluster/store-routing.ts), so a stale
// directory can never make a request go round in circles.
import http from 'node:http';
import { EngineError } from '../errors.js';
import { parseEndpoint } from '../cluster/endpoint.js';
import type { Reply } from './reply.js';

/** Set on a request one instance forwards to another; its value is the forwarder's INSTANCE_ID. */
export const FORWARDED_BY_HEADER = 'x-store-forwarded-by';
/** On every store answer: the INSTANCE_ID of the instance whose task answered. */
export const SERVED_BY_HEADER = 'X-Served-By';
/** On an answer from a standby's copy: how many changelog records it trails by ('unknown' when the thread did not say). */
export const STORE_LAG_HEADER = 'X-Store-Lag';

/** Headers of a peer's answer that are passed on to the client. */
const RELAYED_HEADERS = [SERVED_BY_HEADER, STORE_LAG_HEADER, 'Retry-After'] as const;

export interface ForwarderOptions {
  readonly selfId: string;
  readonly timeoutMs: number;
  /** Forwards in flight at once; past it, a 503 at once. */
  readonly maxInFlight: number;
  /** A larger answer is refused (a page slice holds at most MAX_PAGE_SIZE orders). */
  readonly maxBodyBytes: number;
}

export const DEFAULT_FORWARDER_LIMITS = { maxInFlight: 10_000, maxBodyBytes: 16 * 1024 * 1024 } as const;

/**
 * Asks a peer for a path (GET, or POST of a JSON `body`); what the instance answered,
 * as a Reply to relay.
 */
export type Forward = (endpoint: string, instanceId: string, path: string, body?: string) => Promise<Reply>;

export class StoreForwarder {
  readonly #options: ForwarderOptions;
  // Idle sockets are dropped after 5 s, before uWS closes idle keep-alive connections
  // on its side (10 s), so a reused socket is rarely one the peer is closing.
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, timeout: 5000, scheduling: 'lifo' });
  #inFlight = 0;

  constructor(options: ForwarderOptions) {
    this.#options = options;
  }

  /** Forwards in flight (metrics, tests). */
  get inFlight(): number {
    return this.#inFlight;
  }

  readonly forward: Forward = async (endpoint, instanceId, path, body) => {
    const target = parseEndpoint(endpoint);
    if (target === undefined) throw new EngineError('ORD_ERR_STORE_NOT_READY', `instance ${instanceId} advertises an address that cannot be dialled (${JSON.stringify(endpoint)})`);
    if (this.#inFlight >= this.#options.maxInFlight) {
      throw new EngineError('ORD_ERR_OVERLOADED', `${this.#inFlight} store reads are waiting for other instances; retry shortly`);
    }
    this.#inFlight++;
    const deadline = Date.now() + this.#options.timeoutMs;
    try {
      try {
        return await this.#request(target.host, target.port, path, body, deadline);
      } catch (err) {
        // A kept-alive socket the peer closed just as we wrote to it: once more on a new
        // one (what Node's documentation advises for keep-alive clients).
        if (!(err instanceof StaleSocketError) || Date.now() >= deadline) throw err;
        return await this.#request(target.host, target.port, path, body, deadline);
      }
    } catch (err) {
      throw this.#failure(err, instanceId, endpoint);
    } finally {
      this.#inFlight--;
    }
  };

  close(): void {
    this.#agent.destroy();
  }

  #request(host: string, port: number, path: string, body: string | undefined, deadline: number): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      let settled = false;
      const done = (outcome: { reply: Reply } | { error: unknown }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if ('reply' in outcome) resolve(outcome.reply);
        else reject(outcome.error);
      };
      const headers: http.OutgoingHttpHeaders = { [FORWARDED_BY_HEADER]: this.#options.selfId, accept: 'application/json' };
      if (body !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(body);
      }
      const req = http.request({ host, port, path, method: body === undefined ? 'GET' : 'POST', agent: this.#agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > this.#options.maxBodyBytes) {
            req.destroy();
            done({ error: new EngineError('ORD_ERR_OVERLOADED', `the answer is larger than ${this.#options.maxBodyBytes} bytes`) });
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          const headers: Record<string, string> = {};
          for (const name of RELAYED_HEADERS) {
            const value = res.headers[name.toLowerCase()];
            if (typeof value === 'string') headers[name] = value;
          }
          done({ reply: { status: res.statusCode ?? 502, body: Buffer.concat(chunks, size).toString('utf8'), contentType: res.headers['content-type'] ?? 'application/json', headers } });
        });
        res.on('error', (error) => done({ error }));
        res.on('close', () => done({ error: new Error('the connection closed before the answer was complete') }));
      });
      const timer = setTimeout(() => {
        done({ error: new ForwardTimeoutError() });
        req.destroy();
      }, Math.max(0, deadline - Date.now()));
      req.on('error', (error: NodeJS.ErrnoException) => {
        done({ error: req.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE') ? new StaleSocketError(error) : error });
      });
      req.end(body);
    });
  }

  #failure(err: unknown, instanceId: string, endpoint: string): EngineError {
    if (err instanceof EngineError) return err;
    if (err instanceof ForwardTimeoutError) {
      return new EngineError('ORD_ERR_STORE_QUERY_TIMEOUT', `instance ${instanceId} (${endpoint}) did not answer within ${this.#options.timeoutMs} ms`);
    }
    const code = (err as NodeJS.ErrnoException).code;
    return new EngineError('ORD_ERR_STORE_NOT_READY', `instance ${instanceId} (${endpoint}) cannot be reached (${code ?? (err as Error).message}); retry shortly`, { cause: err });
  }
}

class ForwardTimeoutError extends Error {
  constructor() {
    super('forward timed out');
  }
}

class StaleSocketError extends Error {
  constructor(cause: Error) {
    super(cause.message, { cause });
  }
}
