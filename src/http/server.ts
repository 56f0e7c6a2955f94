// The uWebSockets.js app: route registration (each route under /api and under the
// original's context path /order-service), the request lifecycle (copy req, read the
// body, run the handler, write inside cork unless aborted), and a listen socket kept
// to close on shutdown (uWS aborts the process if a thread ends with it open).
import uWS from 'uWebSockets.js';
import { EngineError } from '../errors.js';
import type { Logger } from '../logger.js';
import { problemReply, writeReply, type Reply } from './reply.js';
import { copyRequest, readBody, type RequestInput } from './request.js';
import { publishRequest } from './observe.js';

export const CONTEXT_PATH = '/order-service';

export type Method = 'get' | 'post' | 'put' | 'del';
export type Handler = (input: RequestInput) => Promise<Reply> | Reply;

export interface RouteOptions {
  /** Read the body (up to maxBodyBytes) before calling the handler. */
  readonly body?: boolean;
}

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  readonly maxBodyBytes: number;
}

export class HttpServer {
  readonly #app = uWS.App();
  readonly #options: HttpServerOptions;
  readonly #log: Logger;
  #listenSocket: uWS.us_listen_socket | undefined;
  #draining = false;

  constructor(options: HttpServerOptions, log: Logger) {
    this.#options = options;
    this.#log = log;
  }

  route(method: Method, pattern: string, handler: Handler, options: RouteOptions = {}): this {
    const paramCount = (pattern.match(/\/:/g) ?? []).length;
    for (const path of [pattern, CONTEXT_PATH + pattern]) {
      this.#app[method](path, (res, req) => this.#serve(res, req, pattern, paramCount, handler, options));
    }
    return this;
  }

  /** Answers every unmatched request with a 404 problem (register last). */
  fallback(): this {
    this.#app.any('/*', (res, req) => {
      const url = req.getUrl();
      writeReply(res, problemReply(new EngineError('ORD_ERR_ROUTE_NOT_FOUND', `no route for ${req.getCaseSensitiveMethod()} ${url}`), url));
    });
    return this;
  }

  #serve(res: uWS.HttpResponse, req: uWS.HttpRequest, route: string, paramCount: number, handler: Handler, options: RouteOptions): void {
    const started = process.hrtime.bigint();
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const input = copyRequest(req, paramCount);
    const bodyPromise = options.body === true ? readBody(res, req, this.#options.maxBodyBytes) : undefined;
    const finish = (reply: Reply): void => {
      if (aborted) return;
      // While draining, every reply closes its connection: uWS has no way to close idle
      // keep-alive sockets, so the thread ends once its clients are gone (or idle out).
      writeReply(res, this.#draining ? { ...reply, close: true } : reply);
      publishRequest(input.method, route, reply.status, started);
    };
    const run = async (): Promise<Reply> => {
      if (this.#draining) throw new EngineError('ORD_ERR_SHUTTING_DOWN', 'the service is shutting down; retry on another instance');
      if (bodyPromise !== undefined) input.body = await bodyPromise;
      return handler(input);
    };
    run().then(finish, (err: unknown) => {
      if (!(err instanceof EngineError) || err.status >= 500) this.#log.error({ err, url: input.url }, 'request failed');
      const reply = problemReply(err, input.url);
      // A refused body was not read to its end: close rather than resynchronize.
      finish(err instanceof EngineError && err.code === 'ORD_ERR_BODY_TOO_LARGE' ? { ...reply, close: true } : reply);
    });
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#app.listen(this.#options.host, this.#options.port, (socket) => {
        if (!socket) {
          reject(new Error(`cannot listen on ${this.#options.host}:${this.#options.port}`));
          return;
        }
        this.#listenSocket = socket;
        resolve(uWS.us_socket_local_port(socket));
      });
    });
  }

  /** Stops accepting connections; requests from now on get a 503 and a closed connection. */
  close(): void {
    this.#draining = true;
    if (this.#listenSocket !== undefined) {
      uWS.us_listen_socket_close(this.#listenSocket);
      this.#listenSocket = undefined;
    }
  }
}
