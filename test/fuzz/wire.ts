// What the fuzz sends and what it expects back: one hostile case is one connection
// carrying one or more requests as raw bytes, each with the answer it is owed.
import fc from 'fast-check';

export const CASE_CLASSES = [
  'bad-percent-encoding',
  'method-not-allowed',
  'unknown-method-token',
  'bad-request-line',
  'oversized-header',
  'numerous-headers',
  'lying-content-length',
  'chunked-garbage',
  'deep-json',
  'invalid-utf8-body',
  'lone-surrogate',
  'nul-character',
  'number-out-of-range',
  'prototype-pollution-key',
  'body-on-get',
  'oversize-body',
  'pipelined-mix',
  'valid-looking',
] as const;
export type CaseClass = (typeof CASE_CLASSES)[number];

export interface Expectation {
  readonly statuses: readonly number[];
  /** The problem's `code` (any of them) when the status is an error. */
  readonly codes?: readonly string[];
  /** A violation must name this field. */
  readonly field?: string;
  /** The exact set of methods in `Allow`. */
  readonly allow?: readonly string[];
  /** No answer is owed (the connection may be reset or framing may hide it); one that comes is checked. */
  readonly optional?: boolean;
}

export interface WireRequest {
  readonly cls: CaseClass;
  /** The method as written: a response to HEAD carries no body. */
  readonly method: string;
  readonly bytes: Buffer;
  /** The answer owed; undefined when the server may answer anything, close or stay silent. */
  readonly expect?: Expectation;
}

export interface FuzzCase {
  readonly cls: CaseClass;
  readonly requests: readonly WireRequest[];
  /** Where the bytes are cut into separate writes, as fractions of their length. */
  readonly splits: readonly number[];
}

/** How many leading requests of a case are owed an answer. */
export function dueCount(c: FuzzCase): number {
  let n = 0;
  while (n < c.requests.length && c.requests[n]!.expect !== undefined && c.requests[n]!.expect!.optional !== true) n++;
  return n;
}

/** A short, printable form of a request (fast-check prints counterexamples with it). */
export function preview(bytes: Buffer, max = 160): string {
  const text = JSON.stringify(bytes.subarray(0, max).toString('latin1'));
  return bytes.length > max ? `${text}… (${bytes.length} bytes)` : text;
}

export function fuzzCase(cls: CaseClass, requests: readonly WireRequest[], splits: readonly number[] = []): FuzzCase {
  return {
    cls,
    requests,
    splits,
    [fc.toStringMethod]: () => `${cls}[${requests.map((r) => preview(r.bytes, 80)).join(' | ')}]`,
  } as FuzzCase;
}

// ---- request bytes ---------------------------------------------------------------

export type Header = readonly [string, string];

interface RequestParts {
  readonly headers?: readonly Header[];
  readonly body?: Buffer | string;
  /** null: no Content-Type header. */
  readonly contentType?: string | null;
  /** Content-Length is written from the body unless the parts say otherwise. */
  readonly contentLength?: boolean;
}

/** A request with honest framing: the head in latin1 (one byte per char), then the body. */
export function httpRequest(method: string, target: string, parts: RequestParts = {}): Buffer {
  const body = parts.body === undefined ? undefined : Buffer.isBuffer(parts.body) ? parts.body : Buffer.from(parts.body, 'utf8');
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: fuzz'];
  if (body !== undefined) {
    if (parts.contentType !== null) lines.push(`Content-Type: ${parts.contentType ?? 'application/json'}`);
    if (parts.contentLength !== false) lines.push(`Content-Length: ${body.length}`);
  }
  for (const [name, value] of parts.headers ?? []) lines.push(`${name}: ${value}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body ?? Buffer.alloc(0)]);
}

/** A value one time in four, else null (fc.option's `freq` is the other way round). */
export const rarely = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });

export const problem = (status: number, code: string, more: Partial<Expectation> = {}): Expectation => ({ statuses: [status], codes: [code], ...more });

/** The methods uWS 20.30 routes; any other token gets its connection closed by uWS. */
export const KNOWN_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT'];

export const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');
