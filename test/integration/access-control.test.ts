// API keys, roles, rate limits and CORS against the real service (issue 9, item 5):
// started with keys configured (digests only), REQUIRE_API_KEY=true, a rate limit and
// one allowed origin. Protected routes answer 401 problem+json with a challenge
// without a key or with a wrong one, and do their work with a right one; health and
// metrics stay open; a client past its rate gets 429 with Retry-After; the metrics
// count refusals by reason.
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, orderBody } from '../support/orders.js';
import { exchange, type RawResponse } from '../support/raw-http.js';
import { startService, type Service } from '../support/service.js';

const KEYS = { client: `client-${randomUUID()}`, operator: `operator-${randomUUID()}`, burst: `burst-${randomUUID()}` };
const digest = (key: string): string => createHash('sha256').update(key).digest('hex');
const ORIGIN = 'https://shop.example.com';
// A small rate and a larger burst: the burst lets the other tests' few anonymous
// requests through however fast they come, and what refills while the flood below
// arrives (seconds on a busy machine) stays well short of the flood.
const RATE = 2;
const BURST = 20;

let service: Service;

beforeAll(async () => {
  service = await startService({
    APPLICATION_ID: `access-control-${Date.now()}`,
    API_KEYS: `b2b-partner:${digest(KEYS.client)}, ops:${digest(KEYS.operator)}:operator, bursty:${digest(KEYS.burst)}`,
    REQUIRE_API_KEY: 'true',
    RATE_LIMIT_PER_SECOND: String(RATE),
    RATE_LIMIT_BURST: String(BURST),
    CORS_ALLOWED_ORIGINS: ORIGIN,
  });
});

afterAll(async () => {
  await service?.kill('SIGTERM');
});

const withKey = (key: string): Record<string, string> => ({ 'X-API-Key': key });


/** A request with the headers a browser would send (fetch may not set Origin), on its own connection. */
async function raw(request: string, method: string): Promise<RawResponse> {
  const ex = await exchange(service.port, [Buffer.from(request.replace('\r\n', '\r\nConnection: close\r\n'), 'latin1')], { methods: [method], due: 1, dueTimeoutMs: 10_000, idleMs: 300 });
  expect(ex.responses).toHaveLength(1);
  return ex.responses[0]!;
}

describe('API keys', () => {
  it.each<[string, string, string, unknown]>([
    ['POST', '/api/orders', '', orderBody()],
    ['PUT', '/api/orders/1', '', orderBody()],
    ['DELETE', '/api/orders/1', '', undefined],
    ['POST', '/api/orders/generate?batchSize=1', '', undefined],
    ['POST', '/order-service/api/orders', '', orderBody()],
    ['POST', '/api/orders', 'wrong-key', orderBody()],
    ['POST', '/api/orders/generate?batchSize=1', 'wrong-key', undefined],
    ['GET', '/api/orders?pageSize=1', 'wrong-key', undefined],
  ])('%s %s with key %j → 401 problem with a WWW-Authenticate challenge', async (method, path, key, body) => {
    const res = await fetch(service.baseUrl + path, {
      method,
      headers: { 'content-type': 'application/json', 'Idempotency-Key': randomUUID(), ...(key === '' ? {} : withKey(key)) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('ApiKey realm="order-service", header="X-API-Key"');
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toMatchObject({ status: 401, code: 'ORD_ERR_UNAUTHORIZED', errorCategory: 'Security', instance: path.split('?')[0] });
  });

  it('a client key creates an order (201) that can be read back; reads need no key', async () => {
    const created = await http(service.baseUrl, 'POST', '/api/orders', orderBody(), withKey(KEYS.client));
    expect(created.status).toBe(201);
    const read = await http(service.baseUrl, 'GET', created.location!);
    expect(read.status).toBe(200);
    expect(read.json.orderId).toBe(created.json.orderId);
    const updated = await http(service.baseUrl, 'PUT', created.location!, orderBody({ customerId: created.json.customerId }), withKey(KEYS.client));
    expect(updated.status).toBe(200);
  });

  it('generate needs the operator role: 403 problem for a client key, 200 for an operator key', async () => {
    const forbidden = await http(service.baseUrl, 'POST', '/api/orders/generate?batchSize=1', undefined, { ...withKey(KEYS.client), 'Idempotency-Key': randomUUID() });
    expect(forbidden.status).toBe(403);
    expect(forbidden.json).toMatchObject({ status: 403, code: 'ORD_ERR_FORBIDDEN' });
    const ok = await http(service.baseUrl, 'POST', '/api/orders/generate?batchSize=1', undefined, { ...withKey(KEYS.operator), 'Idempotency-Key': randomUUID() });
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ success: true });
  });

  it('health and metrics stay open: no key, and a wrong one is ignored there', async () => {
    for (const headers of [{}, withKey('wrong-key')]) {
      for (const path of ['/actuator/health/liveness', '/actuator/prometheus', '/actuator/info']) {
        expect((await http(service.baseUrl, 'GET', path, undefined, headers)).status, path).toBe(200);
      }
      // Readiness answers what it finds (a busy machine's broker probe may say DOWN for a
      // moment, a 503): what matters here is that it answers, not the gate.
      for (const path of ['/actuator/health', '/actuator/health/readiness']) {
        const res = await http(service.baseUrl, 'GET', path, undefined, headers);
        expect([200, 503], path).toContain(res.status);
        expect(res.json, path).toMatchObject({ status: res.status === 200 ? 'UP' : 'DOWN', components: expect.any(Object) });
      }
    }
  });
});

describe('rate limit', () => {
  it(`a client sending far more than its burst of ${BURST} gets 429 problems with Retry-After; another client is not affected`, async () => {
    const answers = await Promise.all(Array.from({ length: BURST * 3 }, () => fetch(`${service.baseUrl}/api/orders?pageSize=1`, { headers: withKey(KEYS.burst) })));
    const statuses = answers.map((r) => r.status);
    const limited = answers.filter((r) => r.status === 429);
    // The burst passes, and a little more refills while they arrive.
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(BURST);
    expect(limited.length).toBeGreaterThanOrEqual(BURST / 2);
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    const first = limited[0]!;
    expect(Number(first.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(first.headers.get('content-type')).toBe('application/problem+json');
    expect(await first.json()).toMatchObject({ status: 429, code: 'ORD_ERR_RATE_LIMITED', detail: expect.stringContaining('client bursty') });
    await Promise.all(answers.filter((r) => r !== first).map((r) => r.arrayBuffer()));
    expect((await http(service.baseUrl, 'GET', '/api/orders?pageSize=1', undefined, withKey(KEYS.client))).status).toBe(200);
    // Probes and scrapes are never limited.
    const probes = await Promise.all(Array.from({ length: BURST * 2 }, () => http(service.baseUrl, 'GET', '/actuator/health/liveness')));
    expect(probes.every((p) => p.status === 200)).toBe(true);
  });
});

describe('CORS', () => {
  it('answers a preflight from the allowed origin with 204 and what a browser may send', async () => {
    const res = await raw(
      `OPTIONS /api/orders HTTP/1.1\r\nHost: t\r\nOrigin: ${ORIGIN}\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type, x-api-key\r\n\r\n`,
      'OPTIONS',
    );
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(res.headers.get('access-control-allow-methods')).toBe('GET, POST, PUT, DELETE');
    expect(res.headers.get('access-control-allow-headers')).toBe('Content-Type, Idempotency-Key, X-API-Key');
    expect(res.headers.get('access-control-max-age')).toBe('600');
  });

  it('refuses a preflight from another origin (403 problem); an OPTIONS that is no preflight keeps its 405', async () => {
    const refused = await raw(`OPTIONS /api/orders HTTP/1.1\r\nHost: t\r\nOrigin: https://evil.example.com\r\nAccess-Control-Request-Method: POST\r\n\r\n`, 'OPTIONS');
    expect(refused.status).toBe(403);
    expect(refused.headers.get('access-control-allow-origin')).toBeUndefined();
    expect(JSON.parse(refused.body.toString())).toMatchObject({ code: 'ORD_ERR_CORS_REJECTED' });
    const plain = await raw('OPTIONS /api/orders HTTP/1.1\r\nHost: t\r\n\r\n', 'OPTIONS');
    expect(plain.status).toBe(405);
    expect(plain.headers.get('allow')).toBe('GET, POST');
  });

  it('a cross-origin POST with a key gets its 201 with the CORS headers, Location readable by the app', async () => {
    const body = JSON.stringify(orderBody());
    const res = await raw(
      `POST /api/orders HTTP/1.1\r\nHost: t\r\nOrigin: ${ORIGIN}\r\nX-API-Key: ${KEYS.client}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      'POST',
    );
    expect(res.status).toBe(201);
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(res.headers.get('access-control-expose-headers')).toContain('Location');
    expect(res.headers.get('vary')).toBe('Origin');
  });
});

describe('metrics', () => {
  it('count refused requests by reason', async () => {
    const text = await (await fetch(`${service.baseUrl}/actuator/prometheus`)).text();
    const count = (reason: string): number => Number(new RegExp(`^http_server_requests_rejected_total\\{reason="${reason}"\\} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(count('missing_key')).toBeGreaterThanOrEqual(5);
    expect(count('invalid_key')).toBeGreaterThanOrEqual(3);
    expect(count('forbidden')).toBeGreaterThanOrEqual(1);
    expect(count('rate_limited')).toBeGreaterThanOrEqual(BURST / 2);
    expect(count('cors_rejected')).toBeGreaterThanOrEqual(1);
  });
});
