// One request must never stop the process (issue 6, item 1), against the real service:
// each hostile request below gets a clear problem+json answer (or, for what uWS
// refuses at its own level, a closed connection), changes no row in Postgres, and the
// service is still alive and live afterwards.
//
// Regression: `GET /api/orders/%E0` threw a URIError in the HTTP worker outside the
// handler's promise chain and the whole process aborted; a NUL in a string got a 500
// from Postgres; lone surrogates, invalid UTF-8, `__proto__` keys and deep nesting
// were stored (201); PATCH got a 404 and HEAD a body; a 3000-character
// Idempotency-Key got a 500.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DATABASE_URL } from '../support/env.js';
import { http, orderBody } from '../support/orders.js';
import { exchange, type RawExchange, type RawResponse } from '../support/raw-http.js';
import { startService, type Service } from '../support/service.js';

let service: Service;
let db: pg.Pool;

beforeAll(async () => {
  service = await startService({ APPLICATION_ID: `http-hardening-${Date.now()}` });
  db = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
});

afterAll(async () => {
  await db?.end();
  await service?.kill('SIGTERM');
});

async function rows(): Promise<string> {
  const { rows: r } = await db.query<{ n: string }>(
    `select format('%s/%s/%s/%s', (select count(*) from orders), (select count(*) from order_items),
       (select count(*) from outbox), (select count(*) from generate_requests)) as n`,
  );
  return r[0]!.n;
}

/** Sends `raw` on its own connection and collects what comes back. */
function raw(bytes: string | Buffer, method: string, due = 1): Promise<RawExchange> {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
  return exchange(service.port, [buf], { methods: [method], due, dueTimeoutMs: 15_000, idleMs: 500 });
}

function problemOf(res: RawResponse): Record<string, unknown> {
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const problem = JSON.parse(res.body.toString()) as Record<string, unknown>;
  for (const field of ['type', 'title', 'detail']) expect(problem[field]).toEqual(expect.any(String));
  expect(problem.status).toBe(res.status);
  return problem;
}

async function expectAliveAndUnchanged(before: string): Promise<void> {
  expect(service.process.exitCode).toBeNull();
  expect(service.process.signalCode).toBeNull();
  expect((await http(service.baseUrl, 'GET', '/actuator/health/liveness')).status).toBe(200);
  expect(await rows()).toBe(before);
}

describe('malformed percent-encoding is a 400, never the end of the process', () => {
  it.each<[string, string, string, string?]>([
    ['GET', '/api/orders/%E0', 'id'],
    ['PUT', '/api/orders/%E0', 'id', JSON.stringify(orderBody())],
    ['DELETE', '/api/orders/%E0', 'id'],
    ['GET', '/api/orders/customer/%E0', 'customerId'],
    ['GET', '/api/orders/store/%E0', 'id'],
    ['GET', '/order-service/api/orders/%E0', 'id'],
    ['DELETE', '/order-service/api/orders/1%ED%A0%80', 'id'],
    ['GET', '/order-service/api/orders/customer/%', 'customerId'],
    ['GET', '/api/orders?pageNo=%E0', 'pageNo'],
    ['GET', '/api/orders/customer/7?sort=id%2C%C3%28', 'sort'],
    ['GET', '/api/orders/store?%E0=1', '(query)'],
    ['POST', '/api/orders?x=%G0', 'x', JSON.stringify(orderBody())],
    ['POST', '/api/orders/generate?batchSize=%F4%90%80%80', 'batchSize'],
  ])('%s %s → 400 ORD_ERR_BAD_PARAMETER naming %s', async (method, target, field, body) => {
    const before = await rows();
    const head = `${method} ${target} HTTP/1.1\r\nHost: t\r\nIdempotency-Key: hardening-${Date.now()}\r\nConnection: close\r\n`;
    const ex = await raw(body === undefined ? `${head}\r\n` : `${head}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, method);
    expect(ex.responses).toHaveLength(1);
    const problem = problemOf(ex.responses[0]!);
    expect(problem).toMatchObject({ status: 400, code: 'ORD_ERR_BAD_PARAMETER', instance: target.split('?')[0] });
    expect((problem.violations as { field: string }[]).map((v) => v.field)).toContain(field);
    await expectAliveAndUnchanged(before);
  });
});

describe('text Postgres cannot store as sent is a 400 naming the field', () => {
  const withCity = (city: string): string => JSON.stringify(orderBody()).replace('"Springfield"', city);
  const [head, tail] = JSON.stringify(orderBody()).split('Springfield') as [string, string];
  const invalidUtf8 = Buffer.concat([Buffer.from(`${head}Spring`), Buffer.from([0xc3, 0x28]), Buffer.from(`field${tail}`)]);
  it.each<[string, string | Uint8Array, string, string?]>([
    ['a NUL in deliveryAddress.city', withCity('"Spring\\u0000field"'), 'ORD_ERR_VALIDATION', 'deliveryAddress.city'],
    ['a NUL in a productCode', JSON.stringify(orderBody()).replace('"P001"', '"P0\\u000001"'), 'ORD_ERR_VALIDATION', 'items[0].productCode'],
    ['a lone surrogate in deliveryAddress.city', withCity('"Spring\\ud800field"'), 'ORD_ERR_VALIDATION', 'deliveryAddress.city'],
    ['invalid UTF-8 in the body', invalidUtf8, 'ORD_ERR_MALFORMED_JSON'],
  ])('%s', async (_, body, code, field) => {
    const before = await rows();
    const res = await http(service.baseUrl, 'POST', '/api/orders', body);
    expect(res.status).toBe(400);
    expect(res.contentType).toBe('application/problem+json');
    expect(res.json).toMatchObject({ status: 400, code });
    if (field !== undefined) expect(res.json.violations.map((v: { field: string }) => v.field)).toEqual([field]);
    await expectAliveAndUnchanged(before);
  });
});

describe('reserved keys, deep nesting and numbers out of range are a 400 and store nothing', () => {
  const valid = JSON.stringify(orderBody());
  it.each<[string, string, string]>([
    ['__proto__ at the top', valid.replace('{', '{"__proto__":{"status":"CONFIRMED"},'), '__proto__'],
    ['constructor.prototype in the address', valid.replace('"deliveryAddress":{', '"deliveryAddress":{"constructor":{"prototype":{"x":1}},'), 'deliveryAddress.constructor'],
    ['5,000 levels of nesting', valid.replace('{', `{"extra":${'['.repeat(5000)}${']'.repeat(5000)},`), `extra${'[0]'.repeat(31)}`],
    ['customerId 1e400', valid.replace(/"customerId":\d+/, '"customerId":1e400'), 'customerId'],
    ['quantity 2^63', valid.replace('"quantity":2', '"quantity":9223372036854775808'), 'items[0].quantity'],
    ['productPrice -0', valid.replace('"productPrice":10.5', '"productPrice":-0'), 'items[0].productPrice'],
  ])('%s', async (_, body, field) => {
    const before = await rows();
    const res = await http(service.baseUrl, 'POST', '/api/orders', body);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ status: 400, code: 'ORD_ERR_VALIDATION' });
    expect(res.json.violations.map((v: { field: string }) => v.field)).toContain(field);
    await expectAliveAndUnchanged(before);
  });
});

describe('methods a path does not have', () => {
  it.each<[string, string, number, string?]>([
    ['PATCH', '/api/orders', 405, 'GET, POST'],
    ['DELETE', '/api/orders', 405, 'GET, POST'],
    ['PATCH', '/api/orders/42', 405, 'GET, PUT, DELETE'],
    ['OPTIONS', '/order-service/api/orders/42', 405, 'GET, PUT, DELETE'],
    ['POST', '/api/orders/store/42', 405, 'GET'],
    ['TRACE', '/actuator/health/liveness', 405, 'GET'],
    ['PATCH', '/api/nothing', 404],
  ])('%s %s → %i', async (method, target, status, allow) => {
    const ex = await raw(`${method} ${target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`, method);
    const res = ex.responses[0]!;
    expect(res.status).toBe(status);
    expect(res.headers.get('allow') ?? undefined).toBe(allow);
    expect(problemOf(res)).toMatchObject({ code: status === 405 ? 'ORD_ERR_METHOD_NOT_ALLOWED' : 'ORD_ERR_ROUTE_NOT_FOUND' });
  });

  it('HEAD gets the 405 headers and no body (a body would corrupt the next answer)', async () => {
    const ex = await exchange(service.port, [Buffer.from('HEAD /api/orders/42 HTTP/1.1\r\nHost: t\r\n\r\nGET /actuator/health/liveness HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n')], {
      methods: ['HEAD', 'GET'],
      due: 2,
      dueTimeoutMs: 15_000,
      idleMs: 500,
    });
    expect(ex.protocolError).toBeUndefined();
    expect(ex.responses.map((r) => r.status)).toEqual([405, 200]);
    expect(ex.responses[0]!.headers.get('allow')).toBe('GET, PUT, DELETE');
    expect(ex.responses[0]!.body.length).toBe(0);
  });

  it('a method uWS does not know (FOO) has its connection closed by uWS; the process lives', async () => {
    const ex = await raw('FOO /api/orders HTTP/1.1\r\nHost: t\r\n\r\n', 'FOO', 0);
    expect(ex.responses).toEqual([]);
    expect(ex.closedByServer).toBe(true);
    await expectAliveAndUnchanged(await rows());
  });
});

describe('Idempotency-Key of generate', () => {
  it('a 3000-character key is a 400 naming the header, and generates nothing', async () => {
    const before = await rows();
    // Random, so Postgres cannot compress it under the btree row limit (a 500 before).
    const key = randomBytes(1500).toString('hex');
    const res = await http(service.baseUrl, 'POST', '/api/orders/generate?batchSize=1', undefined, { 'Idempotency-Key': key });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ code: 'ORD_ERR_BAD_PARAMETER', violations: [{ field: 'Idempotency-Key' }] });
    await expectAliveAndUnchanged(before);
  });
});

describe('framing uWS refuses or waits on: the process lives, any answer is a problem', () => {
  const invalid = JSON.stringify({ customerId: 0 });
  it.each<[string, string]>([
    ['a Content-Length larger than the body', `POST /api/orders HTTP/1.1\r\nHost: t\r\nContent-Length: 500\r\n\r\n${invalid}`],
    ['a negative Content-Length', `POST /api/orders HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n${invalid}`],
    ['a garbage Content-Length', `POST /api/orders HTTP/1.1\r\nHost: t\r\nContent-Length: 1e3\r\n\r\n${invalid}`],
    ['two different Content-Lengths', `POST /api/orders HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 16\r\n\r\n${invalid}`],
    ['chunked garbage', 'POST /api/orders HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n'],
    ['a chunk larger than what follows', 'POST /api/orders HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n{}\r\n'],
    ['300 headers', `GET /api/orders/1 HTTP/1.1\r\nHost: t\r\n${Array.from({ length: 300 }, (_, i) => `X-H${i}: v\r\n`).join('')}\r\n`],
    ['an 80 KB header', `GET /api/orders/1 HTTP/1.1\r\nHost: t\r\nX-Pad: ${'v'.repeat(80_000)}\r\n\r\n`],
    ['a body on a GET', `GET /actuator/health/liveness HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\n\u0000\u00ff\u0001x`],
    ['garbage instead of a request line', '\u0016\u0003\u0001\u0000\u00a5\u0001\u0000\u0000\u00a1\u0003\u0003\r\n\r\n'],
  ])('%s', async (_, bytes) => {
    const before = await rows();
    const ex = await raw(bytes, bytes.split(' ')[0]!, 0);
    expect(ex.protocolError).toBeUndefined();
    for (const res of ex.responses) {
      expect(res.status).not.toBe(500);
      if (res.status >= 400) problemOf(res);
    }
    await expectAliveAndUnchanged(before);
  });
});
