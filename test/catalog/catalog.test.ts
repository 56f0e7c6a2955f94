import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CachedCatalog, type CatalogAnswer, type ProductCatalog } from '../../src/catalog/catalog.js';
import { CATALOG_BATCH_SIZE, HttpCatalog, type HttpCatalogOptions } from '../../src/catalog/http-catalog.js';
import { EngineError } from '../../src/errors.js';

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

  it('asks again once the TTL has passed, and not a millisecond before', async () => {
    const { source, catalog, setNow, start } = cached({ ttlMs: 1000 });
    await catalog.check(['A']);
    setNow(start + 999);
    await catalog.check(['A']);
    expect(source.calls).toHaveLength(1);
    setNow(start + 1000);
    await catalog.check(['A']);
    expect(source.calls).toHaveLength(2);
    // The new answer starts a new TTL.
    setNow(start + 1999);
    await catalog.check(['A']);
    expect(source.calls).toHaveLength(2);
    setNow(start + 2000);
    await catalog.check(['A']);
    expect(source.calls).toHaveLength(3);
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
      const handler = handlers.get(prefix);
      if (handler === undefined) json(res, 404, { error: 'no handler' });
      else handler(req, res, codes);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(() => {
    for (const res of hanging.splice(0)) res.destroy();
    vi.useRealTimers();
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
      /** Resolves when the next request reaches the server. */
      nextRequest: (): Promise<void> => new Promise((resolve) => arrived.set(prefix, resolve)),
    };
  }

  const answering = (exists: (codes: string[]) => boolean): Handler => (_req, res, codes) => json(res, 200, { exists: exists(codes) });

  function catalog(baseUrl: string, options: Partial<HttpCatalogOptions> = {}): HttpCatalog {
    return new HttpCatalog({ baseUrl, timeoutMs: 5_000, maxInFlight: 10, failureThreshold: 5, coolDownMs: 60_000, ...options });
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

  it('opens the breaker after failureThreshold failures and then fails without calling the service', async () => {
    let healthy = false;
    const svc = service((_req, res) => (healthy ? json(res, 200, { exists: true }) : json(res, 500, {})));
    const cat = catalog(svc.baseUrl, { failureThreshold: 3, coolDownMs: 60_000 });
    for (let i = 0; i < 3; i++) await expect(cat.check(['A'])).rejects.toMatchObject({ code: 'ORD_ERR_CATALOG_UNAVAILABLE' });
    const calledWhileClosed = svc.requests().length;
    expect(calledWhileClosed).toBeGreaterThanOrEqual(3);

    healthy = true; // even a recovered service is not asked while the breaker is open
    for (let i = 0; i < 5; i++) await expect(cat.check(['A'])).rejects.toMatchObject({ code: 'ORD_ERR_CATALOG_UNAVAILABLE' });
    expect(svc.requests()).toHaveLength(calledWhileClosed);
  });

  it('counts only consecutive failures toward the breaker', async () => {
    let fail = true;
    const svc = service((_req, res) => (fail ? json(res, 500, {}) : json(res, 200, { exists: true })));
    const cat = catalog(svc.baseUrl, { failureThreshold: 2 });
    await expect(cat.check(['A'])).rejects.toBeInstanceOf(EngineError);
    fail = false;
    await expect(cat.check(['A'])).resolves.toEqual({ exists: true });
    fail = true;
    await expect(cat.check(['A'])).rejects.toBeInstanceOf(EngineError);
    // One failure since the last success: the breaker is still closed.
    fail = false;
    const before = svc.requests().length;
    await expect(cat.check(['A'])).resolves.toEqual({ exists: true });
    expect(svc.requests().length).toBe(before + 1);
  });

  it('calls the service again once the cool-down has passed', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.UTC(2026, 10, 25) });
    let healthy = false;
    const svc = service((_req, res) => (healthy ? json(res, 200, { exists: true }) : json(res, 500, {})));
    const cat = catalog(svc.baseUrl, { failureThreshold: 1, coolDownMs: 30_000 });
    await expect(cat.check(['A'])).rejects.toBeInstanceOf(EngineError);
    healthy = true;
    const before = svc.requests().length;
    vi.setSystemTime(Date.UTC(2026, 10, 25) + 29_999);
    await expect(cat.check(['A'])).rejects.toMatchObject({ code: 'ORD_ERR_CATALOG_UNAVAILABLE' });
    expect(svc.requests()).toHaveLength(before);
    vi.setSystemTime(Date.UTC(2026, 10, 25) + 30_001);
    await expect(cat.check(['A'])).resolves.toEqual({ exists: true });
    expect(svc.requests()).toHaveLength(before + 1);
  });

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
    await expect(cat.check(['B'])).rejects.toMatchObject({ code: 'ORD_ERR_CATALOG_UNAVAILABLE' });
    expect(svc.requests().map((r) => r.codes)).toEqual([['A']]);
    json(hanging.pop()!, 200, { exists: true });
    await expect(first).resolves.toEqual({ exists: true });
    // The slot is free again.
    handlers.set(new URL(svc.baseUrl).pathname.slice(1), answering(() => true));
    await expect(cat.check(['B'])).resolves.toEqual({ exists: true });
  });
});
