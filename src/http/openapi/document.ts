// Builds the OpenAPI 3.1 document from the routes the HttpServer registered and the
// description of each (operations.ts). The routes decide what is in it: a route
// without a description, a description without a route, a path parameter named
// differently, or a body read but not described (or the reverse) is refused with a
// coded error, so the document cannot drift from the server (the service would not
// start, and test/http/openapi/document.test.ts fails first).
import { EngineError, errorCodes, type ErrorCode } from '../../errors.js';
import { API_KEY_HEADER, type Access } from '../access/index.js';
import type { AllowedMethod } from '../route-table.js';
import { CONTEXT_PATH, type RegisteredRoute } from '../server.js';
import type { JsonSchema } from './json-schema.js';
import { EVERY_ROUTE, operations, TAGS, type ContentDoc, type HeaderDoc, type OperationDoc, type ResponseDoc } from './operations.js';
import { componentSchemas, schemaRef } from './schemas.js';

export interface OpenApiDocument {
  readonly openapi: '3.1.0';
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  readonly servers: readonly { readonly url: string; readonly description: string }[];
  readonly tags: readonly { readonly name: string; readonly description: string }[];
  readonly paths: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly components: { readonly schemas: Readonly<Record<string, JsonSchema>>; readonly securitySchemes: Readonly<Record<string, unknown>> };
}

const DESCRIPTION = [
  'The order service: orders in Postgres, a Kafka saga with the payment and inventory services, and the stream engine\'s orders-store.',
  'Every error is `application/problem+json` (RFC 9457, schema Problem) with a stable `code`.',
  'Besides the answers listed per operation, a path answers any method it does not have with 405 (ORD_ERR_METHOD_NOT_ALLOWED, with `Allow`), and an unknown path 404 (ORD_ERR_ROUTE_NOT_FOUND).',
  `Every path also answers under ${CONTEXT_PATH}, the original service's context path (the second server).`,
  'With API keys configured (docs/security.md), a route that needs one answers 401 without a valid `X-API-Key`, an operator route 403 to a client key, and a limited route 429 with `Retry-After` past its rate; a wrong key is refused on any route but the open ones. With CORS configured, a refused preflight (OPTIONS) answers 403 (ORD_ERR_CORS_REJECTED).',
].join('\n\n');

const RETRY_AFTER: HeaderDoc = { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 0 } };
const CHALLENGE: HeaderDoc = { description: 'The API key scheme and its header.', schema: { type: 'string' } };

/** Per declared access (src/http/access/gate.ts): the security requirement and the problems the gate can answer. */
function security(access: Access | undefined): { requirement: Record<string, string[]>[]; problems: ErrorCode[] } {
  switch (access) {
    case 'open':
      return { requirement: [], problems: [] };
    case 'operator':
      return { requirement: [{ ApiKey: [] }], problems: ['ORD_ERR_UNAUTHORIZED', 'ORD_ERR_FORBIDDEN', 'ORD_ERR_RATE_LIMITED'] };
    case 'client':
      return { requirement: [{ ApiKey: [] }], problems: ['ORD_ERR_UNAUTHORIZED', 'ORD_ERR_RATE_LIMITED'] };
    case undefined:
      // Optional: a key identifies the client for its rate limit; writes need one when REQUIRE_API_KEY=true.
      return { requirement: [{}, { ApiKey: [] }], problems: ['ORD_ERR_UNAUTHORIZED', 'ORD_ERR_RATE_LIMITED'] };
  }
}

const STATUS_HEADERS: Readonly<Record<number, Record<string, HeaderDoc>>> = {
  401: { 'WWW-Authenticate': CHALLENGE },
  429: { 'Retry-After': RETRY_AFTER },
  503: { 'Retry-After': RETRY_AFTER },
};

const key = (method: AllowedMethod, pattern: string): `${AllowedMethod} ${string}` => `${method} ${pattern}`;
const paramNames = (pattern: string): string[] => [...pattern.matchAll(/\/:(\w+)/g)].map((m) => m[1]!);
/** `/api/orders/:id` → `/api/orders/{id}` */
const openApiPath = (pattern: string): string => pattern.replace(/\/:(\w+)/g, '/{$1}');

function refuse(detail: string): never {
  throw new EngineError('ORD_ERR_ILLEGAL_STATE', `OpenAPI document: ${detail} (src/http/openapi/operations.ts)`);
}

function checkAgainstRoute(route: RegisteredRoute, op: OperationDoc): void {
  const name = key(route.method, route.pattern);
  const documented = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
  if (documented.join(',') !== paramNames(route.pattern).join(',')) refuse(`${name} has path parameters [${paramNames(route.pattern).join(', ')}] but documents [${documented.join(', ')}]`);
  if (route.body !== (op.requestBody !== undefined)) refuse(`${name} ${route.body ? 'reads a body it does not describe' : 'describes a body it does not read'}`);
}

function headers(docs: Readonly<Record<string, HeaderDoc>> | undefined): Record<string, unknown> | undefined {
  return docs === undefined || Object.keys(docs).length === 0 ? undefined : { ...docs };
}

function content(doc: ContentDoc | undefined): Record<string, unknown> | undefined {
  if (doc === undefined) return undefined;
  return { [doc.mediaType]: { schema: doc.schema, ...(doc.example === undefined ? {} : { example: doc.example }) } };
}

function response(doc: ResponseDoc, common: Readonly<Record<string, HeaderDoc>> | undefined): Record<string, unknown> {
  const h = headers({ ...common, ...doc.headers });
  const c = content(doc.content);
  return { description: doc.description, ...(h === undefined ? {} : { headers: h }), ...(c === undefined ? {} : { content: c }) };
}

/** The problem+json answers of an operation: one per status, naming its codes. */
function problemResponses(op: OperationDoc, gate: readonly ErrorCode[]): Map<number, Record<string, unknown>> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set([...op.problems, ...gate, ...EVERY_ROUTE])) {
    const status = errorCodes[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out = new Map<number, Record<string, unknown>>();
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    const h = headers({ ...op.headers, ...STATUS_HEADERS[status] });
    out.set(status, {
      description: codes.map((c) => `${errorCodes[c].title} (${c})`).join('; '),
      ...(h === undefined ? {} : { headers: h }),
      content: {
        'application/problem+json': {
          schema: { allOf: [schemaRef('Problem'), { type: 'object', properties: { status: { const: status }, code: { enum: codes } } }] },
        },
      },
    });
  }
  return out;
}

function operation(route: RegisteredRoute, op: OperationDoc): Record<string, unknown> {
  const responses: Record<string, Record<string, unknown>> = {};
  const gate = security(route.access);
  for (const [status, doc] of Object.entries(op.responses)) responses[status] = response(doc, op.headers);
  for (const [status, problem] of problemResponses(op, gate.problems)) {
    const own = responses[status];
    // A status with an answer of its own (readiness' 503 DOWN) gets the problem as a second media type.
    responses[status] =
      own === undefined
        ? problem
        : { ...problem, ...own, description: `${String(own.description)} Or a problem: ${String(problem.description)}`, content: { ...(own.content as object), ...(problem.content as object) } };
  }
  const sorted = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b)));
  return {
    operationId: op.operationId,
    tags: [TAGS[op.tag].name],
    summary: op.summary,
    ...(op.description === undefined ? {} : { description: op.description }),
    ...(op.parameters === undefined ? {} : { parameters: op.parameters.map((p) => ({ ...p, ...(p.in === 'path' ? { required: true } : {}) })) }),
    ...(op.requestBody === undefined ? {} : { requestBody: { ...(op.requestBody.description === undefined ? {} : { description: op.requestBody.description }), required: true, content: content(op.requestBody.content) } }),
    security: gate.requirement,
    responses: sorted,
  };
}

/** The document for exactly `routes`; throws ORD_ERR_ILLEGAL_STATE where they and operations.ts disagree. */
export function buildOpenApiDocument(routes: readonly RegisteredRoute[], version: string, docs: Readonly<Record<string, OperationDoc>> = operations): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  const seen = new Set<string>();
  for (const route of routes) {
    const name = key(route.method, route.pattern);
    if (seen.has(name)) refuse(`${name} is registered twice`);
    seen.add(name);
    const op = docs[name];
    if (op === undefined) refuse(`${name} is registered but not described`);
    checkAgainstRoute(route, op);
    (paths[openApiPath(route.pattern)] ??= {})[route.method.toLowerCase()] = operation(route, op);
  }
  const stale = Object.keys(docs).filter((name) => !seen.has(name));
  if (stale.length > 0) refuse(`${stale.join(', ')} described but not registered`);
  const ids = Object.values(docs).map((op) => op.operationId);
  const dupes = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (dupes.length > 0) refuse(`operationIds used twice: ${dupes.join(', ')}`);
  return {
    openapi: '3.1.0',
    info: { title: 'Order service', version, description: DESCRIPTION },
    servers: [
      { url: '/', description: 'This instance.' },
      { url: CONTEXT_PATH, description: 'The same API under the original service\'s context path.' },
    ],
    tags: Object.values(TAGS).map((t) => ({ ...t })),
    paths,
    components: {
      schemas: componentSchemas,
      securitySchemes: {
        ApiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: `An API key from the service's configuration (docs/security.md); the header is ${API_KEY_HEADER} in any case.` },
      },
    },
  };
}
