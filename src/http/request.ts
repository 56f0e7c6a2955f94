// Everything a handler may need from a request, copied out of uWebSockets.js' `req`
// before the first await (uWS frees `req` when the handler returns), and the body
// read with a hard size limit.
//
// Nothing here may throw anything but an EngineError: these functions run inside uWS
// callbacks, where an escaped exception used to end the HTTP thread and, with its
// listen socket open, abort the whole process (`GET /api/orders/%E0`).
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { EngineError, type Violation } from '../errors.js';
import { ClientGoneError } from './exchange.js';
import { FORWARDED_BY_HEADER } from './store-forwarder.js';

export interface RequestInput {
  readonly method: string;
  readonly url: string;
  readonly query: URLSearchParams;
  readonly params: readonly string[];
  readonly contentType: string;
  readonly idempotencyKey: string;
  /** X-Store-Forwarded-By: the instance that forwarded this store read here ('' when a client sent it). */
  readonly forwardedBy: string;
  body: Buffer | undefined;
}

function badEncoding(violations: Violation[]): EngineError {
  return new EngineError('ORD_ERR_BAD_PARAMETER', violations.map((v) => `${v.field} ${v.message}`).join('; '), { violations });
}

const NOT_UTF8 = 'is not valid percent-encoded UTF-8';

/** decodeURIComponent, or undefined where it would throw a URIError (bad escapes, invalid UTF-8). */
function decode(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/**
 * Parses a query string strictly: a malformed escape anywhere is a 400 naming the
 * parameter. URLSearchParams would silently turn it into U+FFFD, so `?sortBy=%E0`
 * and `?%E0=1` would mean something other than what was sent.
 */
export function parseQuery(raw: string): URLSearchParams {
  const query = new URLSearchParams();
  if (raw === '') return query;
  const violations: Violation[] = [];
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawKey = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? '' : pair.slice(eq + 1);
    const key = decode(rawKey.replaceAll('+', ' '));
    const value = decode(rawValue.replaceAll('+', ' '));
    if (key === undefined) violations.push({ field: '(query)', message: `parameter name '${rawKey}' ${NOT_UTF8}` });
    else if (value === undefined) violations.push({ field: key, message: `'${rawValue}' ${NOT_UTF8}` });
    else query.append(key, value);
  }
  if (violations.length > 0) throw badEncoding(violations);
  return query;
}

/** Decodes path parameters, named after the route's `:name`s; a malformed one is a 400. */
export function decodeParams(raw: readonly string[], names: readonly string[]): string[] {
  const violations: Violation[] = [];
  const params = raw.map((value, i) => {
    const decoded = decode(value);
    if (decoded === undefined) violations.push({ field: names[i] ?? `param${i}`, message: `'${value}' ${NOT_UTF8}` });
    return decoded ?? '';
  });
  if (violations.length > 0) throw badEncoding(violations);
  return params;
}

/** Copies the request out of `req`; throws a 400 EngineError for malformed percent-encoding. */
export function copyRequest(req: HttpRequest, paramNames: readonly string[]): RequestInput {
  const raw = paramNames.map((_, i) => req.getParameter(i) ?? '');
  return {
    method: req.getCaseSensitiveMethod(),
    url: req.getUrl(),
    // Read before decoding: `req` must not be touched once the handler has returned.
    query: parseQuery(req.getQuery() ?? ''),
    params: decodeParams(raw, paramNames),
    contentType: req.getHeader('content-type'),
    idempotencyKey: req.getHeader('idempotency-key'),
    forwardedBy: req.getHeader(FORWARDED_BY_HEADER),
    body: undefined,
  };
}

/** A body read in progress: `abort` ends it (the client went away) so nothing waits forever. */
export interface BodyRead {
  readonly body: Promise<Buffer>;
  readonly abort: () => void;
}

/**
 * Reads the whole body, refusing more than `limit` bytes: by Content-Length up front
 * when it is declared, else as soon as the chunks pass the limit. uWS frames the body
 * itself (Content-Length or chunked) and refuses what it cannot frame, so a negative or
 * garbage Content-Length only matters here as a hint: the chunks decide.
 */
export function readBody(res: HttpResponse, req: HttpRequest, limit: number): BodyRead {
  const declared = Number(req.getHeader('content-length') || 0);
  if (declared > limit) {
    const body = Promise.reject(tooLarge(limit));
    body.catch(() => undefined); // rejected before anyone awaits it: not an unhandled rejection
    return { body, abort: () => undefined };
  }
  let settle: { resolve: (b: Buffer) => void; reject: (e: unknown) => void } | undefined;
  const body = new Promise<Buffer>((resolve, reject) => (settle = { resolve, reject }));
  body.catch(() => undefined);
  const chunks: Buffer[] = [];
  let size = 0;
  const done = (outcome: { body: Buffer } | { error: unknown }): void => {
    const s = settle;
    settle = undefined;
    if (s === undefined) return;
    if ('body' in outcome) s.resolve(outcome.body);
    else s.reject(outcome.error);
  };
  res.onData((chunk, isLast) => {
    // uWS calls this from C++: an exception here would escape every handler.
    try {
      if (settle === undefined) return;
      size += chunk.byteLength;
      if (size > limit) return done({ error: tooLarge(limit) });
      // The chunk's memory belongs to uWS and is reused after this callback: copy it.
      chunks.push(Buffer.from(new Uint8Array(chunk)));
      if (isLast) done({ body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) });
    } catch (err) {
      done({ error: err });
    }
  });
  return { body, abort: () => done({ error: new ClientGoneError() }) };
}

function tooLarge(limit: number): EngineError {
  return new EngineError('ORD_ERR_BODY_TOO_LARGE', `request body exceeds the limit of ${limit} bytes`);
}

export function requireJson(input: RequestInput): void {
  const type = input.contentType.toLowerCase();
  // A request without Content-Type is taken as JSON; any other media type is refused (415).
  if (type !== '' && !/^application\/([\w.+-]+\+)?json\b/.test(type)) {
    throw new EngineError('ORD_ERR_UNSUPPORTED_MEDIA_TYPE', `Content-Type '${input.contentType}' is not supported; send application/json`);
  }
}
