// The uWebSockets.js app: route registration (each route under /api and under the
// original's context path /order-service), the request lifecycle (copy req, read the
// body, run the handler, write inside cork unless aborted), and a listen socket kept
// to close on shutdown (uWS aborts the process if a thread ends with it open).
//
// Every uWS callback runs inside an Exchange (src/http/exchange.ts): whatever a
// handler throws, synchronously or not, becomes a problem+json answer, and nothing
// escapes into uWS, where it would end the thread and the process with it.
import uWS from 'uWebSockets.js';
import { EngineError } from '../errors.js';
import type { Logger } from '../logger.js';
import { Exchange, type ExchangeContext } from './exchange.js';
import type { Reply } from './reply.js';
import { copyRequest, readBody, type RequestInput } from './request.js';
import { RouteTable, type AllowedMethod } from './route-table.js';

export const CONTEXT_PATH = '/order-service';

export type Method = 'get' | 'post' | 'put' | 'del';
export type Handler = (input: RequestInput) => Promise<Reply> | Reply;

const METHOD_NAME: Record<Method, AllowedMethod> = { get: 'GET', post: 'POST', put: 'PUT', del: 'DELETE' };

export interface RouteOptions {
  /** Read the body (up to maxBodyBytes) before calling the handler. */
  readonly body?: boolean;
  /** Sent with every answer of the route, problems included; a reply's own headers of the same name win. */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  readonly maxBodyBytes: number;
}

// uWS listens with SO_REUSEPORT unless told otherwise: a second process on the same
// host and port then binds without an error and the kernel hands it part of the
// connections (seen on a shared test machine: another service's draining 503s answered
// this one's probes). An instance must own its port or fail to start, so listen
// exclusively. The constant is in uWS.js' runtime exports, not in its typings.
const LIBUS_LISTEN_EXCLUSIVE_PORT = (uWS as unknown as { LIBUS_LISTEN_EXCLUSIVE_PORT: number }).LIBUS_LISTEN_EXCLUSIVE_PORT;
type ListenWithOptions = (host: string, port: number, options: number, cb: (socket: uWS.us_listen_socket | false) => void) => uWS.TemplatedApp;

/** A route as registered, without the context path: what the OpenAPI document must describe. */
export interface RegisteredRoute {
  readonly method: AllowedMethod;
  readonly pattern: string;
  /** The route reads a request body. */
  readonly body: boolean;
}

interface Route {
  readonly pattern: string;
  /** The `:name`s of the pattern, in order: violations name the parameter. */
  readonly paramNames: readonly string[];
  readonly handler: Handler;
  readonly body: boolean;
  readonly headers: Readonly<Record<string, string>> | undefined;
}

export class HttpServer {
  readonly #app = uWS.App();
  readonly #options: HttpServerOptions;
  readonly #routes = new RouteTable();
  readonly #registered: RegisteredRoute[] = [];
  readonly #context: ExchangeContext;
  #listenSocket: uWS.us_listen_socket | undefined;
  #draining = false;

  constructor(options: HttpServerOptions, log: Logger) {
    this.#options = options;
    this.#context = { log, draining: () => this.#draining };
  }

  route(method: Method, pattern: string, handler: Handler, options: RouteOptions = {}): this {
    const route: Route = { pattern, paramNames: [...pattern.matchAll(/\/:(\w+)/g)].map((m) => m[1]!), handler, body: options.body === true, headers: options.headers };
    this.#registered.push({ method: METHOD_NAME[method], pattern, body: route.body });
    for (const path of [pattern, CONTEXT_PATH + pattern]) {
      this.#routes.add(METHOD_NAME[method], path);
      this.#app[method](path, (res, req) => this.#serve(res, req, route));
    }
    return this;
  }

  /** Every route registered so far, in order (each also answers under CONTEXT_PATH). */
  get routes(): readonly RegisteredRoute[] {
    return [...this.#registered];
  }

  /**
   * Answers every request no route took (register last): 405 with `Allow` when the path
   * has other methods, else 404. uWS 20.30 itself closes the connection of a method it
   * does not know (FOO, lowercase get): those never reach us.
   */
  fallback(): this {
    this.#app.any('/*', (res, req) => {
      const exchange = new Exchange(res, this.#context);
      try {
        const method = req.getCaseSensitiveMethod();
        const url = req.getUrl();
        exchange.describe(method, url, '(unmatched)');
        const allow = this.#routes.allowed(url);
        if (allow.length === 0) exchange.fail(new EngineError('ORD_ERR_ROUTE_NOT_FOUND', `no route for ${method} ${url}`));
        else exchange.fail(new EngineError('ORD_ERR_METHOD_NOT_ALLOWED', `${method} is not allowed on ${url}; use ${allow.join(', ')}`), { Allow: allow.join(', ') });
      } catch (err) {
        exchange.fail(err);
      }
    });
    return this;
  }

  #serve(res: uWS.HttpResponse, req: uWS.HttpRequest, route: Route): void {
    const exchange = new Exchange(res, this.#context);
    try {
      exchange.describe(req.getCaseSensitiveMethod(), req.getUrl(), route.pattern);
      const input = copyRequest(req, route.paramNames);
      const read = route.body ? readBody(res, req, this.#options.maxBodyBytes) : undefined;
      if (read !== undefined) exchange.onAbort(read.abort);
      const run = async (): Promise<Reply> => {
        if (this.#draining) throw new EngineError('ORD_ERR_SHUTTING_DOWN', 'the service is shutting down; retry on another instance');
        if (read !== undefined) input.body = await read.body;
        return route.handler(input);
      };
      // reply and fail never throw, so this chain never rejects.
      const headers = route.headers;
      void run().then(
        (reply) => exchange.reply(headers === undefined ? reply : { ...reply, headers: { ...headers, ...reply.headers } }),
        (err: unknown) => exchange.fail(err, headers),
      );
    } catch (err) {
      // Synchronous failures: malformed percent-encoding (a 400), or a bug (a 500).
      exchange.fail(err);
    }
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const listen = this.#app.listen.bind(this.#app) as unknown as ListenWithOptions;
      listen(this.#options.host, this.#options.port, LIBUS_LISTEN_EXCLUSIVE_PORT, (socket) => {
        if (!socket) {
          reject(new Error(`cannot listen on ${this.#options.host}:${this.#options.port} (in use?)`));
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
