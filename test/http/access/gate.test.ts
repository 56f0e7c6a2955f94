// The access gate on a real uWebSockets.js app in this process: which routes need a
// key or a role, what a refusal looks like (401 with WWW-Authenticate, 403, 429 with
// Retry-After, all problem+json), CORS preflights and headers, and that a refused
// request leaves its connection usable (its body is not read, uWS frames past it).
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessGate, ApiKeys, CorsPolicy, parseApiKeys, RateLimiter, sha256 } from '../../../src/http/access/index.js';
import { httpRejectedChannel, type RejectedEvent } from '../../../src/http/observe.js';
import { json } from '../../../src/http/reply.js';
import { HttpServer } from '../../../src/http/server.js';
import { exchange, type RawExchange, type RawResponse } from '../../support/raw-http.js';

const log = pino({ level: 'silent' });
const hex = (key: string): string => sha256(key).toString('hex');
const keys = new ApiKeys(parseApiKeys(`acme:${hex('acme-key')} ops:${hex('ops-key')}:operator limited:${hex('limited-key')}`, 'API_KEYS').entries);

const rejections: string[] = [];
const onRejected = (m: unknown): void => void rejections.push((m as RejectedEvent).reason);
beforeAll(() => httpRejectedChannel.subscribe(onRejected));
afterAll(() => httpRejectedChannel.unsubscribe(onRejected));

function serve(gate: AccessGate | undefined): HttpServer {
  return new HttpServer({ host: '127.0.0.1', port: 0, maxBodyBytes: 1024, ...(gate === undefined ? {} : { access: gate }) }, log)
    .route('get', '/things/:id', (input) => json(200, JSON.stringify({ id: input.params[0] })))
    .route('post', '/things', (input) => json(201, input.body?.toString() ?? ''), { body: true })
    .route('post', '/things/generate', () => json(200, '{"success":true}'), { access: 'operator' })
    .route('get', '/health', () => json(200, '{"status":"UP"}'), { access: 'open' })
    .fallback();
}

/** Requests on one connection (the last says Connection: close), and what came back. */
async function send(port: number, ...requests: string[]): Promise<RawExchange> {
  const raw = requests.map((r, i) => (i === requests.length - 1 ? r.replace('\r\n', '\r\nConnection: close\r\n') : r)).join('');
  return exchange(port, [Buffer.from(raw, 'latin1')], { methods: requests.map((r) => r.split(' ')[0]!), due: requests.length, dueTimeoutMs: 5_000, idleMs: 200 });
}

async function one(port: number, request: string): Promise<RawResponse> {
  const ex = await send(port, request);
  expect(ex.protocolError).toBeUndefined();
  expect(ex.responses).toHaveLength(1);
  return ex.responses[0]!;
}

const get = (path: string, headers = ''): string => `GET ${path} HTTP/1.1\r\nHost: t\r\n${headers}\r\n`;
const post = (path: string, body: string, headers = ''): string => `POST ${path} HTTP/1.1\r\nHost: t\r\nContent-Length: ${body.length}\r\n${headers}\r\n${body}`;

function problemOf(res: RawResponse): Record<string, unknown> {
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const problem = JSON.parse(res.body.toString()) as Record<string, unknown>;
  expect(problem.status).toBe(res.status);
  return problem;
}

describe('API keys with REQUIRE_API_KEY=true', () => {
  let server: HttpServer;
  let port: number;

  beforeAll(async () => {
    server = serve(new AccessGate({ keys, requireApiKey: true, limiter: undefined, cors: undefined }));
    port = await server.listen();
  });
  afterAll(() => server?.close());

  it('a write without a key is a 401 problem with a WWW-Authenticate challenge naming the header', async () => {
    rejections.length = 0;
    const res = await one(port, post('/things', '{}'));
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('ApiKey realm="order-service", header="X-API-Key"');
    expect(problemOf(res)).toMatchObject({ code: 'ORD_ERR_UNAUTHORIZED', title: 'Unauthorized', errorCategory: 'Security', instance: '/things' });
    expect(rejections).toEqual(['missing_key']);
  });

  it('a wrong key is a 401 on any route, reads included', async () => {
    rejections.length = 0;
    for (const req of [post('/things', '{}', 'X-API-Key: nope\r\n'), get('/things/1', 'X-API-Key: nope\r\n')]) {
      const res = await one(port, req);
      expect(res.status).toBe(401);
      expect(problemOf(res)).toMatchObject({ code: 'ORD_ERR_UNAUTHORIZED', detail: 'the X-API-Key is not valid' });
    }
    expect(rejections).toEqual(['invalid_key', 'invalid_key']);
  });

  it('a right key writes (201); a read needs none (200)', async () => {
    const res = await one(port, post('/things', '{"a":1}', 'X-API-Key: acme-key\r\n'));
    expect(res.status).toBe(201);
    expect(res.body.toString()).toBe('{"a":1}');
    expect((await one(port, get('/things/7'))).status).toBe(200);
  });

  it('an operator route: 401 without a key, 403 for a client key, 200 for an operator key', async () => {
    rejections.length = 0;
    expect((await one(port, post('/things/generate', ''))).status).toBe(401);
    const forbidden = await one(port, post('/things/generate', '', 'X-API-Key: acme-key\r\n'));
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('www-authenticate')).toBeUndefined();
    expect(problemOf(forbidden)).toMatchObject({ code: 'ORD_ERR_FORBIDDEN', detail: expect.stringContaining('client acme') });
    expect((await one(port, post('/things/generate', '', 'X-API-Key: ops-key\r\n'))).status).toBe(200);
    expect(rejections).toEqual(['missing_key', 'forbidden']);
  });

  it('an open route ignores keys, wrong ones included', async () => {
    expect((await one(port, get('/health', 'X-API-Key: nope\r\n'))).status).toBe(200);
  });

  it('a refused POST leaves its connection usable: the unread body is framed past, the next request is answered', async () => {
    const body = '{"padding":"' + 'x'.repeat(500) + '"}';
    const ex = await send(port, post('/things', body), get('/things/2'));
    expect(ex.protocolError).toBeUndefined();
    expect(ex.responses.map((r) => r.status)).toEqual([401, 200]);
    expect(JSON.parse(ex.responses[1]!.body.toString())).toEqual({ id: '2' });
  });
});

describe('API keys without REQUIRE_API_KEY', () => {
  let server: HttpServer;
  let port: number;
  beforeAll(async () => {
    server = serve(new AccessGate({ keys, requireApiKey: false, limiter: undefined, cors: undefined }));
    port = await server.listen();
  });
  afterAll(() => server?.close());

  it('writes are open, operator routes still need an operator key', async () => {
    expect((await one(port, post('/things', '{}'))).status).toBe(201);
    expect((await one(port, post('/things/generate', ''))).status).toBe(401);
    expect((await one(port, post('/things/generate', '', 'X-API-Key: ops-key\r\n'))).status).toBe(200);
  });
});

describe('no keys configured', () => {
  let server: HttpServer;
  let port: number;
  beforeAll(async () => {
    server = serve(undefined);
    port = await server.listen();
  });
  afterAll(() => server?.close());

  it('every route is open as before, operator routes included; OPTIONS is a 405 as any unknown method', async () => {
    expect((await one(port, post('/things', '{}'))).status).toBe(201);
    expect((await one(port, post('/things/generate', '', 'X-API-Key: whatever\r\n'))).status).toBe(200);
    const options = await one(port, `OPTIONS /things HTTP/1.1\r\nHost: t\r\nOrigin: https://shop.example.com\r\nAccess-Control-Request-Method: POST\r\n\r\n`);
    expect(options.status).toBe(405);
    expect(options.headers.get('allow')).toBe('POST');
    expect(options.headers.get('access-control-allow-origin')).toBeUndefined();
  });
});

describe('rate limits', () => {
  let server: HttpServer;
  let port: number;
  let now = 0;
  beforeAll(async () => {
    // A clock that stands still: no token comes back during the test.
    server = serve(new AccessGate({ keys, requireApiKey: false, limiter: new RateLimiter({ perSecond: 0.5, burst: 3 }, () => now), cors: undefined }));
    port = await server.listen();
  });
  afterAll(() => server?.close());

  it('a client past its burst gets a 429 problem with Retry-After; other clients and open routes are not affected', async () => {
    rejections.length = 0;
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await one(port, get('/things/1', 'X-API-Key: limited-key\r\n'))).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const refused = await one(port, get('/things/1', 'X-API-Key: limited-key\r\n'));
    expect(refused.headers.get('retry-after')).toBe('2');
    expect(problemOf(refused)).toMatchObject({ status: 429, code: 'ORD_ERR_RATE_LIMITED', title: 'Too Many Requests', detail: expect.stringContaining('client limited') });
    expect((await one(port, get('/things/1', 'X-API-Key: acme-key\r\n'))).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await one(port, get('/health'))).status).toBe(200);
    expect(rejections).toEqual(['rate_limited', 'rate_limited']);
    now += 2_000; // one token back
    expect((await one(port, get('/things/1', 'X-API-Key: limited-key\r\n'))).status).toBe(200);
  });

  it('requests without a key count against their address, wrong keys included (guessing is limited too)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await one(port, get('/things/1'))).status);
    statuses.push((await one(port, get('/things/1', 'X-API-Key: guess\r\n'))).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});

describe('CORS', () => {
  let server: HttpServer;
  let port: number;
  beforeAll(async () => {
    const cors = new CorsPolicy({ origins: ['https://shop.example.com'], methods: ['GET', 'POST'], headers: ['Content-Type', 'X-API-Key'], exposedHeaders: ['Location'], maxAgeSeconds: 60 });
    server = serve(new AccessGate({ keys, requireApiKey: true, limiter: undefined, cors }));
    port = await server.listen();
  });
  afterAll(() => server?.close());

  const preflight = (path: string, origin: string, method: string, headers = ''): string =>
    `OPTIONS ${path} HTTP/1.1\r\nHost: t\r\nOrigin: ${origin}\r\nAccess-Control-Request-Method: ${method}\r\n${headers}\r\n`;

  it('answers a preflight from an allowed origin with 204 and what it may do, without a key', async () => {
    const res = await one(port, preflight('/order-service/things', 'https://shop.example.com', 'POST', 'Access-Control-Request-Headers: content-type,x-api-key\r\n'));
    expect(res.status).toBe(204);
    expect(Object.fromEntries([...res.headers].filter(([k]) => k.startsWith('access-control-')))).toEqual({
      'access-control-allow-origin': 'https://shop.example.com',
      'access-control-allow-methods': 'GET, POST',
      'access-control-allow-headers': 'Content-Type, X-API-Key',
      'access-control-expose-headers': 'Location',
      'access-control-max-age': '60',
    });
  });

  it('refuses a preflight from another origin with a 403 problem; a path no route has is a 404', async () => {
    const res = await one(port, preflight('/things', 'https://evil.example.com', 'POST'));
    expect(res.status).toBe(403);
    expect(res.headers.get('access-control-allow-origin')).toBeUndefined();
    expect(problemOf(res)).toMatchObject({ code: 'ORD_ERR_CORS_REJECTED' });
    expect((await one(port, preflight('/nowhere', 'https://shop.example.com', 'GET'))).status).toBe(404);
  });

  it('an OPTIONS that is not a preflight still gets the 405 with Allow', async () => {
    const res = await one(port, 'OPTIONS /things/1 HTTP/1.1\r\nHost: t\r\n\r\n');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
  });

  it('puts the CORS headers on answers to an allowed origin, refusals and 404s included; none for other origins', async () => {
    const ok = await one(port, get('/things/1', 'Origin: https://shop.example.com\r\n'));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://shop.example.com');
    expect(ok.headers.get('vary')).toBe('Origin');
    const refused = await one(port, post('/things', '{}', 'Origin: https://shop.example.com\r\n'));
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe('https://shop.example.com');
    expect((await one(port, get('/nowhere', 'Origin: https://shop.example.com\r\n'))).headers.get('access-control-allow-origin')).toBe('https://shop.example.com');
    const other = await one(port, get('/things/1', 'Origin: https://evil.example.com\r\n'));
    expect(other.status).toBe(200);
    expect(other.headers.get('access-control-allow-origin')).toBeUndefined();
    expect(other.headers.get('vary')).toBe('Origin');
  });
});
