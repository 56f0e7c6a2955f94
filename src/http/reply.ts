// What a handler returns, and how it is written to a uWebSockets.js response.
import type { HttpResponse } from 'uWebSockets.js';
import { toProblem } from '../errors.js';

export interface Reply {
  readonly status: number;
  readonly body?: string;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Close the connection after this reply (the body was not read to its end). */
  readonly close?: boolean;
}

const STATUS_TEXT: Record<number, string> = {
  200: '200 OK',
  201: '201 Created',
  202: '202 Accepted',
  204: '204 No Content',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  413: '413 Payload Too Large',
  415: '415 Unsupported Media Type',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

export const json = (status: number, body: string, headers?: Record<string, string>): Reply => ({
  status,
  body,
  contentType: 'application/json',
  ...(headers === undefined ? {} : { headers }),
});

/** The problem+json reply for anything thrown; `errorId` names the log line of a logged failure. */
export function problemReply(err: unknown, instance: string, errorId?: string): Reply {
  const problem = toProblem(err, instance, new Date(), errorId);
  return {
    status: problem.status,
    body: JSON.stringify(problem),
    contentType: 'application/problem+json',
    ...(problem.status === 503 ? { headers: { 'Retry-After': '1' } } : {}),
  };
}

/**
 * Writes a reply; the caller has checked the request was not aborted. An answer to HEAD
 * has the headers only (a body would be read as the start of the next response).
 * Whatever uWS throws inside `cork` is rethrown here, outside it, for the caller's
 * error boundary: an exception left inside a uWS callback ends the thread.
 */
export function writeReply(res: HttpResponse, reply: Reply, head = false): void {
  let failure: { error: unknown } | undefined;
  res.cork(() => {
    try {
      res.writeStatus(STATUS_TEXT[reply.status] ?? String(reply.status));
      if (reply.contentType !== undefined) res.writeHeader('Content-Type', reply.contentType);
      if (reply.headers !== undefined) for (const [name, value] of Object.entries(reply.headers)) res.writeHeader(name, value);
      if (head) res.endWithoutBody();
      else res.end(reply.body ?? '', reply.close === true);
    } catch (error) {
      failure = { error };
    }
  });
  if (failure !== undefined) throw failure.error;
}
