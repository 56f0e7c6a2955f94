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
//
// This file: faults in routing (percent-encoding, methods), reads for pipelines, and
// the mix of all classes; bodies.ts and framing.ts hold the others.
import fc from 'fast-check';
import { bodyOnGet, deepJson, invalidUtf8, loneSurrogate, nulCharacter, numberOutOfRange, orderJson, oversizeBody, prototypePollution } from './bodies.js';
import { badRequestLine, chunkedGarbage, lyingContentLength, numerousHeaders, oversizedHeader, unknownMethodToken } from './framing.js';
import { API_ROUTES, CONTEXT_PATH, routing } from './routes.js';
import { fuzzCase, httpRequest, KNOWN_METHODS, problem, rarely, type CaseClass, type Expectation, type FuzzCase, type Header, type WireRequest } from './wire.js';

export { CASE_CLASSES, dueCount, preview, type CaseClass, type Expectation, type FuzzCase, type WireRequest } from './wire.js';

// ---- routing faults ----------------------------------------------------------------

// Each of these makes decodeURIComponent throw (truncated, overlong, surrogate, past
// U+10FFFF, not hex, ...).
const BAD_ESCAPES = ['%', '%E', '%E0', '%e0%80', '%C3%28', '%ED%A0%80', '%F4%90%80%80', '%C0%AF', '%FF', '%80', '%G0', '%0G', '%%', '%u0041', '%F0%9F%98', '%E0%A4', '%C3', '%F8%88%80%80%80', '%fe%ff'];
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
    other: rarely(fc.constantFrom(...KNOWN_METHODS)),
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
