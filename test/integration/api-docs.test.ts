// GET /v3/api-docs on the real service (issue 9, item 6): the OpenAPI 3.1 document is
// valid, has exactly the routes the running server answers (each documented path's
// other methods get the server's own 405, whose Allow lists what it registered), and
// real requests built from the document get answers it lists, with bodies that
// validate against its schemas.
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerRoutes, type RouteSources } from '../../src/http/routes.js';
import { HttpServer } from '../../src/http/server.js';
import { schemaCompiler } from '../support/openapi.js';
import { http, type HttpResult } from '../support/orders.js';
import { startService, type Service } from '../support/service.js';
import { waitFor } from '../support/wait.js';

interface MediaType {
  schema: unknown;
  example?: unknown;
}
interface Operation {
  parameters?: { name: string; in: string; required?: boolean; schema: { default?: unknown } }[];
  requestBody?: { content: Record<string, MediaType> };
  responses: Record<string, { headers?: Record<string, { schema: unknown }>; content?: Record<string, MediaType> }>;
}
interface Document {
  openapi: string;
  info: { version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];

let service: Service;
let doc: Document;
let compile: ReturnType<typeof schemaCompiler>;

beforeAll(async () => {
  service = await startService();
  const res = await http(service.baseUrl, 'GET', '/v3/api-docs');
  expect(res.status).toBe(200);
  expect(res.contentType).toBe('application/json');
  doc = res.json as Document;
  compile = schemaCompiler(doc);
});

afterAll(async () => {
  await service?.kill('SIGTERM');
});

const operation = (method: string, path: string): Operation => {
  const op = doc.paths[path]?.[method.toLowerCase()];
  if (op === undefined) throw new Error(`${method} ${path} is not in the document`);
  return op;
};

/** `/api/orders/{id}` with `{id: 5}` → `/api/orders/5` */
const fill = (path: string, params: Record<string, string | number> = {}): string => path.replace(/\{(\w+)\}/g, (_, name: string) => String(params[name] ?? 1));

/** Sends a request for a documented operation and checks the answer is one the document lists, as it lists it. */
async function call(method: string, path: string, options: { params?: Record<string, string | number>; query?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<HttpResult> {
  const op = operation(method, path);
  const res = await http(service.baseUrl, method, fill(path, options.params) + (options.query ?? ''), options.body, options.headers);
  const documented = op.responses[String(res.status)];
  expect(documented, `${method} ${path} answered ${res.status}, which the document does not list (${res.text})`).toBeDefined();
  if (documented!.content === undefined) {
    expect(res.text, `${method} ${path} ${res.status} has no body in the document`).toBe('');
  } else {
    const mediaType = res.contentType.split(';')[0]!;
    const content = documented!.content[mediaType];
    expect(content, `${method} ${path} ${res.status} answered ${res.contentType}; the document lists ${Object.keys(documented!.content).join(', ')}`).toBeDefined();
    const validate = compile(content!.schema);
    const value: unknown = mediaType.endsWith('json') ? res.json : res.text;
    expect(validate(value) ? [] : validate.errors, `${method} ${path} ${res.status} body: ${res.text.slice(0, 300)}`).toEqual([]);
  }
  return res;
}

describe('the served document', () => {
  it('is valid OpenAPI 3.1, the same under the context path, with the version of package.json', async () => {
    const result = await new Validator().validate(structuredClone(doc) as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(doc.info.version).toBe(pkg.version);
    const prefixed = await http(service.baseUrl, 'GET', '/order-service/v3/api-docs');
    expect(prefixed.json).toEqual(doc);
  });

  it('lists, for every path, exactly the methods the running server has on it', async () => {
    /** The methods the document gives a URL: of every path it matches (`/api/orders/store` is also `/api/orders/{id}`). */
    const documentedFor = (url: string): string[] => {
      const segments = url.split('/');
      const matching = Object.keys(doc.paths).filter((path) => {
        const parts = path.split('/');
        return parts.length === segments.length && parts.every((p, i) => (p.startsWith('{') ? segments[i] !== '' : p === segments[i]));
      });
      return METHODS.filter((m) => matching.some((path) => doc.paths[path]![m.toLowerCase()] !== undefined));
    };
    let probed = 0;
    for (const path of Object.keys(doc.paths)) {
      const url = fill(path);
      const documented = documentedFor(url);
      const other = METHODS.find((m) => !documented.includes(m));
      if (other === undefined) continue;
      // The server's fallback answers a method a URL does not have with 405 and the
      // methods its route table has there: the running server's own registration.
      const res = await fetch(service.baseUrl + url, { method: other });
      await res.text();
      expect(res.status, `${other} ${url}`).toBe(405);
      expect(res.headers.get('allow')?.split(', '), url).toEqual(documented);
      probed++;
    }
    expect(probed).toBeGreaterThan(10);
  });

  it('has the routes the service registers (src/http/routes.ts), and no others', () => {
    const server = new HttpServer({ host: '127.0.0.1', port: 0, maxBodyBytes: 64 }, pino({ level: 'silent' }));
    registerRoutes(server, { instanceId: 'x', numPartitions: 6, info: {} } as unknown as RouteSources);
    server.close();
    const registered = server.routes.map((r) => `${r.method} ${r.pattern.replace(/:(\w+)/g, '{$1}')}`).sort();
    const documented = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(registered);
  });
});

describe('requests built from the document', () => {
  const example = (): Record<string, unknown> => structuredClone(operation('POST', '/api/orders').requestBody!.content['application/json']!.example) as Record<string, unknown>;
  /** The query string of an operation's parameters at their documented defaults. */
  const defaults = (method: string, path: string): string => {
    const query = (operation(method, path).parameters ?? []).filter((p) => p.in === 'query' && p.schema.default !== undefined);
    return '?' + query.map((p) => `${encodeURIComponent(p.name)}=${encodeURIComponent(String(p.schema.default))}`).join('&');
  };

  it('create, read, list, update, read from the store, delete: each answer as documented', async () => {
    const body = example();
    const created = await call('POST', '/api/orders', { body });
    expect(created.status).toBe(201);
    const id = created.json.orderId as number;
    const location = compile(operation('POST', '/api/orders').responses['201']!.headers!.Location!.schema);
    expect(location(created.location)).toBe(true);

    expect((await call('GET', '/api/orders/{id}', { params: { id } })).status).toBe(200);
    expect((await call('GET', '/api/orders', { query: defaults('GET', '/api/orders') })).status).toBe(200);
    const customer = await call('GET', '/api/orders/customer/{customerId}', { params: { customerId: body.customerId as number }, query: defaults('GET', '/api/orders/customer/{customerId}') });
    expect(customer.status).toBe(200);
    expect((await call('PUT', '/api/orders/{id}', { params: { id }, body })).status).toBe(200);

    // The order reaches orders-store through the outbox and the stream: 404 (documented) until then.
    await waitFor('the order in orders-store', async () => ((await call('GET', '/api/orders/store/{id}', { params: { id } })).status === 200 ? true : undefined));
    expect((await call('GET', '/api/orders/store', { query: defaults('GET', '/api/orders/store') })).status).toBe(200);

    expect((await call('DELETE', '/api/orders/{id}', { params: { id } })).status).toBe(202);
    const gone = await call('GET', '/api/orders/{id}', { params: { id } });
    expect(gone.status).toBe(404);
    expect(gone.json.code).toBe('ORD_ERR_ORDER_NOT_FOUND');
  });

  it('answers the problems it documents: invalid body, wrong media type, bad parameter, missing key, unknown product', async () => {
    const invalid = example();
    (invalid.items as { quantity: number }[])[0]!.quantity = 0;
    const bad = await call('POST', '/api/orders', { body: invalid });
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('ORD_ERR_VALIDATION');

    const media = await call('POST', '/api/orders', { body: JSON.stringify(example()), headers: { 'content-type': 'text/plain' } });
    expect(media.status).toBe(415);

    const page = await call('GET', '/api/orders', { query: '?pageSize=0' });
    expect(page.status).toBe(400);
    expect(page.json.violations[0].field).toBe('pageSize');

    const key = await call('POST', '/api/orders/generate', { query: '?batchSize=1' });
    expect(key.status).toBe(400);
    expect(key.json.code).toBe('ORD_ERR_MISSING_IDEMPOTENCY_KEY');

    const unknown = example();
    (unknown.items as { productCode: string }[])[0]!.productCode = 'NO-SUCH-PRODUCT';
    const product = await call('POST', '/api/orders', { body: unknown });
    expect(product.status).toBe(404);
    expect(product.json.code).toBe('ORD_ERR_PRODUCT_NOT_FOUND');
  });

  it('actuator answers as documented', async () => {
    expect((await call('GET', '/actuator/health/readiness')).status).toBe(200);
    expect((await call('GET', '/actuator/health/liveness')).status).toBe(200);
    expect((await call('GET', '/actuator/info')).status).toBe(200);
    expect((await call('GET', '/actuator/prometheus')).status).toBe(200);
  });
});
