import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CachedCatalog, type CatalogAnswer, type ProductCatalog } from '../../src/catalog/catalog.js';
import { CATALOG_BATCH_SIZE, HttpCatalog, type HttpCatalogOptions } from '../../src/catalog/http-catalog.js';
import { EngineError } from '../../src/errors.js';
import { waitFor } from '../support/wait.js';

/** A catalog source that records what it is asked and knows every code but `unknown`. */
class FakeSource implements ProductCatalog {
  readonly calls: string[][] = [];
  readonly unknown = new Set<string>();
  failure: Error | undefined;

  async check(codes: readonly string[]): Promise<CatalogAnswer> {
    this.calls.push([...codes]);
    if (this.failure) throw this.failure;
    const unknown = codes.filter((c) => this.unknown.has(c));
    return unknown.length > 0 ? { exists: false, unknown } : { exists: true };
  }
}

function cached(options: { ttlMs?: number; maxEntries?: number } = {}) {
  let now = 1_000_000;
  const source = new FakeSource();
  const catalog = new CachedCatalog(source, { ttlMs: options.ttlMs ?? 60_000, maxEntries: options.maxEntries ?? 1000 }, () => now);
  return { source, catalog, setNow: (ms: number) => (now = ms), start: now };
}

describe('CachedCatalog', () => {
  it('asks the source on first sight and not again for codes known to exist', async () => {
    const { source, catalog } = cached();
    await expect(catalog.check(['A', 'B'])).resolves.toEqual({ exists: true });
    await expect(catalog.check(['A', 'B'])).resolves.toEqual({ exists: true });
    await expect(catalog.check(['B'])).resolves.toEqual({ exists: true });
    expect(source.calls).toEqual([['A', 'B']]);
  });

  it('asks the source only for the codes it does not know', async () => {
    const { source, catalog } = cached();
    await catalog.check(['A', 'B']);
    await catalog.check(['C', 'A', 'D', 'B']);
    expect(source.calls).toEqual([
      ['A', 'B'],
      ['C', 'D'],
    ]);
  });

  it('asks again once the TTL has passed, and not before', async () => {
    const { source, catalog, setNow, start } = cached({ ttlMs: 1000 });
    await catalog.check(['A']);
    setNow(start + 1000); // lru-cache: stale only once older than the TTL
    await catalog.check(['A']);
    expect(source.calls).toHaveLength(1);
    setNow(start + 1001);
    await catalog.check(['A']);
    expect(source.calls).toHaveLength(2);
    // The new answer starts a new TTL.
    setNow(start + 2001);
    await catalog.check(['A']);
    expect(source.calls).toHaveLength(2);
    setNow(start + 2002);
    await catalog.check(['A']);
    expect(source.calls).toHaveLength(3);
  });

  it('keeps the codes checked most recently when full, not the ones first cached', async () => {
    const { source, catalog } = cached({ maxEntries: 2 });
    await catalog.check(['A']);
    await catalog.check(['B']);
    await catalog.check(['A']); // A is used again: B is now the least recently used
    await catalog.check(['C']);
    source.calls.length = 0;
    await catalog.check(['A', 'C']);
    expect(source.calls).toEqual([]);
    await catalog.check(['B']);
    expect(source.calls).toEqual([['B']]);
  });

  it('does not cache a "does not exist" answer, for any code of that request', async () => {
    const { source, catalog } = cached();
    source.unknown.add('X');
    const answer = await catalog.check(['A', 'X']);
    expect(answer.exists).toBe(false);
    expect(answer.unknown).toEqual(['X']);
    await expect(catalog.check(['X'])).resolves.toMatchObject({ exists: false });
    await catalog.check(['A']);
    expect(source.calls).toEqual([['A', 'X'], ['X'], ['A']]);
  });

  it('finds a product created after it was reported missing', async () => {
    const { source, catalog } = cached();
    source.unknown.add('NEW');
    await expect(catalog.check(['NEW'])).resolves.toMatchObject({ exists: false });
    source.unknown.delete('NEW');
    await expect(catalog.check(['NEW'])).resolves.toEqual({ exists: true });
  });

  it('caches nothing when the source fails, and passes the failure on', async () => {
    const { source, catalog } = cached();
    source.failure = new EngineError('ORD_ERR_CATALOG_UNAVAILABLE', 'down');
    await expect(catalog.check(['A'])).rejects.toMatchObject({ code: 'ORD_ERR_CATALOG_UNAVAILABLE' });
    source.failure = undefined;
    await catalog.check(['A']);
    expect(source.calls).toEqual([['A'], ['A']]);
  });

  it('bounds the cache at maxEntries, evicting the oldest code first', async () => {
    const { source, catalog, setNow, start } = cached({ maxEntries: 2 });
    for (const [i, code] of ['A', 'B', 'C'].entries()) {
      setNow(start + i);
      await catalog.check([code]);
    }
    source.calls.length = 0;
    await catalog.check(['B', 'C']); // the two newest are still known
    expect(source.calls).toEqual([]);
    await catalog.check(['A']); // the oldest was evicted
    expect(source.calls).toEqual([['A']]);
    await catalog.check(['C', 'A']); // A is back; B, now the oldest, went
    expect(source.calls).toEqual([['A']]);
    await catalog.check(['B']);
    expect(source.calls).toEqual([['A'], ['B']]);
  });

  it('keeps at most maxEntries codes from one large answer', async () => {
    const { source, catalog } = cached({ maxEntries: 3 });
    await catalog.check(['A', 'B', 'C', 'D', 'E']);
    source.calls.length = 0;
    await catalog.check(['C', 'D', 'E']);
    expect(source.calls).toEqual([]);
    await catalog.check(['A', 'B']);
    expect(source.calls).toEqual([['A', 'B']]);
  });
});

describe('HttpCatalog against a local catalog service', () => {
  interface Seen {
    readonly path: string;
    readonly search: string;
    readonly codes: string[];
    readonly method: string | undefined;
  }

  type Handler = (req: IncomingMessage, res: ServerResponse, codes: string[]) => void;

  let server: Server;
  let origin: string;
  let testNo = 0;
  // Each test talks to its own path prefix, so a late retry of one test cannot be
  // counted in another.
  const handlers = new Map<string, Handler>();
  const seen = new Map<string, Seen[]>();
  const arrived = new Map<string, () => void>();
  const aborted = new Map<string, number>();
  const hanging: ServerResponse[] = [];

  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const prefix = url.pathname.split('/')[1] ?? '';
      const codes = url.searchParams.getAll('productCodes');
      const list = seen.get(prefix) ?? [];
      list.push({ path: url.pathname.slice(prefix.length + 1), search: url.search, codes, method: req.method });
      seen.set(prefix, list);
      arrived.get(prefix)?.();
      // The client gave up on a request the server had not answered yet.
      res.on('close', () => {
        if (!res.writableFinished) aborted.set(prefix, (aborted.get(prefix) ?? 0) + 1);
      });
      const handler = handlers.get(prefix);
      if (handler === undefined) json(res, 404, { error: 'no handler' });
      else handler(req, res, codes);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(() => {
    for (const res of hanging.splice(0)) res.destroy();
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  });

  /** A fresh path prefix served by `handler`; `requests()` lists what reached it. */
  function service(handler: Handler) {
    const prefix = `t${++testNo}`;
    handlers.set(prefix, handler);
    return {
      baseUrl: `${origin}/${prefix}`,
      requests: (): Seen[] => seen.get(prefix) ?? [],
      aborted: (): number => aborted.get(prefix) ?? 0,
      /** Serves later requests with `next` instead. */
      answer: (next: Handler): void => void handlers.set(prefix, next),
      /** Resolves when the next request reaches the server. */
      nextRequest: (): Promise<void> => new Promise((resolve) => arrived.set(prefix, resolve)),
    };
  }

  const answering = (exists: (codes: string[]) => boolean): Handler => (_req, res, codes) => json(res, 200, { exists: exists(codes) });

  function catalog(baseUrl: string, options: Partial<HttpCatalogOptions> = {}): HttpCatalog {
    // Retries back off 1-2 ms here, so the tests do not wait on them.
    return new HttpCatalog({ baseUrl, timeoutMs: 5_000, maxInFlight: 10, failureThreshold: 5, coolDownMs: 60_000, retryDelayMs: 1, maxRetryDelayMs: 2, ...options });
  }

  const codes = (n: number): string[] => Array.from({ length: n }, (_, i) => `P${String(i).padStart(3, '0')}`);

  it('asks for 60 codes in batches of 25 (3 requests) with repeated productCodes parameters', async () => {
    const svc = service(answering(() => true));
    const all = codes(60);
    // A trailing slash on the base URL must not double the path separator.
    await expect(catalog(`${svc.baseUrl}/`).check(all)).resolves.toEqual({ exists: true });
    const requests = [...svc.requests()].sort((a, b) => a.codes[0]!.localeCompare(b.codes[0]!));
    expect(requests).toHaveLength(3);
    const expected = [all.slice(0, 25), all.slice(25, 50), all.slice(50)];
    requests.forEach((r, i) => {
      expect(r.method).toBe('GET');
      expect(r.path).toBe('/api/catalog/exists');
      expect(r.search).toBe(`?${expected[i]!.map((c) => `productCodes=${c}`).join('&')}`);
      expect(r.codes).toEqual(expected[i]);
    });
  });

  it.each<[number, number[]]>([
    [1, [1]],
    [CATALOG_BATCH_SIZE, [25]],
    [CATALOG_BATCH_SIZE + 1, [25, 1]],
    [50, [25, 25]],
    [51, [25, 25, 1]],
  ])('splits %i codes into batches of sizes %j', async (n, sizes) => {
    const svc = service(answering(() => true));
    await catalog(svc.baseUrl).check(codes(n));
    expect(
      svc
        .requests()
        .map((r) => r.codes.length)
        .sort((a, b) => b - a),
    ).toEqual(sizes);
    expect(svc.requests().flatMap((r) => r.codes).sort()).toEqual(codes(n));
  });

  it('sends codes with reserved characters URL-encoded, so the service reads them back unchanged', async () => {
    const svc = service(answering(() => true));
    const odd = ['A&B', 'C D', 'É/1', 'X=Y', '100%', 'Q+R', '#7'];
    await catalog(svc.baseUrl).check(odd);
    expect(svc.requests().map((r) => r.codes)).toEqual([odd]);
  });

  it('answers exists false when any batch is answered false', async () => {
    const svc = service(answering((c) => !c.includes('P030')));
    await expect(catalog(svc.baseUrl).check(codes(60))).resolves.toEqual({ exists: false });
    expect(svc.requests()).toHaveLength(3);
  });

  it('answers exists true only when every batch is answered true', async () => {
    const svc = service(answering(() => true));
    await expect(catalog(svc.baseUrl).check(codes(60))).resolves.toEqual({ exists: true });
  });

  it.each<[string, Handler]>([
    ['HTTP 500', (_req, res) => json(res, 500, { error: 'boom' })],
    ['HTTP 404', (_req, res) => json(res, 404, { exists: false })],
    ['a body without "exists"', (_req, res) => json(res, 200, { found: true })],
    ['a non-boolean "exists"', (_req, res) => json(res, 200, { exists: 'yes' })],
    ['a body that is not JSON', (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('<html>')],
    ['a dropped connection', (req) => req.socket.destroy()],
  ])('fails with ORD_ERR_CATALOG_UNAVAILABLE when the service answers %s', async (_, handler) => {
    const svc = service(handler);
    const err = await catalog(svc.baseUrl).check(['A']).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EngineError);
    expect(err).toMatchObject({ code: 'ORD_ERR_CATALOG_UNAVAILABLE', status: 503 });
    expect(svc.requests().length).toBeGreaterThanOrEqual(1);
  });

  describe('retry (p-retry): only what may succeed when sent again', () => {
    const failing = (status: number): Handler => (_req, res) => json(res, status, { error: status });

    it.each<[string, number]>([
      ['400 Bad Request', 400],
      ['401 Unauthorized', 401],
      ['403 Forbidden', 403],
      ['404 Not Found', 404],
      ['422 Unprocessable Content', 422],
    ])('does not retry %s: one request, then a 503 that names it', async (_, status) => {
      const svc = service(failing(status));
      const err = await catalog(svc.baseUrl, { retries: 3 }).check(['A']).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ORD_ERR_CATALOG_UNAVAILABLE', status: 503 });
      expect((err as Error).message).toContain(`HTTP ${status}`);
      expect(svc.requests()).toHaveLength(1);
    });

    it.each<[string, Handler]>([
      ['500 Internal Server Error', failing(500)],
      ['502 Bad Gateway', failing(502)],
      ['503 Service Unavailable', failing(503)],
      ['429 Too Many Requests', failing(429)],
      ['a reset connection', (req) => req.socket.destroy()],
    ])('retries %s, then fails with a 503', async (_, handler) => {
      const svc = service(handler);
      await expect(catalog(svc.baseUrl, { retries: 3 }).check(['A'])).rejects.toMatchObject({ code: 'ORD_ERR_CATALOG_UNAVAILABLE' });
      expect(svc.requests()).toHaveLength(4);
    });

    it('retries an attempt that timed out, and aborts the request it gave up on', async () => {
      const svc = service((_req, res) => hanging.push(res));
      const err = await catalog(svc.baseUrl, { timeoutMs: 50, retries: 2 }).check(['A']).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ORD_ERR_CATALOG_UNAVAILABLE', message: 'the catalog service did not answer in time' });
      expect(svc.requests()).toHaveLength(3);
      await waitFor('the server to see the abandoned requests closed', () => (svc.aborted() === 3 ? true : undefined), 5_000);
    });

    it('answers from a retry that succeeds', async () => {
      let calls = 0;
      const svc = service((req, res) => (++calls < 3 ? (calls === 1 ? json(res, 503, {}) : req.socket.destroy()) : json(res, 200, { exists: true })));
      await expect(catalog(svc.baseUrl, { retries: 2 }).check(['A'])).resolves.toEqual({ exists: true });
      expect(svc.requests()).toHaveLength(3);
    });

    it('does not retry an answer it cannot read', async () => {
      const svc = service((_req, res) => json(res, 200, { found: true }));
      await expect(catalog(svc.baseUrl, { retries: 3 }).check(['A'])).rejects.toMatchObject({ code: 'ORD_ERR_CATALOG_UNAVAILABLE' });
      expect(svc.requests()).toHaveLength(1);
    });
  });

  describe('circuit breaker (opossum)', () => {
    it('opens after failureThreshold failures and then fails without calling the service', async () => {
      let healthy = false;
      const svc = service((_req, res) => (healthy ? json(res, 200, { exists: true }) : json(res, 500, {})));
      const cat = catalog(svc.baseUrl, { failureThreshold: 3, coolDownMs: 60_000 });
      for (let i = 0; i < 3; i++) await expect(cat.check(['A'])).rejects.toMatchObject({ code: 'ORD_ERR_CATALOG_UNAVAILABLE' });
      const calledWhileClosed = svc.requests().length;
      expect(calledWhileClosed).toBeGreaterThanOrEqual(3);
      expect(cat.breakerState).toBe('open');

      healthy = true; // even a recovered service is not asked while the breaker is open
      for (let i = 0; i < 5; i++) {
        await expect(cat.check(['A'])).rejects.toMatchObject({ code: 'ORD_ERR_CATALOG_UNAVAILABLE', message: 'the catalog service is unavailable (circuit open); retry shortly' });
      }
      expect(svc.requests()).toHaveLength(calledWhileClosed);
    });

    it('stays closed while no more than half of the calls in its window fail', async () => {
      let n = 0;
      const svc = service((_req, res) => (n++ % 2 === 0 ? json(res, 200, { exists: true }) : json(res, 500, {})));
      const cat = catalog(svc.baseUrl, { failureThreshold: 2, retries: 0 });
      for (let i = 0; i < 10; i++) await cat.check(['A']).catch(() => undefined);
      expect(cat.breakerState).toBe('closed');
      expect(svc.requests()).toHaveLength(10);
    });

    it('is not opened by 4xx answers: the service answered', async () => {
      const svc = service((_req, res) => json(res, 400, {}));
      const cat = catalog(svc.baseUrl, { failureThreshold: 2 });
      for (let i = 0; i < 6; i++) await expect(cat.check(['A'])).rejects.toMatchObject({ code: 'ORD_ERR_CATALOG_UNAVAILABLE' });
      expect(cat.breakerState).toBe('closed');
      expect(svc.requests()).toHaveLength(6);
    });

    it('half-opens after the cool-down, lets one probe through, and closes when it succeeds', async () => {
      const svc = service((_req, res) => json(res, 500, {}));
      const cat = catalog(svc.baseUrl, { failureThreshold: 1, retries: 0, coolDownMs: 200 });
      await expect(cat.check(['A'])).rejects.toBeInstanceOf(EngineError);
      expect(cat.breakerState).toBe('open');
      await waitFor('the breaker to half-open', () => (cat.breakerState === 'half-open' ? true : undefined), 10_000);

      // The probe hangs at the service; meanwhile every other call fails fast.
      svc.answer((_req, res) => hanging.push(res));
      const before = svc.requests().length;
      const reached = svc.nextRequest();
      const probe = cat.check(['PROBE']);
      await reached;
      for (const code of ['B', 'C', 'D']) {
        await expect(cat.check([code])).rejects.toMatchObject({ message: 'the catalog service is unavailable (circuit open); retry shortly' });
      }
      expect(svc.requests().slice(before).map((r) => r.codes)).toEqual([['PROBE']]);

      json(hanging.pop()!, 200, { exists: true });
      await expect(probe).resolves.toEqual({ exists: true });
      expect(cat.breakerState).toBe('closed');
      svc.answer(answering(() => true));
      await expect(cat.check(['E'])).resolves.toEqual({ exists: true });
      expect(svc.requests().slice(before).map((r) => r.codes)).toEqual([['PROBE'], ['E']]);
    });

    it('opens again when the half-open probe fails', async () => {
      const svc = service((_req, res) => json(res, 500, {}));
      const cat = catalog(svc.baseUrl, { failureThreshold: 1, retries: 0, coolDownMs: 200 });
      await expect(cat.check(['A'])).rejects.toBeInstanceOf(EngineError);
      await waitFor('the breaker to half-open', () => (cat.breakerState === 'half-open' ? true : undefined), 10_000);
      await expect(cat.check(['PROBE'])).rejects.toMatchObject({ code: 'ORD_ERR_CATALOG_UNAVAILABLE' });
      expect(cat.breakerState).toBe('open');
      const after = svc.requests().length;
      await expect(cat.check(['B'])).rejects.toMatchObject({ message: 'the catalog service is unavailable (circuit open); retry shortly' });
      expect(svc.requests()).toHaveLength(after);
    });

    it('counts a timed-out attempt as a failure', async () => {
      const svc = service((_req, res) => hanging.push(res));
      const cat = catalog(svc.baseUrl, { timeoutMs: 50, retries: 0, failureThreshold: 2 });
      for (let i = 0; i < 2; i++) await expect(cat.check(['A'])).rejects.toMatchObject({ code: 'ORD_ERR_CATALOG_UNAVAILABLE' });
      expect(cat.breakerState).toBe('open');
    });
  });

  describe('bulkhead (opossum capacity) and timeout', () => {
    it('gives up on a service that never answers after timeoutMs', async () => {
      const svc = service((_req, res) => hanging.push(res));
      const err = await catalog(svc.baseUrl, { timeoutMs: 50 })
        .check(['A'])
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(EngineError);
      expect(err).toMatchObject({ code: 'ORD_ERR_CATALOG_UNAVAILABLE' });
      expect(svc.requests().length).toBeGreaterThanOrEqual(1);
    });

    it('refuses a call beyond maxInFlight at once, without calling the service', async () => {
      const svc = service((_req, res) => hanging.push(res));
      const cat = catalog(svc.baseUrl, { maxInFlight: 1 });
      const reached = svc.nextRequest();
      const first = cat.check(['A']);
      await reached;
      await expect(cat.check(['B'])).rejects.toMatchObject({ code: 'ORD_ERR_CATALOG_UNAVAILABLE', message: 'too many catalog calls in flight; retry shortly' });
      expect(svc.requests().map((r) => r.codes)).toEqual([['A']]);
      json(hanging.pop()!, 200, { exists: true });
      await expect(first).resolves.toEqual({ exists: true });
      // The slot is free again.
      svc.answer(answering(() => true));
      await expect(cat.check(['B'])).resolves.toEqual({ exists: true });
    });

    it('never has more than maxInFlight requests at the service, whatever the load', async () => {
      let inFlight = 0;
      let most = 0;
      const svc = service((_req, res) => {
        most = Math.max(most, ++inFlight);
        setImmediate(() => {
          inFlight--;
          json(res, 200, { exists: true });
        });
      });
      const cat = catalog(svc.baseUrl, { maxInFlight: 3 });
      const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => cat.check([`P${i}`])));
      expect(most).toBeLessThanOrEqual(3);
      expect(results.filter((r) => r.status === 'fulfilled').length).toBeGreaterThanOrEqual(3);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ message: 'too many catalog calls in flight; retry shortly' });
    });

    it('does not open the breaker for its own rejections', async () => {
      const svc = service((_req, res) => hanging.push(res));
      const cat = catalog(svc.baseUrl, { maxInFlight: 1, failureThreshold: 1 });
      const reached = svc.nextRequest();
      const first = cat.check(['A']);
      await reached;
      for (let i = 0; i < 5; i++) await expect(cat.check(['B'])).rejects.toMatchObject({ code: 'ORD_ERR_CATALOG_UNAVAILABLE' });
      expect(cat.breakerState).toBe('closed');
      json(hanging.pop()!, 200, { exists: true });
      await expect(first).resolves.toEqual({ exists: true });
    });
  });
});
