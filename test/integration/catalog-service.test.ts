// The catalog check of the real service (its HTTP thread, a worker on Node 20, runs
// opossum, p-retry and lru-cache) against a catalog service started here with
// node:http: spec "Catalog check": batches of 25, unknown codes → 404 Product Not
// Found, catalog down → 503 ORD_ERR_CATALOG_UNAVAILABLE, and 4xx answers not retried.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { http, orderBody } from '../support/orders.js';
import { startService, type Service } from '../support/service.js';

type Mode = 'up' | 'failing' | 'refusing';
let mode: Mode = 'up';
const asked: string[][] = [];
const known = new Set(Array.from({ length: 100 }, (_, i) => `P${String(i + 1).padStart(3, '0')}`));

let catalog: Server;
let service: Service;
let stateDir: string;

beforeAll(async () => {
  catalog = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://catalog');
    const codes = url.searchParams.getAll('productCodes');
    asked.push(codes);
    const status = url.pathname !== '/api/catalog/exists' ? 404 : mode === 'failing' ? 500 : mode === 'refusing' ? 400 : 200;
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ exists: codes.every((c) => known.has(c)) }));
  });
  await new Promise<void>((resolve) => catalog.listen(0, '127.0.0.1', resolve));
  stateDir = mkdtempSync(join(tmpdir(), 'catalog-service-'));
  service = await startService({
    CATALOG_SERVICE_URL: `http://127.0.0.1:${(catalog.address() as AddressInfo).port}`,
    APPLICATION_ID: `catalog-service-${Date.now()}`,
    STATE_DIR: stateDir,
  });
});

afterAll(async () => {
  await service?.kill('SIGTERM');
  catalog?.closeAllConnections();
  await new Promise<void>((resolve) => (catalog === undefined ? resolve() : catalog.close(() => resolve())));
  if (stateDir !== undefined) rmSync(stateDir, { recursive: true, force: true });
});

const items = (codes: readonly string[]) => codes.map((productCode) => ({ productCode, quantity: 1, productPrice: 1 }));
const post = (codes: readonly string[]) => http(service.baseUrl, 'POST', '/api/orders', orderBody({ items: items(codes) }));

it('accepts an order whose codes all exist, asking in batches of at most 25', async () => {
  const codes = [...known].slice(0, 30);
  const before = asked.length;
  const res = await post(codes);
  expect(res.status).toBe(201);
  const batches = asked.slice(before);
  expect(batches.map((b) => b.length).sort((a, b) => b - a)).toEqual([25, 5]);
  expect(batches.flat().sort()).toEqual([...codes].sort());
});

it('answers 404 Product Not Found when a code does not exist', async () => {
  const res = await post(['P001', 'NO-SUCH-CODE']);
  expect(res.status).toBe(404);
  expect(res.contentType).toContain('application/problem+json');
  expect(res.json).toMatchObject({ status: 404, title: 'Product Not Found', code: 'ORD_ERR_PRODUCT_NOT_FOUND' });
});

it('answers 503 ORD_ERR_CATALOG_UNAVAILABLE when the catalog fails, after retrying it', async () => {
  mode = 'failing';
  const before = asked.length;
  const res = await post(['P090']);
  expect(res.status).toBe(503);
  expect(res.json).toMatchObject({ status: 503, code: 'ORD_ERR_CATALOG_UNAVAILABLE', errorCategory: 'Unavailable' });
  expect(asked.slice(before)).toEqual([['P090'], ['P090'], ['P090']]); // one attempt and two retries
});

it('answers 503 without retrying when the catalog refuses the request (4xx)', async () => {
  mode = 'refusing';
  const before = asked.length;
  const res = await post(['P091']);
  expect(res.status).toBe(503);
  expect(res.json).toMatchObject({ code: 'ORD_ERR_CATALOG_UNAVAILABLE', detail: 'the catalog service refused the check (HTTP 400)' });
  expect(asked.slice(before)).toEqual([['P091']]);
});

it('accepts orders again once the catalog answers, and asks no more for codes it knows', async () => {
  mode = 'up';
  expect((await post(['P092'])).status).toBe(201);
  const before = asked.length;
  expect((await post(['P092'])).status).toBe(201);
  expect(asked.slice(before)).toEqual([]);
});
