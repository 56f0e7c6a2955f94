// The OpenAPI document as the service builds it: from the routes the HTTP thread
// registers (src/http/routes.ts, here with stand-in services: registering calls none
// of them), valid OpenAPI 3.1, with every schema in it valid JSON Schema 2020-12, and
// refused when a route and its description disagree.
import { Validator } from '@seriousme/openapi-schema-validator';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { errorCodes } from '../../../src/errors.js';
import { packageVersion } from '../../../src/http/api-docs-routes.js';
import { buildOpenApiDocument, type OpenApiDocument } from '../../../src/http/openapi/document.js';
import { operations, type OperationDoc } from '../../../src/http/openapi/operations.js';
import { registerRoutes, type RouteSources } from '../../../src/http/routes.js';
import { HttpServer, type RegisteredRoute } from '../../../src/http/server.js';
import { schemaCompiler } from '../../support/openapi.js';

const server = new HttpServer({ host: '127.0.0.1', port: 0, maxBodyBytes: 64 }, pino({ level: 'silent' }));
registerRoutes(server, { instanceId: 'test', numPartitions: 6, info: {} } as unknown as RouteSources);
afterAll(() => server.close());
const routes = server.routes;
const doc = buildOpenApiDocument(routes, packageVersion());

/** Every value under `key` anywhere in `value`, with its JSON pointer. */
function collect(value: unknown, key: string, at = '#', out: [string, unknown][] = []): [string, unknown][] {
  if (typeof value !== 'object' || value === null) return out;
  for (const [k, v] of Object.entries(value)) {
    if (k === key) out.push([`${at}/${k}`, v]);
    collect(v, key, `${at}/${k}`, out);
  }
  return out;
}

const status401 = (op: { responses: Record<string, unknown> }): boolean => op.responses['401'] !== undefined;

describe('the document of the service\'s routes', () => {
  it('is valid OpenAPI 3.1 by the official schema', { timeout: 30_000 }, async () => {
    const result = await new Validator().validate(structuredClone(doc) as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
  });

  it('has every registered route with its method, and nothing else', () => {
    const documented = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`));
    const registered = routes.map((r) => `${r.method} ${r.pattern.replace(/:(\w+)/g, '{$1}')}`);
    expect(documented.sort()).toEqual(registered.sort());
    // The routes the spec names are among them (a registration that lost one would pass the check above).
    for (const name of ['GET /api/orders', 'POST /api/orders', 'GET /api/orders/{id}', 'PUT /api/orders/{id}', 'DELETE /api/orders/{id}', 'GET /api/orders/customer/{customerId}', 'POST /api/orders/generate', 'GET /api/orders/store', 'GET /api/orders/store/{id}', 'GET /v3/api-docs']) {
      expect(documented).toContain(name);
    }
  });

  it('says who may call each route as the registration declares it: probes and metrics open, generate for operators', () => {
    const securityOf = (path: string, method: string): unknown => (doc.paths[path]![method] as { security: unknown }).security;
    expect(securityOf('/actuator/health/readiness', 'get')).toEqual([]);
    expect(securityOf('/actuator/prometheus', 'get')).toEqual([]);
    expect(securityOf('/api/orders/generate', 'post')).toEqual([{ ApiKey: [] }]);
    expect(Object.keys((doc.paths['/api/orders/generate']!.post as { responses: object }).responses)).toEqual(expect.arrayContaining(['401', '403', '429']));
    expect(securityOf('/api/orders', 'post')).toEqual([{}, { ApiKey: [] }]);
    expect(Object.keys((doc.paths['/actuator/health/liveness']!.get as { responses: object }).responses)).not.toContain('401');
  });

  it('takes its version from package.json and names both servers', () => {
    expect(doc.info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(doc.servers.map((s) => s.url)).toEqual(['/', '/order-service']);
  });

  // Compiling is slow on a busy machine: each distinct schema once, and time for it.
  it('has only schemas that compile as JSON Schema 2020-12 in strict mode, every $ref resolving', { timeout: 60_000 }, () => {
    const compile = schemaCompiler(doc);
    const inline = collect(doc.paths, 'schema');
    expect(inline.length).toBeGreaterThan(40);
    const distinct = new Map<string, string>();
    for (const [at, schema] of [...inline, ...Object.entries(doc.components.schemas).map(([n, s]) => [`#/components/schemas/${n}`, s] as const)]) {
      if (!distinct.has(JSON.stringify(schema))) distinct.set(JSON.stringify(schema), at);
    }
    for (const [schema, at] of distinct) expect(() => compile(JSON.parse(schema)), at).not.toThrow();
  });

  it('lists each problem under the status errors.ts gives its code, with Retry-After on 503', () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item) as [string, { responses: Record<string, { headers?: object; content?: Record<string, { schema: { allOf?: [unknown, { properties: { code: { enum: string[] } } }] } }> }> }][]) {
        for (const [status, res] of Object.entries(op.responses)) {
          const problem = res.content?.['application/problem+json'];
          if (problem === undefined) continue;
          const codes = problem.schema.allOf![1].properties.code.enum;
          for (const code of codes) expect(errorCodes[code as keyof typeof errorCodes].status, `${method} ${path} ${status} ${code}`).toBe(Number(status));
          if (status === '503') expect(res.headers, `${method} ${path}`).toHaveProperty('Retry-After');
        }
        if (status401(op)) expect(op.responses['401']!.headers, `${method} ${path}`).toHaveProperty('WWW-Authenticate');
        // Every route can be shut down on and can fail: 503 and 500 are always listed.
        expect(Object.keys(op.responses), `${method} ${path}`).toEqual(expect.arrayContaining(['400', '500', '503']));
      }
    }
  });
});

describe('a route and its description that disagree', () => {
  const route = (method: RegisteredRoute['method'], pattern: string, body = false): RegisteredRoute => ({ method, pattern, body, access: undefined });
  const get: OperationDoc = { operationId: 'x', tag: 'orders', summary: 'x', responses: { 200: { description: 'ok' } }, problems: [] };
  const build = (rs: RegisteredRoute[], docs: Record<string, OperationDoc>): OpenApiDocument => buildOpenApiDocument(rs, '1.0.0', docs);

  it.each<[string, RegisteredRoute[], Record<string, OperationDoc>, string]>([
    ['a route without a description', [route('GET', '/x'), route('GET', '/y')], { 'GET /x': get }, 'GET /y is registered but not described'],
    ['a description without a route', [route('GET', '/x')], { 'GET /x': get, 'POST /x': { ...get, operationId: 'y' } }, 'POST /x described but not registered'],
    ['a path parameter named otherwise', [route('GET', '/x/:id')], { 'GET /x/:id': { ...get, parameters: [{ name: 'orderId', in: 'path' as const, schema: {} }] } }, 'has path parameters [id] but documents [orderId]'],
    ['a body read but not described', [route('POST', '/x', true)], { 'POST /x': get }, 'reads a body it does not describe'],
    ['a body described but not read', [route('POST', '/x')], { 'POST /x': { ...get, requestBody: { content: { mediaType: 'application/json', schema: {} } } } }, 'describes a body it does not read'],
    ['one operationId twice', [route('GET', '/x'), route('GET', '/y')], { 'GET /x': get, 'GET /y': get }, 'operationIds used twice: x'],
  ])('refuses %s', (_name, rs, docs, message) => {
    expect(() => build(rs, docs)).toThrow(message);
    try {
      build(rs, docs);
    } catch (err) {
      expect((err as { code?: string }).code).toBe('ORD_ERR_ILLEGAL_STATE');
    }
  });

  it('describes the real routes with the real table', () => {
    expect(Object.keys(operations)).toHaveLength(routes.length);
  });
});
