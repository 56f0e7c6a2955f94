// Framing faults: request lines, method tokens, header floods, lying Content-Length and
// chunked garbage. uWS may answer, close the connection, or wait for bytes that never
// come, so no answer is owed; one that comes is held to the same rules as any other.
import fc from 'fast-check';
import { INVALID_BODY, orderJson } from './bodies.js';
import { fuzzCase, httpRequest, KNOWN_METHODS, latin1, problem, type Header } from './wire.js';

export const unknownMethodToken = fc
  .tuple(
    fc.oneof(
      fc.constantFrom('FOO', 'get', 'Get', 'PROPFIND', 'MKCOL', 'PURGE', 'LINK', 'M-SEARCH', 'BREW', 'G\tET', 'GET\u0000', 'X'.repeat(5000), '\u00e9GET'),
      fc.stringMatching(/^[A-Z]{1,12}$/).filter((m) => !KNOWN_METHODS.includes(m)),
    ),
    fc.constantFrom('/api/orders', '/api/orders/1', '/actuator/health/liveness', '/order-service/api/orders'),
    fc.boolean(),
  )
  .map(([method, path, body]) => fuzzCase('unknown-method-token', [{ cls: 'unknown-method-token', method, bytes: httpRequest(method, path, body ? { body: INVALID_BODY } : {}) }]));

export const badRequestLine = fc
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

export const oversizedHeader = fc
  .tuple(baseRequest, fc.constantFrom('X-Fuzz-Pad', 'Cookie', 'User-Agent', 'Accept'), fc.integer({ min: 4_000, max: 80_000 }))
  .map(([base, name, size]) =>
    fuzzCase('oversized-header', [
      { cls: 'oversized-header', method: base.method, bytes: httpRequest(base.method, base.target, { headers: [[name, 'v'.repeat(size)]], ...(base.body === undefined ? {} : { body: base.body }) }), expect: { ...base.expect, optional: true } },
    ]),
  );

export const numerousHeaders = fc
  .tuple(baseRequest, fc.integer({ min: 20, max: 400 }), fc.boolean())
  .map(([base, count, same]) => {
    const headers: Header[] = Array.from({ length: count }, (_, i) => [same ? 'X-Dup' : `X-Fuzz-${i}`, String(i)]);
    return fuzzCase('numerous-headers', [
      { cls: 'numerous-headers', method: base.method, bytes: httpRequest(base.method, base.target, { headers, ...(base.body === undefined ? {} : { body: base.body }) }), expect: { ...base.expect, optional: true } },
    ]);
  });

export const lyingContentLength = fc
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

export const chunkedGarbage = fc
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
