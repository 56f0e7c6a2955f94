// Generators of hostile HTTP requests, as bytes, each with the answer it is owed.
// Every request here is invalid by construction (or a read that changes nothing), so
// no row may appear in Postgres while the fuzz runs.
//
// Two kinds of classes:
//  - well-framed requests with a fault the service must see (percent-encoding, a method
//    the path does not have, a body with NULs, lone surrogates, invalid UTF-8, numbers
//    out of range, reserved keys, deep nesting): their answer is due, and exactly known;
//  - framing faults (request lines, header floods, lying Content-Length, chunked
//    garbage): uWS may answer, close the connection or wait for bytes that never come,
//    so an answer is optional; when one comes it is held to the same rules.
import fc from 'fast-check';
import { API_ROUTES, CONTEXT_PATH, routing } from './routes.js';

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

function fuzzCase(cls: CaseClass, requests: readonly WireRequest[], splits: readonly number[] = []): FuzzCase {
  return {
    cls,
    requests,
    splits,
    [fc.toStringMethod]: () => `${cls}[${requests.map((r) => preview(r.bytes, 80)).join(' | ')}]`,
  } as FuzzCase;
}

// ---- request bytes ---------------------------------------------------------------

type Header = readonly [string, string];

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
const rarely = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });

const problem = (status: number, code: string, more: Partial<Expectation> = {}): Expectation => ({ statuses: [status], codes: [code], ...more });

// ---- order bodies ------------------------------------------------------------------

/** Raw JSON texts for the parts of an order; members in `top`, `item`, `addr` end with a comma. */
interface OrderParts {
  readonly customerId?: string;
  readonly productCode?: string;
  readonly quantity?: string;
  readonly productPrice?: string;
  /** The whole `items` value. */
  readonly items?: string;
  readonly address?: Readonly<Partial<Record<AddressField, string>>>;
  readonly top?: string;
  readonly item?: string;
  readonly addr?: string;
}

const ADDRESS_FIELDS = ['addressLine1', 'addressLine2', 'city', 'state', 'zipCode', 'country'] as const;
type AddressField = (typeof ADDRESS_FIELDS)[number];
const ADDRESS: Record<AddressField, string> = { addressLine1: '1 Main Street', addressLine2: 'Suite 4', city: 'Springfield', state: 'IL', zipCode: '62701', country: 'US' };

/** A valid order's JSON with some parts replaced (valid only when nothing is). */
function orderJson(p: OrderParts = {}): string {
  const address = { ...Object.fromEntries(ADDRESS_FIELDS.map((f) => [f, JSON.stringify(ADDRESS[f])])), ...p.address };
  const addr = `{${p.addr ?? ''}${Object.entries(address)
    .map(([k, v]) => `"${k}":${v}`)
    .join(',')}}`;
  const item = `{${p.item ?? ''}"productCode":${p.productCode ?? '"P001"'},"quantity":${p.quantity ?? '1'},"productPrice":${p.productPrice ?? '1.5'}}`;
  return `{${p.top ?? ''}"customerId":${p.customerId ?? '4242'},"items":${p.items ?? `[${item}]`},"deliveryAddress":${addr}}`;
}

/** The string fields of an order: the field name a violation must carry and how to set its raw JSON. */
const STRING_FIELDS: readonly { readonly field: string; readonly base: string; readonly set: (json: string) => OrderParts }[] = [
  { field: 'items[0].productCode', base: 'P001', set: (json) => ({ productCode: json }) },
  ...ADDRESS_FIELDS.map((f) => ({ field: `deliveryAddress.${f}`, base: ADDRESS[f], set: (json: string): OrderParts => ({ address: { [f]: json } }) })),
];

/** Where a body goes: POST /api/orders or PUT /api/orders/{id} of an order that cannot exist. */
const bodyTarget = fc.record({ put: fc.boolean(), prefix: fc.boolean(), id: fc.integer({ min: 1, max: 999 }) }).map(({ put, prefix, id }) => ({
  method: put ? 'PUT' : 'POST',
  target: `${prefix ? CONTEXT_PATH : ''}/api/orders${put ? `/${id}` : ''}`,
}));

/** A string field's JSON text with `insert` (already JSON text) put at some position of its value. */
const stringFieldWith = (insert: fc.Arbitrary<string>): fc.Arbitrary<{ field: string; parts: OrderParts }> =>
  fc.record({ f: fc.constantFrom(...STRING_FIELDS), at: fc.nat(), insert }).map(({ f, at, insert: text }) => {
    const i = at % (f.base.length + 1);
    return { field: f.field, parts: f.set(`"${f.base.slice(0, i)}${text}${f.base.slice(i)}"`) };
  });

function bodyCase(cls: CaseClass, target: { method: string; target: string }, body: Buffer | string, expect: Expectation): FuzzCase {
  return fuzzCase(cls, [{ cls, method: target.method, bytes: httpRequest(target.method, target.target, { body }), expect }]);
}

const nulCharacter = fc
  .tuple(bodyTarget, fc.oneof(stringFieldWith(fc.constantFrom('\\u0000', '\\u0000\\u0000', 'a\\u0000')), fc.constant(undefined)), fc.constantFrom(...STRING_FIELDS))
  .map(([target, escaped, raw]) =>
    escaped !== undefined
      ? bodyCase('nul-character', target, orderJson(escaped.parts), problem(400, 'ORD_ERR_VALIDATION', { field: escaped.field }))
      : // A raw NUL byte inside a JSON string is a control character JSON forbids.
        bodyCase('nul-character', target, orderJson(raw.set(`"${raw.base}\u0000"`)), problem(400, 'ORD_ERR_MALFORMED_JSON')),
  );

const loneSurrogate = fc
  .tuple(bodyTarget, stringFieldWith(fc.constantFrom('\\ud800', '\\udfff', '\\udbff', '\\ud83d', '\\ude00x', '\\ude00\\ud83d')))
  .map(([target, { field, parts }]) => bodyCase('lone-surrogate', target, orderJson(parts), problem(400, 'ORD_ERR_VALIDATION', { field })));

const INVALID_UTF8: readonly (readonly number[])[] = [
  [0x80],
  [0xc3, 0x28],
  [0xe0, 0x80, 0x80],
  [0xed, 0xa0, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xff],
  [0xfe],
  [0xc0, 0xaf],
  [0xf0, 0x9f, 0x98],
  [0xc3],
  [0xf4, 0x90, 0x80, 0x80],
];

const invalidUtf8 = fc
  .tuple(bodyTarget, stringFieldWith(fc.constant('@@BYTES@@')), fc.constantFrom(...INVALID_UTF8))
  .map(([target, { parts }, bytes]) => {
    const [before, after] = orderJson(parts).split('@@BYTES@@') as [string, string];
    const body = Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]);
    return bodyCase('invalid-utf8-body', target, body, problem(400, 'ORD_ERR_MALFORMED_JSON'));
  });

// Each value is out of range for its field (all of them invalid there, on purpose).
const NUMBER_FIELDS: readonly { readonly field: string; readonly values: readonly string[]; readonly set: (json: string) => OrderParts }[] = [
  { field: 'customerId', values: ['1e400', '-1e400', '-0', '0', '9223372036854775808', '9007199254740993', '1e-400', '-1', '1e308', '0.001', '1.005', '2.5'], set: (v) => ({ customerId: v }) },
  { field: 'items[0].quantity', values: ['1e400', '-1e400', '-0', '0', '9223372036854775808', '4294967296', '1e-400', '-1', '1e308', '0.001', '2.5', '1000001'], set: (v) => ({ quantity: v }) },
  { field: 'items[0].productPrice', values: ['1e400', '-1e400', '-0', '0', '9223372036854775808', '4294967296', '1e-400', '-1', '1e308', '0.001', '1.005', '1000000000.01'], set: (v) => ({ productPrice: v }) },
];

const numberOutOfRange = fc
  .tuple(
    bodyTarget,
    fc.constantFrom(...NUMBER_FIELDS).chain((f) => fc.constantFrom(...f.values).map((v) => ({ f, v }))),
    rarely(fc.constantFrom('NaN', 'Infinity', '-Infinity', '0x10', '+1', '.5', '1.', '01', '1e', '--1')),
  )
  .map(([target, { f, v }, token]) =>
    token === null
      ? bodyCase('number-out-of-range', target, orderJson(f.set(v)), problem(400, 'ORD_ERR_VALIDATION', { field: f.field }))
      : bodyCase('number-out-of-range', target, orderJson(f.set(token)), problem(400, 'ORD_ERR_MALFORMED_JSON')),
  );

const prototypePollution = fc
  .tuple(
    bodyTarget,
    fc.constantFrom(['__proto__', '"__proto__"'], ['__proto__', '"\\u005f_proto__"'], ['constructor', '"constructor"'], ['prototype', '"prototype"']),
    fc.constantFrom('{"polluted":true}', '{"prototype":{"polluted":true}}', 'null', '1', '[]', '{"isAdmin":true,"status":"CONFIRMED"}'),
    fc.constantFrom('top', 'item', 'addr'),
  )
  .map(([target, [key, keyJson], value, where]) => {
    const member = `${keyJson}:${value},`;
    const path = where === 'top' ? key : where === 'item' ? `items[0].${key}` : `deliveryAddress.${key}`;
    return bodyCase('prototype-pollution-key', target, orderJson({ [where]: member }), problem(400, 'ORD_ERR_VALIDATION', { field: path }));
  });

/** Nesting well past what an order needs (3 levels), kept under the 64 KiB body limit. */
const deepJson = fc
  .tuple(bodyTarget, fc.constantFrom('arrays', 'objects'), fc.constantFrom('top', 'items', 'addr', 'whole'), fc.integer({ min: 33, max: 9_000 }))
  .map(([target, kind, where, depth]) => {
    const nest = kind === 'arrays' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const body =
      where === 'whole' ? nest : where === 'top' ? orderJson({ top: `"extra":${nest},` }) : where === 'addr' ? orderJson({ addr: `"extra":${nest},` }) : orderJson({ items: nest });
    return bodyCase('deep-json', target, body, problem(400, 'ORD_ERR_VALIDATION'));
  });

const oversizeBody = fc.tuple(bodyTarget, fc.integer({ min: 65_537, max: 80_000 })).map(([target, size]) => {
  const body = `{"customerId":1,"pad":"${'x'.repeat(size)}"}`;
  // The answer may be lost: the server answers before reading the rest and closes.
  return bodyCase('oversize-body', target, body, problem(413, 'ORD_ERR_BODY_TOO_LARGE', { optional: true }));
});

// ---- routing faults ----------------------------------------------------------------

// Each of these makes decodeURIComponent throw (truncated, overlong, surrogate, past
// U+10FFFF, not hex, ...).
const BAD_ESCAPES = ['%', '%E', '%E0', '%e0%80', '%C3%28', '%ED%A0%80', '%F4%90%80%80', '%C0%AF', '%FF', '%80', '%G0', '%0G', '%%', '%u0041', '%F0%9F%98', '%E0%A4', '%C3', '%F8%88%80%80%80', '%fe%ff'];
const OTHER_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT'];
const QUERIES = ['', 'pageNo=0&pageSize=5', 'page=0&size=2&sort=id,desc', 'batchSize=5', 'x=1', 'sortBy=id&sortDir=asc'];

/** The answer owed to a request whose fault is only in a parameter, the query or a static segment. */
function routedExpectation(method: string, path: string, routedFault: Expectation): Expectation {
  const r = routing(method, path);
  if (r.kind === 'route') return routedFault;
  if (r.kind === 'method-not-allowed') return problem(405, 'ORD_ERR_METHOD_NOT_ALLOWED', { allow: r.allow });
  return problem(404, 'ORD_ERR_ROUTE_NOT_FOUND');
}

const badEncodingRequest: fc.Arbitrary<WireRequest> = fc
  .record({
    route: fc.constantFrom(...API_ROUTES),
    prefix: fc.boolean(),
    other: rarely(fc.constantFrom(...OTHER_METHODS)),
    // Where the escape goes: a path parameter (where the route has one), the query, or a
    // static segment (which then matches no route, or only a parameter of another).
    place: fc.constantFrom('param', 'param', 'query', 'query', 'static'),
    slot: fc.nat(),
    at: fc.nat(),
    escape: fc.constantFrom(...BAD_ESCAPES),
    param: fc.constantFrom('123', 'abc', '42', '9'),
    query: fc.constantFrom(...QUERIES),
    body: fc.boolean(),
    key: fc.boolean(),
  })
  .map(({ route, prefix, other, place, slot, at, escape, param, query, body, key }) => {
    const method = other ?? route.method;
    const pattern = (prefix ? CONTEXT_PATH + route.pattern : route.pattern).split('/');
    const segments = pattern.map((s) => (s.startsWith(':') ? param : s));
    const pairs = query === '' ? [] : query.split('&').map((p) => p.split('=') as [string, string]);
    const slots: { get: () => string; set: (v: string) => void }[] = [];
    const segmentSlots = (params: boolean): void =>
      segments.forEach((s, i) => s !== '' && pattern[i]!.startsWith(':') === params && slots.push({ get: () => segments[i]!, set: (v) => (segments[i] = v) }));
    if (place === 'param') segmentSlots(true);
    if (place === 'static') segmentSlots(false);
    if (place === 'query' || slots.length === 0) {
      pairs.forEach((p) => {
        slots.push({ get: () => p[0], set: (v) => (p[0] = v) });
        slots.push({ get: () => p[1], set: (v) => (p[1] = v) });
      });
      slots.push({ get: () => '', set: (v) => pairs.push([v, '1']) });
    }
    const s = slots[slot % slots.length]!;
    const value = s.get();
    const i = at % (value.length + 1);
    s.set(value.slice(0, i) + escape + value.slice(i));
    const path = segments.join('/');
    const target = pairs.length === 0 ? path : `${path}?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`;
    const headers: Header[] = key ? [['Idempotency-Key', `fuzz-${at}`]] : [];
    return {
      cls: 'bad-percent-encoding',
      method,
      bytes: httpRequest(method, target, { headers, ...(body ? { body: '{}' } : {}) }),
      expect: routedExpectation(method, path, problem(400, 'ORD_ERR_BAD_PARAMETER')),
    } satisfies WireRequest;
  });

const OTHER_PATHS = ['/', '/api', '/api/', '/api/orders/', '/api/orders/1/2', '/actuator', '/actuator/health/', '/order-service', '/order-service/', '/api/orders/store/1/x', '/API/orders', '/api//orders', '/favicon.ico', '/api/orders/customer', '/api/orders/customer/', '/api/orders/generate/1'];

const methodNotAllowedRequest: fc.Arbitrary<WireRequest> = fc
  .record({
    method: fc.constantFrom('PATCH', 'OPTIONS', 'TRACE', 'HEAD', 'CONNECT', 'GET', 'POST', 'PUT', 'DELETE'),
    path: fc.oneof(
      fc.record({ route: fc.constantFrom(...API_ROUTES), prefix: fc.boolean(), id: fc.integer({ min: 1, max: 999 }) }).map(({ route, prefix, id }) => (prefix ? CONTEXT_PATH : '') + route.pattern.replace(/:\w+/, String(id))),
      fc.constantFrom(...OTHER_PATHS),
    ),
    body: fc.boolean(),
  })
  .filter(({ method, path }) => routing(method, path).kind !== 'route')
  .map(({ method, path, body }) => ({
    cls: 'method-not-allowed',
    method,
    bytes: httpRequest(method, path, body ? { body: orderJson({ customerId: '0' }) } : {}),
    expect: routedExpectation(method, path, { statuses: [] }),
  }));

// ---- reads that change nothing (for pipelines) --------------------------------------

const validLookingRequest: fc.Arbitrary<WireRequest> = fc
  .tuple(fc.integer({ min: 1, max: 999 }), fc.constantFrom('liveness', 'get', 'delete', 'list', 'customer', 'store'), fc.boolean())
  .map(([id, which, prefix]) => {
    const p = prefix ? CONTEXT_PATH : '';
    const read = (method: string, target: string, expect: Expectation): WireRequest => ({ cls: 'valid-looking', method, bytes: httpRequest(method, p + target), expect });
    switch (which) {
      case 'liveness':
        return read('GET', '/actuator/health/liveness', { statuses: [200] });
      case 'get':
        return read('GET', `/api/orders/${id}`, problem(404, 'ORD_ERR_ORDER_NOT_FOUND'));
      case 'delete':
        return read('DELETE', `/api/orders/${id}`, problem(404, 'ORD_ERR_ORDER_NOT_FOUND'));
      case 'list':
        return read('GET', '/api/orders?pageNo=0&pageSize=1', { statuses: [200] });
      case 'customer':
        return read('GET', `/api/orders/customer/${id}?size=1`, { statuses: [200] });
      default:
        // The store answers 404 for an unknown id, 503 while a partition restores.
        return read('GET', `/api/orders/store/${id}`, { statuses: [404, 503], codes: ['ORD_ERR_ORDER_NOT_FOUND', 'ORD_ERR_STORE_NOT_READY', 'ORD_ERR_STORE_NOT_OWNED', 'ORD_ERR_STORE_QUERY_TIMEOUT'] });
    }
  });

const bodyOnGet = fc
  .tuple(fc.integer({ min: 1, max: 999 }), fc.boolean(), fc.uint8Array({ minLength: 1, maxLength: 300 }))
  .map(([id, liveness, body]): WireRequest =>
    liveness
      ? { cls: 'body-on-get', method: 'GET', bytes: httpRequest('GET', '/actuator/health/liveness', { body: Buffer.from(body), contentType: null }), expect: { statuses: [200] } }
      : { cls: 'body-on-get', method: 'GET', bytes: httpRequest('GET', `/api/orders/${id}`, { body: Buffer.from(body) }), expect: problem(404, 'ORD_ERR_ORDER_NOT_FOUND') },
  );

// ---- framing faults (answer optional) ----------------------------------------------

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');
const INVALID_BODY = orderJson({ customerId: '0' });

const unknownMethodToken = fc
  .tuple(
    fc.oneof(
      fc.constantFrom('FOO', 'get', 'Get', 'PROPFIND', 'MKCOL', 'PURGE', 'LINK', 'M-SEARCH', 'BREW', 'G\tET', 'GET\u0000', 'X'.repeat(5000), '\u00e9GET'),
      fc.stringMatching(/^[A-Z]{1,12}$/).filter((m) => !OTHER_METHODS.includes(m)),
    ),
    fc.constantFrom('/api/orders', '/api/orders/1', '/actuator/health/liveness', '/order-service/api/orders'),
    fc.boolean(),
  )
  .map(([method, path, body]) => fuzzCase('unknown-method-token', [{ cls: 'unknown-method-token', method, bytes: httpRequest(method, path, body ? { body: INVALID_BODY } : {}) }]));

const badRequestLine = fc
  .oneof(
    fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => Buffer.concat([Buffer.from(b), latin1('\r\n\r\n')])),
    fc.constantFrom(
      'GET /api/orders\r\nHost: fuzz\r\n\r\n',
      'GET /api/orders HTTP/1.1 extra\r\nHost: fuzz\r\n\r\n',
      'GET /api/orders HTTP/9.9\r\nHost: fuzz\r\n\r\n',
      'GET /api/orders HTTP/2.0\r\nHost: fuzz\r\n\r\n',
      'GET /api/orders HTTP/0.9\r\n\r\n',
      'GET /api/orders HTTP/1.10\r\nHost: fuzz\r\n\r\n',
      'GET /api/orders http/1.1\r\nHost: fuzz\r\n\r\n',
      'GET /api/orders HTTP/1.1\r\n\r\n',
      'GET  /api/orders  HTTP/1.1\r\nHost: fuzz\r\n\r\n',
      'GET\t/api/orders\tHTTP/1.1\r\nHost: fuzz\r\n\r\n',
      'GET http://fuzz/api/orders HTTP/1.1\r\nHost: fuzz\r\n\r\n',
      'GET * HTTP/1.1\r\nHost: fuzz\r\n\r\n',
      'GET  HTTP/1.1\r\nHost: fuzz\r\n\r\n',
      'GET /api/or\u0000ders HTTP/1.1\r\nHost: fuzz\r\n\r\n',
      'GET /api/or ders HTTP/1.1\r\nHost: fuzz\r\n\r\n',
      'GET /api/orders/\u00e0\u0080 HTTP/1.1\r\nHost: fuzz\r\n\r\n',
      'GET /api/orders/1 HTTP/1.1\nHost: fuzz\n\n',
      '\r\n\r\nGET /actuator/health/liveness HTTP/1.1\r\nHost: fuzz\r\n\r\n',
      'GET /api/orders/1 HTTP/1.1\r\nHost fuzz\r\n\r\n',
      'GET /api/orders/1 HTTP/1.1\r\nHost : fuzz\r\n\r\n',
      'GET /api/orders/1 HTTP/1.1\r\nHost: fuzz\r\n folded\r\n\r\n',
      'GET /api/orders/1 HTTP/1.1\r\nHo\u0000st: fuzz\r\n\r\n',
      'GET /api/orders/1 HTTP/1.1\rHost: fuzz\r\r',
      'GET /api/orders/1 HTTP/1.1\r\nHost: fu\rzz\r\n\r\n',
      'GET /api/orders/1 HTTP/1.1\r\n: empty-name\r\n\r\n',
      'GET /api/orders/1?\r\nHost: fuzz\r\n\r\n',
    ).map(latin1),
    fc.integer({ min: 4_000, max: 70_000 }).map((n) => latin1(`GET /api/orders/${'1'.repeat(n)} HTTP/1.1\r\nHost: fuzz\r\n\r\n`)),
  )
  .map((bytes) => fuzzCase('bad-request-line', [{ cls: 'bad-request-line', method: 'GET', bytes }]));

/** Well-formed requests that would be answered as expected if the headers around them were not hostile. */
const baseRequest = fc.constantFrom(
  { method: 'GET', target: '/actuator/health/liveness', expect: { statuses: [200] }, body: undefined },
  { method: 'GET', target: '/api/orders/7', expect: problem(404, 'ORD_ERR_ORDER_NOT_FOUND'), body: undefined },
  { method: 'POST', target: '/api/orders', expect: problem(400, 'ORD_ERR_VALIDATION'), body: INVALID_BODY },
);

const oversizedHeader = fc
  .tuple(baseRequest, fc.constantFrom('X-Fuzz-Pad', 'Cookie', 'User-Agent', 'Accept'), fc.integer({ min: 4_000, max: 80_000 }))
  .map(([base, name, size]) =>
    fuzzCase('oversized-header', [
      { cls: 'oversized-header', method: base.method, bytes: httpRequest(base.method, base.target, { headers: [[name, 'v'.repeat(size)]], ...(base.body === undefined ? {} : { body: base.body }) }), expect: { ...base.expect, optional: true } },
    ]),
  );

const numerousHeaders = fc
  .tuple(baseRequest, fc.integer({ min: 20, max: 400 }), fc.boolean())
  .map(([base, count, same]) => {
    const headers: Header[] = Array.from({ length: count }, (_, i) => [same ? 'X-Dup' : `X-Fuzz-${i}`, String(i)]);
    return fuzzCase('numerous-headers', [
      { cls: 'numerous-headers', method: base.method, bytes: httpRequest(base.method, base.target, { headers, ...(base.body === undefined ? {} : { body: base.body }) }), expect: { ...base.expect, optional: true } },
    ]);
  });

const lyingContentLength = fc
  .tuple(
    fc.constantFrom('POST /api/orders', 'PUT /api/orders/7', 'GET /api/orders/7', 'POST /order-service/api/orders'),
    fc.constantFrom(INVALID_BODY, '{"customerId":', '[]', orderJson({ address: { city: '"a\\u0000b"' } })),
    fc.oneof(
      fc.integer({ min: 1, max: 5_000 }).map((k) => ({ kind: 'more', k }) as const),
      fc.integer({ min: 1, max: 10 }).map((k) => ({ kind: 'less', k }) as const),
      fc.constantFrom('-1', '-100', 'abc', '1e3', '0x10', '+5', ' 5', '5 5', '', '18446744073709551616', '99999999999999999999', '1,1').map((v) => ({ kind: 'value', v }) as const),
      fc.tuple(fc.nat(40), fc.nat(40)).map(([a, b]) => ({ kind: 'twice', a, b }) as const),
      fc.constant({ kind: 'with-chunked' } as const),
    ),
  )
  .map(([line, body, lie]) => {
    const bytes = Buffer.from(body);
    const cl =
      lie.kind === 'more' ? [`Content-Length: ${bytes.length + lie.k}`]
      : lie.kind === 'less' ? [`Content-Length: ${Math.max(0, bytes.length - lie.k)}`]
      : lie.kind === 'value' ? [`Content-Length: ${lie.v}`]
      : lie.kind === 'twice' ? [`Content-Length: ${lie.a}`, `Content-Length: ${lie.b}`]
      : [`Content-Length: ${bytes.length}`, 'Transfer-Encoding: chunked'];
    const head = latin1(`${line} HTTP/1.1\r\nHost: fuzz\r\nContent-Type: application/json\r\n${cl.join('\r\n')}\r\n\r\n`);
    const method = line.split(' ')[0]!;
    return fuzzCase('lying-content-length', [{ cls: 'lying-content-length', method, bytes: Buffer.concat([head, bytes]) }]);
  });

const chunkedGarbage = fc
  .tuple(
    fc.constantFrom('POST /api/orders', 'PUT /api/orders/7', 'GET /api/orders/7'),
    fc.constantFrom('Transfer-Encoding: chunked', 'Transfer-Encoding: gzip, chunked', 'Transfer-Encoding: chunked, chunked', 'Transfer-Encoding: xchunked', 'Transfer-Encoding: CHUNKED', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: identity'),
    fc.oneof(
      fc.constantFrom(
        'zz\r\nabc\r\n0\r\n\r\n',
        '-5\r\nabcde\r\n0\r\n\r\n',
        'ffffffffffffffffff\r\nabc\r\n0\r\n\r\n',
        '5;ext=1\r\nabc\r\n0\r\n\r\n',
        '3\r\nabcdef\r\n0\r\n\r\n',
        '3\r\nabc0\r\n\r\n',
        '3\r\nabc\r\n',
        '0\r\n',
        '0\r\nTrailer: x\r\n\r\n',
        '0\r\nbad trailer\r\n\r\n',
        '5 \r\n{"a":\r\n0\r\n\r\n',
        '\r\n\r\n',
        '1\r\n{\r\n1\r\n}\r\n0\r\n\r\n',
        '2\r\n[]\r\n0\r\n\r\n',
        '7fffffff\r\n{}\r\n0\r\n\r\n',
        '0x2\r\n{}\r\n0\r\n\r\n',
      ),
      fc.uint8Array({ minLength: 1, maxLength: 120 }).map((b) => Buffer.from(b).toString('latin1')),
    ),
  )
  .map(([line, te, chunks]) => {
    const method = line.split(' ')[0]!;
    const bytes = latin1(`${line} HTTP/1.1\r\nHost: fuzz\r\nContent-Type: application/json\r\n${te}\r\n\r\n${chunks}`);
    return fuzzCase('chunked-garbage', [{ cls: 'chunked-garbage', method, bytes }]);
  });

// ---- cases ---------------------------------------------------------------------------

const splits = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 });

const single = (cls: CaseClass, req: fc.Arbitrary<WireRequest>): fc.Arbitrary<FuzzCase> => fc.tuple(req, splits).map(([r, s]) => fuzzCase(cls, [r], s));

/** Requests whose answer is owed and does not close the connection: what pipelines are made of. */
const pipelineable: fc.Arbitrary<WireRequest> = fc.oneof(
  { weight: 3, arbitrary: validLookingRequest },
  { weight: 3, arbitrary: badEncodingRequest },
  { weight: 2, arbitrary: methodNotAllowedRequest },
  { weight: 1, arbitrary: bodyOnGet },
  { weight: 2, arbitrary: fc.oneof(nulCharacter, loneSurrogate, invalidUtf8, numberOutOfRange, prototypePollution).map((c) => c.requests[0]!) },
);

const framingFault: fc.Arbitrary<WireRequest> = fc.oneof(unknownMethodToken, badRequestLine, lyingContentLength, chunkedGarbage).map((c) => c.requests[0]!);

const pipelinedMix = fc
  .tuple(fc.array(pipelineable, { minLength: 2, maxLength: 8 }), rarely(framingFault), splits)
  .map(([requests, tail, s]) => fuzzCase('pipelined-mix', tail === null ? requests : [...requests, tail], s));

/** One hostile case: mostly single requests, some pipelines of several on one connection. */
export const hostileCase: fc.Arbitrary<FuzzCase> = fc.oneof(
  { weight: 22, arbitrary: single('bad-percent-encoding', badEncodingRequest) },
  { weight: 10, arbitrary: single('method-not-allowed', methodNotAllowedRequest) },
  { weight: 4, arbitrary: unknownMethodToken },
  { weight: 6, arbitrary: badRequestLine },
  { weight: 3, arbitrary: oversizedHeader },
  { weight: 3, arbitrary: numerousHeaders },
  { weight: 5, arbitrary: lyingContentLength },
  { weight: 5, arbitrary: chunkedGarbage },
  { weight: 5, arbitrary: deepJson },
  { weight: 6, arbitrary: invalidUtf8 },
  { weight: 5, arbitrary: loneSurrogate },
  { weight: 6, arbitrary: nulCharacter },
  { weight: 6, arbitrary: numberOutOfRange },
  { weight: 5, arbitrary: prototypePollution },
  { weight: 3, arbitrary: single('body-on-get', bodyOnGet) },
  { weight: 1, arbitrary: oversizeBody },
  { weight: 5, arbitrary: pipelinedMix },
);
