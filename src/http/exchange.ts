// One request and its response, and the error boundary around both. uWS calls our
// handlers from C++: an exception that escapes one of its callbacks ends the HTTP
// thread (and, with the listen socket open, aborts the process), and a handler that
// returns without answering or registering onAborted makes uWS terminate the process.
// So every callback goes through an Exchange: onAborted is registered first, and
// `reply` / `fail` never throw. A failure the client did not cause (a 5xx, or anything
// that is not an EngineError) is logged with an error id that the problem carries, so
// an operator can find the log line from the answer.
import { randomUUID } from 'node:crypto';
import type { HttpResponse } from 'uWebSockets.js';
import { EngineError } from '../errors.js';
import type { Logger } from '../logger.js';
import { publishRequest } from './observe.js';
import { problemReply, writeReply, type Reply } from './reply.js';

/** Ends a body read when the client goes away; nobody is answered, nothing is logged. */
export class ClientGoneError extends Error {
  constructor() {
    super('the client went away before its request was read');
    this.name = 'ClientGoneError';
  }
}

export interface ExchangeContext {
  readonly log: Logger;
  /** While draining, every reply closes its connection. */
  readonly draining: () => boolean;
}

export class Exchange {
  readonly #res: HttpResponse;
  readonly #context: ExchangeContext;
  readonly #started = process.hrtime.bigint();
  readonly #onAbort: (() => void)[] = [];
  #aborted = false;
  #answered = false;
  #method = '';
  #url = '';
  #route = '(unmatched)';

  /** Must be created first thing in a uWS handler: it registers onAborted. */
  constructor(res: HttpResponse, context: ExchangeContext) {
    this.#res = res;
    this.#context = context;
    res.onAborted(() => {
      this.#aborted = true;
      for (const fn of this.#onAbort) {
        try {
          fn();
        } catch (err) {
          this.#logFailure(err, 'an abort listener failed');
        }
      }
    });
  }

  /** What the request is, for the problem's `instance`, the metrics and the logs. */
  describe(method: string, url: string, route: string): void {
    this.#method = method;
    this.#url = url;
    this.#route = route;
  }

  onAbort(fn: () => void): void {
    this.#onAbort.push(fn);
  }

  /** Writes `reply` unless the client is gone or was answered; never throws. */
  reply(reply: Reply): void {
    if (this.#aborted || this.#answered) return;
    this.#answered = true;
    try {
      // While draining, every reply closes its connection: uWS has no way to close idle
      // keep-alive sockets, so the thread ends once its clients are gone (or idle out).
      writeReply(this.#res, this.#context.draining() ? { ...reply, close: true } : reply, this.#method === 'HEAD');
    } catch (err) {
      // uWS refused the response half-way: the connection is in an unknown state.
      this.#logFailure(err, 'writing the reply failed; closing the connection');
      try {
        if (!this.#aborted) this.#res.close();
      } catch {
        // Already gone: nothing more to do for this connection.
      }
      return;
    }
    publishRequest(this.#method, this.#route, reply.status, this.#started);
  }

  /** Answers `err` as problem+json (with `headers`); logs it with an error id unless the client caused it. Never throws. */
  fail(err: unknown, headers?: Readonly<Record<string, string>>): void {
    if (err instanceof ClientGoneError) return;
    // A client's mistake, or a 503 that says what is unavailable (a store restoring or
    // owned elsewhere, Postgres down, shutting down), is not a failure of this service:
    // no error id, and only a debug line (a load balancer's probes would fill the log).
    const expected = err instanceof EngineError && (err.status < 500 || err.status === 503);
    if (expected) {
      try {
        this.#context.log.debug({ code: err.code, method: this.#method, url: this.#url }, err.message);
      } catch {
        // as in #logFailure: a logger that throws must not end the thread
      }
    }
    const errorId = expected ? undefined : this.#logFailure(err, 'request failed');
    try {
      let reply = problemReply(err, this.#url, errorId);
      if (headers !== undefined) reply = { ...reply, headers: { ...reply.headers, ...headers } };
      // A refused body was not read to its end: close rather than read the rest.
      if (err instanceof EngineError && err.code === 'ORD_ERR_BODY_TOO_LARGE') reply = { ...reply, close: true };
      this.reply(reply);
    } catch (mapping) {
      // Building the problem failed (a bug): answer a bare 500 that cannot fail.
      this.reply(problemReply(undefined, '', this.#logFailure(mapping, 'building the problem failed')));
    }
  }

  #logFailure(err: unknown, msg: string): string {
    const errorId = randomUUID();
    try {
      this.#context.log.error({ err, errorId, method: this.#method, url: this.#url }, msg);
    } catch {
      // A logger that throws must not turn one failed request into a dead thread.
    }
    return errorId;
  }
}
