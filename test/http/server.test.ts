// The HTTP server's error boundary, on a real uWebSockets.js app in this process:
// whatever a handler throws becomes a problem+json answer, a 5xx carries an error id
// that names its log line, and the server keeps serving.
//
// Regression (issue 6, item 1): `GET /api/orders/%E0` threw a URIError inside the uWS
// handler, outside the promise chain; the exception ended the HTTP thread and, with
// its listen socket open, aborted the process. Here it would end this test process.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineError } from '../../src/errors.js';
import { json } from '../../src/http/reply.js';
import { HttpServer } from '../../src/http/server.js';
import { exchange, type RawExchange, type RawResponse } from '../support/raw-http.js';
import { freePort } from '../support/service.js';

const logLines: Record<string, unknown>[] = [];
const log = pino(
  { level: 'info' },
  new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  }),
);

let server: HttpServer;
let port: number;

beforeAll(async () => {
  server = new HttpServer({ host: '127.0.0.1', port: 0, maxBodyBytes: 64 }, log)
    .route('get', '/things/:thingId', (input) => json(200, JSON.stringify({ id: input.params[0], q: input.query.get('q') })))
    .route('put', '/things/:thingId', () => json(200, '{}'))
    .route('get', '/boom/sync', () => {
      throw new TypeError("Cannot read properties of undefined (reading 'secret')");
    })
    .route('get', '/boom/async', async () => {
      await Promise.resolve();
      // Not an Error at all: still a 500 problem with an id.
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      throw 'a thrown string';
    })
    .route('get', '/missing', () => {
      throw new EngineError('ORD_ERR_ORDER_NOT_FOUND', 'no such thing');
    })
    .route('post', '/echo', (input) => ({ status: 200, body: input.body?.toString() ?? '', contentType: 'text/plain' }), { body: true })
    .fallback();
  port = await server.listen();
});

afterAll(() => server?.close());

/** One request on its own connection (Connection: close, so no socket outlives the test). */
async function send(raw: string, method = raw.split(' ')[0]!): Promise<RawExchange> {
  const withClose = raw.replace('\r\n', '\r\nConnection: close\r\n');
  return exchange(port, [Buffer.from(withClose, 'latin1')], { methods: [method], due: 1, dueTimeoutMs: 5_000, idleMs: 200 });
}

function only(ex: RawExchange): RawResponse {
  expect(ex.protocolError).toBeUndefined();
  expect(ex.responses).toHaveLength(1);
  return ex.responses[0]!;
}

const problemOf = (res: RawResponse): Record<string, unknown> => {
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  return JSON.parse(res.body.toString()) as Record<string, unknown>;
};

async function stillServing(): Promise<void> {
  const res = only(await send('GET /things/1 HTTP/1.1\r\nHost: t\r\n\r\n'));
  expect(res.status).toBe(200);
}

describe('malformed percent-encoding', () => {
  it.each([
    ['/things/%E0', 'thingId'],
    ['/things/1%ED%A0%802', 'thingId'],
    ['/order-service/things/%', 'thingId'],
    ['/things/1?q=%C3%28', 'q'],
  ])('GET %s is a 400 naming %s, and the server keeps serving', async (target, field) => {
    const res = only(await send(`GET ${target} HTTP/1.1\r\nHost: t\r\n\r\n`));
    expect(res.status).toBe(400);
    const problem = problemOf(res);
    expect(problem).toMatchObject({ status: 400, code: 'ORD_ERR_BAD_PARAMETER', instance: target.split('?')[0] });
    expect(problem.violations).toEqual([expect.objectContaining({ field })]);
    await stillServing();
  });

  it('is a 400 on a PUT with a body too (the body is never read)', async () => {
    const res = only(await send('PUT /things/%E0 HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}'));
    expect(problemOf(res)).toMatchObject({ status: 400, code: 'ORD_ERR_BAD_PARAMETER' });
  });
});

describe('handler failures', () => {
  it.each(['/boom/sync', '/boom/async'])('%s: a 500 problem whose errorId names the logged error line, no internals leaked', async (path) => {
    const res = only(await send(`GET ${path} HTTP/1.1\r\nHost: t\r\n\r\n`));
    expect(res.status).toBe(500);
    const problem = problemOf(res);
    expect(problem).toMatchObject({ status: 500, code: 'ORD_ERR_INTERNAL', detail: 'an unexpected error occurred', errorId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(res.body.toString()).not.toContain('secret');
    const line = logLines.find((l) => l.errorId === problem.errorId);
    expect(line).toMatchObject({ level: 50, msg: 'request failed', url: path });
    await stillServing();
  });

  it('a client error (4xx) is answered without an errorId and not logged', async () => {
    const before = logLines.length;
    const problem = problemOf(only(await send('GET /missing HTTP/1.1\r\nHost: t\r\n\r\n')));
    expect(problem).toMatchObject({ status: 404, code: 'ORD_ERR_ORDER_NOT_FOUND' });
    expect(problem.errorId).toBeUndefined();
    expect(logLines.length).toBe(before);
  });
});

describe('methods and paths no route takes', () => {
  it.each([
    ['PATCH', '/things/1', 'GET, PUT'],
    ['DELETE', '/order-service/things/1', 'GET, PUT'],
    ['OPTIONS', '/echo', 'POST'],
    ['GET', '/echo', 'POST'],
  ])('%s %s: 405 with Allow: %s', async (method, path, allow) => {
    const res = only(await send(`${method} ${path} HTTP/1.1\r\nHost: t\r\n\r\n`));
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe(allow);
    expect(problemOf(res)).toMatchObject({ status: 405, code: 'ORD_ERR_METHOD_NOT_ALLOWED', title: 'Method Not Allowed', instance: path });
  });

  it('HEAD gets the 405 headers without a body, so the next answer on the connection is read right', async () => {
    const raw = 'HEAD /things/1 HTTP/1.1\r\nHost: t\r\n\r\nGET /things/2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n';
    const ex = await exchange(port, [Buffer.from(raw)], { methods: ['HEAD', 'GET'], due: 2, dueTimeoutMs: 5_000, idleMs: 200 });
    expect(ex.protocolError).toBeUndefined();
    expect(ex.responses.map((r) => r.status)).toEqual([405, 200]);
    expect(ex.responses[0]!.headers.get('allow')).toBe('GET, PUT');
    expect(ex.responses[0]!.headers.get('content-type')).toBe('application/problem+json');
    expect(JSON.parse(ex.responses[1]!.body.toString())).toEqual({ id: '2', q: null });
  });

  it('a path no route has is a 404 problem', async () => {
    const res = only(await send('PATCH /nothing/here HTTP/1.1\r\nHost: t\r\n\r\n'));
    expect(problemOf(res)).toMatchObject({ status: 404, code: 'ORD_ERR_ROUTE_NOT_FOUND' });
  });

  it('a method uWS does not know (FOO) gets its connection closed by uWS, and the server keeps serving', async () => {
    const ex = await send('FOO /things/1 HTTP/1.1\r\nHost: t\r\n\r\n');
    expect(ex.responses).toEqual([]);
    expect(ex.closedByServer).toBe(true);
    await stillServing();
  });
});

describe('bodies', () => {
  it('reads a body, and refuses one over the limit with a 413 and a closed connection', async () => {
    expect(only(await send('POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello')).body.toString()).toBe('hello');
    // The rest of the body is still on its way: the answer says Connection: close, and
    // the connection is closed rather than read to the end of the body. (uWS 20.30 keeps
    // it open when the whole body had already arrived, framing intact.)
    const head = 'POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 6500\r\n\r\n{"a":';
    const ex = await exchange(port, [Buffer.from(head)], { methods: ['POST', 'GET'], due: 1, dueTimeoutMs: 5_000, idleMs: 2_000 });
    expect(problemOf(ex.responses[0]!)).toMatchObject({ status: 413, code: 'ORD_ERR_BODY_TOO_LARGE' });
    expect(ex.responses[0]!.headers.get('connection')).toBe('close');
    expect(ex.closedByServer).toBe(true);
  });

  it('a client that goes away half-way through its body is forgotten: nothing logged, the server keeps serving', async () => {
    const before = logLines.length;
    const ex = await exchange(port, [Buffer.from('POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 50\r\n\r\n{"a":')], { methods: ['POST'], due: 0, dueTimeoutMs: 0, idleMs: 100 });
    expect(ex.responses).toEqual([]);
    await stillServing();
    expect(logLines.length).toBe(before);
  });
});

describe('listening', () => {
  // Regression: uWS listens with SO_REUSEPORT by default, so a second server on the
  // same port (a fixed one, as in production or from freePort in tests) started
  // without an error and silently took part of the connections.
  it('owns its port: a second server on the same host and port fails to listen', async () => {
    const fixed = await freePort();
    const first = new HttpServer({ host: '127.0.0.1', port: fixed, maxBodyBytes: 64 }, log);
    const second = new HttpServer({ host: '127.0.0.1', port: fixed, maxBodyBytes: 64 }, log);
    try {
      expect(await first.listen()).toBe(fixed);
      await expect(second.listen()).rejects.toThrow(`cannot listen on 127.0.0.1:${fixed}`);
    } finally {
      first.close();
      second.close();
    }
  });
});
