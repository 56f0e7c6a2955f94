// The uWebSockets.js app: route registration (each route under /api and under the
// original's context path /order-service), the request lifecycle (copy req, read the
// body, run the handler, write inside cork unless aborted), and a listen socket kept
// to close on shutdown (uWS aborts the process if a thread ends with it open).
//
// Before a route's handler, the access gate (src/http/access/) checks its key, role and
// rate limit, reading `req` in the same synchronous step; with no keys, no limit and no
// CORS configured a route has nothing to check and costs one branch.
//
// Every uWS callback runs inside an Exchange (src/http/exchange.ts): whatever a
// handler throws, synchronously or not, becomes a problem+json answer, and nothing
// escapes into uWS, where it would end the thread and the process with it.
import uWS from 'uWebSockets.js';
import { EngineError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Access, AccessGate, CorsPolicy, Rejection, RouteNeeds } from './access/index.js';
import { Exchange, type ExchangeContext } from './exchange.js';
import { publishRejected } from './observe.js';
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
  /** Who may call it (src/http/access/gate.ts); unset: reads are open, writes need a key when REQUIRE_API_KEY=true. */
  readonly access?: Access;
}

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  readonly maxBodyBytes: number;
  /** API keys, rate limits and CORS; unset: none of them. */
  readonly access?: AccessGate;
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
  /** Who may call it, as declared (src/http/access/gate.ts). */
  readonly access: Access | undefined;
}

interface Route {
  readonly pattern: string;
  /** The `:name`s of the pattern, in order: violations name the parameter. */
  readonly paramNames: readonly string[];
  readonly handler: Handler;
  readonly body: boolean;
  readonly headers: Readonly<Record<string, string>> | undefined;
  /** What the access gate checks; undefined: nothing. */
  readonly needs: RouteNeeds | undefined;
}

export class HttpServer {
  readonly #app = uWS.App();
  readonly #options: HttpServerOptions;
  readonly #routes = new RouteTable();
  readonly #registered: RegisteredRoute[] = [];
  readonly #context: ExchangeContext;
  readonly #gate: AccessGate | undefined;
  readonly #cors: CorsPolicy | undefined;
  #listenSocket: uWS.us_listen_socket | undefined;
  #draining = false;

  constructor(options: HttpServerOptions, log: Logger) {
    this.#options = options;
    this.#context = { log, draining: () => this.#draining };
    this.#gate = options.access;
    this.#cors = options.access?.cors;
  }

  route(method: Method, pattern: string, handler: Handler, options: RouteOptions = {}): this {
    const route: Route = {
      pattern,
      paramNames: [...pattern.matchAll(/\/:(\w+)/g)].map((m) => m[1]!),
      handler,
      body: options.body === true,
      headers: options.headers,
      needs: this.#gate?.routeNeeds(METHOD_NAME[method], options.access),
    };
    this.#registered.push({ method: METHOD_NAME[method], pattern, body: route.body, access: options.access });
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
   * does not know (FOO, lowercase get): those never reach us. With CORS on, a preflight
   * (OPTIONS with Access-Control-Request-Method) is answered first; any other OPTIONS
   * gets the 405 it gets without CORS.
   */
  fallback(): this {
    const cors = this.#cors;
    if (cors !== undefined) this.#app.options('/*', (res, req) => this.#preflight(res, req, cors));
    this.#app.any('/*', (res, req) => {
      const exchange = new Exchange(res, this.#context);
      try {
        const method = req.getCaseSensitiveMethod();
        const url = req.getUrl();
        exchange.describe(method, url, '(unmatched)');
        const headers = cors?.responseHeaders(req.getHeader('origin'));
        const allow = this.#routes.allowed(url);
        if (allow.length === 0) exchange.fail(new EngineError('ORD_ERR_ROUTE_NOT_FOUND', `no route for ${method} ${url}`), headers);
        else exchange.fail(new EngineError('ORD_ERR_METHOD_NOT_ALLOWED', `${method} is not allowed on ${url}; use ${allow.join(', ')}`), { ...headers, Allow: allow.join(', ') });
      } catch (err) {
        exchange.fail(err);
      }
    });
    return this;
  }

  #preflight(res: uWS.HttpResponse, req: uWS.HttpRequest, cors: CorsPolicy): void {
    const requested = req.getHeader('access-control-request-method');
    // Not a preflight: on to the fallback's 405, before anything touched `res`.
    if (requested === '') {
      req.setYield(true);
      return;
    }
    const exchange = new Exchange(res, this.#context);
    try {
      const url = req.getUrl();
      exchange.describe('OPTIONS', url, '(preflight)');
      if (this.#routes.allowed(url).length === 0) {
        exchange.fail(new EngineError('ORD_ERR_ROUTE_NOT_FOUND', `no route for OPTIONS ${url}`));
        return;
      }
      const answer = cors.preflight(req.getHeader('origin'), requested, req.getHeader('access-control-request-headers'));
      if (answer.ok) {
        exchange.reply({ status: 204, headers: answer.headers });
        return;
      }
      publishRejected('cors_rejected');
      exchange.fail(new EngineError('ORD_ERR_CORS_REJECTED', answer.detail), answer.headers);
    } catch (err) {
      exchange.fail(err);
    }
  }

  #serve(res: uWS.HttpResponse, req: uWS.HttpRequest, route: Route): void {
    const exchange = new Exchange(res, this.#context);
    let headers = route.headers;
    try {
      exchange.describe(req.getCaseSensitiveMethod(), req.getUrl(), route.pattern);
      if (this.#cors !== undefined) headers = { ...this.#cors.responseHeaders(req.getHeader('origin')), ...headers };
      if (route.needs !== undefined) {
        const rejection = this.#gate!.check(req, res, route.needs);
        if (rejection !== undefined) {
          this.#reject(exchange, rejection, headers);
          return;
        }
      }
      const input = copyRequest(req, route.paramNames);
      const read = route.body ? readBody(res, req, this.#options.maxBodyBytes) : undefined;
      if (read !== undefined) exchange.onAbort(read.abort);
      const run = async (): Promise<Reply> => {
        if (this.#draining) throw new EngineError('ORD_ERR_SHUTTING_DOWN', 'the service is shutting down; retry on another instance');
        if (read !== undefined) input.body = await read.body;
        return route.handler(input);
      };
      // reply and fail never throw, so this chain never rejects.
      void run().then(
        (reply) => exchange.reply(headers === undefined ? reply : { ...reply, headers: { ...headers, ...reply.headers } }),
        (err: unknown) => exchange.fail(err, headers),
      );
    } catch (err) {
      // Synchronous failures: malformed percent-encoding (a 400), or a bug (a 500).
      exchange.fail(err, headers);
    }
  }

  /** Answers a request the gate refused, before its body was read (see readBody: uWS discards the rest). */
  #reject(exchange: Exchange, rejection: Rejection, headers: Readonly<Record<string, string>> | undefined): void {
    publishRejected(rejection.reason);
    exchange.fail(rejection.error, headers === undefined ? rejection.headers : { ...headers, ...rejection.headers });
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
