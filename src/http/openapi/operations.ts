// What each route of the service does, for the OpenAPI document: one entry per route
// the HttpServer registers, keyed `METHOD pattern` exactly as it was registered, so
// document.ts can refuse a route without an entry (or an entry without a route).
//
// `problems` are the error codes a route's own code can answer, beyond those every
// route can (EVERY_ROUTE); the document turns them into one problem+json response per
// status, the codes listed. Keep them to what the handler and what it calls really
// throw (src/errors.ts has the statuses).
import { ORDER_SORT_COLUMNS } from '../../db/order-repository.js';
import type { ErrorCode } from '../../errors.js';
import { KEYS_ROUTE } from '../get-batcher.js';
import { PARTITION_SLICE_ROUTE } from '../cluster-store.js';
import { MAX_PAGE_SIZE } from '../params.js';
import { MAX_IDEMPOTENCY_KEY_LENGTH } from '../order-routes.js';
import type { AllowedMethod } from '../route-table.js';
import { FORWARDED_BY_HEADER, SERVED_BY_HEADER, STORE_LAG_HEADER } from '../store-forwarder.js';
import { id64Schema, type JsonSchema } from './json-schema.js';
import { schemaRef } from './schemas.js';

export const TAGS = {
  orders: { name: 'Orders', description: 'Orders in Postgres: create, read, update, delete, list, generate.' },
  store: { name: 'Orders store', description: 'The stream engine\'s orders-store (latest OrderDto per order), answered for the whole cluster by any instance.' },
  actuator: { name: 'Actuator', description: 'Health, metrics and info, as Spring Boot\'s actuator serves them.' },
  internal: { name: 'Internal', description: 'Between instances of the service only; not for clients.' },
  jobs: { name: 'Jobs', description: 'The scheduled jobs (stuck orders, outbox retention), as the original\'s JobRunr dashboard shows them.' },
  docs: { name: 'API docs', description: 'This document.' },
} as const;
export type TagName = keyof typeof TAGS;

export interface ParameterDoc {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header';
  readonly description?: string;
  readonly required?: boolean;
  readonly schema: JsonSchema;
}

export interface ContentDoc {
  readonly mediaType: string;
  readonly schema: JsonSchema;
  readonly example?: unknown;
}

export interface HeaderDoc {
  readonly description: string;
  readonly schema: JsonSchema;
}

export interface ResponseDoc {
  readonly description: string;
  readonly content?: ContentDoc;
  readonly headers?: Readonly<Record<string, HeaderDoc>>;
}

export interface OperationDoc {
  readonly operationId: string;
  readonly tag: TagName;
  readonly summary: string;
  readonly description?: string;
  readonly parameters?: readonly ParameterDoc[];
  readonly requestBody?: { readonly description?: string; readonly content: ContentDoc };
  /** The answers that are not problems, by status. */
  readonly responses: Readonly<Record<number, ResponseDoc>>;
  /** Error codes the route answers as problem+json, beyond EVERY_ROUTE. */
  readonly problems: readonly ErrorCode[];
  /** Headers on every answer of the route, problems included. */
  readonly headers?: Readonly<Record<string, HeaderDoc>>;
}

/**
 * Problems any route can answer: a query or path with malformed percent-encoding (400),
 * a request arriving while the instance shuts down (503), and a bug (500, with errorId).
 */
export const EVERY_ROUTE: readonly ErrorCode[] = ['ORD_ERR_BAD_PARAMETER', 'ORD_ERR_SHUTTING_DOWN', 'ORD_ERR_INTERNAL'];

/** What a route that reads a JSON body can answer besides: a body over MAX_BODY_BYTES, another media type, not JSON. */
const JSON_BODY: readonly ErrorCode[] = ['ORD_ERR_BODY_TOO_LARGE', 'ORD_ERR_UNSUPPORTED_MEDIA_TYPE', 'ORD_ERR_MALFORMED_JSON'];

const json = (schema: JsonSchema, example?: unknown): ContentDoc => ({ mediaType: 'application/json', schema, ...(example === undefined ? {} : { example }) });

const int = (minimum: number, maximum: number, def: number): JsonSchema => ({ type: 'integer', minimum, maximum, default: def });
const orderId = (name: string, description: string): ParameterDoc => ({ name, in: 'path', required: true, description, schema: id64Schema(1) });
const pageNo = (name: string): ParameterDoc => ({ name, in: 'query', description: '0-based page number.', schema: int(0, 1_000_000, 0) });
const pageSize = (name: string): ParameterDoc => ({ name, in: 'query', description: 'Rows per page.', schema: int(1, MAX_PAGE_SIZE, 10) });
const sortFields = Object.keys(ORDER_SORT_COLUMNS);

const servedBy: Record<string, HeaderDoc> = {
  [SERVED_BY_HEADER]: { description: 'The instance whose task answered.', schema: { type: 'string' } },
};
const storeLag: Record<string, HeaderDoc> = {
  [STORE_LAG_HEADER]: { description: 'Set when a standby copy answered: how many records it may trail, or `unknown`.', schema: { type: 'string', pattern: '^(\\d+|unknown)$' } },
};
const forwardedBy: ParameterDoc = {
  name: FORWARDED_BY_HEADER,
  in: 'header',
  description: 'Set by an instance that forwarded the read here: answer from this instance\'s own tasks, never forward again. Clients leave it out.',
  schema: { type: 'string' },
};

/** The README's example order: what a client sends. */
export const EXAMPLE_ORDER_REQUEST = {
  customerId: 1,
  items: [{ productCode: 'P001', quantity: 2, productPrice: 10.5 }],
  deliveryAddress: { addressLine1: '1 Main St', city: 'Springfield', state: 'IL', zipCode: '62701', country: 'US' },
};

const orderBody = { description: 'The order; items replace the order\'s items on PUT.', content: json(schemaRef('OrderRequest'), EXAMPLE_ORDER_REQUEST) };
const orderWrites: readonly ErrorCode[] = [...JSON_BODY, 'ORD_ERR_VALIDATION', 'ORD_ERR_PRODUCT_NOT_FOUND', 'ORD_ERR_CATALOG_UNAVAILABLE', 'ORD_ERR_DATABASE_UNAVAILABLE'];
const storeReads: readonly ErrorCode[] = ['ORD_ERR_STORE_NOT_READY', 'ORD_ERR_STORE_QUERY_TIMEOUT', 'ORD_ERR_OVERLOADED'];
const health = (summary: string): OperationDoc => ({
  operationId: '',
  tag: 'actuator',
  summary,
  description: 'UP when Postgres and the broker are reachable, the stream tasks are running and the instance takes traffic; the components say which is not.',
  responses: {
    200: { description: 'Ready.', content: json(schemaRef('Health')) },
    503: { description: 'Not ready: a component is DOWN.', content: json(schemaRef('Health')) },
  },
  problems: [],
});

export const API_DOCS_ROUTE = '/v3/api-docs';

export const operations: Readonly<Record<`${AllowedMethod} ${string}`, OperationDoc>> = {
  'GET /api/orders': {
    operationId: 'listOrders',
    tag: 'orders',
    summary: 'A page of all orders',
    parameters: [
      pageNo('pageNo'),
      pageSize('pageSize'),
      { name: 'sortBy', in: 'query', schema: { type: 'string', enum: sortFields, default: 'id' } },
      { name: 'sortDir', in: 'query', description: 'Case-insensitive.', schema: { type: 'string', enum: ['asc', 'desc'], default: 'asc' } },
    ],
    responses: { 200: { description: 'The page.', content: json(schemaRef('PagedOrderResponse')) } },
    problems: ['ORD_ERR_DATABASE_UNAVAILABLE'],
  },
  'GET /api/orders/customer/:customerId': {
    operationId: 'listCustomerOrders',
    tag: 'orders',
    summary: 'A page of one customer\'s orders (Spring Pageable parameters)',
    parameters: [
      orderId('customerId', 'The customer.'),
      pageNo('page'),
      pageSize('size'),
      { name: 'sort', in: 'query', description: '`field` or `field,direction` (direction case-insensitive).', schema: { type: 'string', pattern: `^(${sortFields.join('|')})(,([aA][sS][cC]|[dD][eE][sS][cC]))?$`, default: 'id,asc' } },
    ],
    responses: { 200: { description: 'The page.', content: json(schemaRef('PagedOrderResponse')) } },
    problems: ['ORD_ERR_DATABASE_UNAVAILABLE'],
  },
  'GET /api/orders/:id': {
    operationId: 'getOrder',
    tag: 'orders',
    summary: 'One order',
    parameters: [orderId('id', 'The order id.')],
    responses: { 200: { description: 'The order.', content: json(schemaRef('OrderResponse')) } },
    problems: ['ORD_ERR_ORDER_NOT_FOUND', 'ORD_ERR_DATABASE_UNAVAILABLE'],
  },
  'POST /api/orders': {
    operationId: 'createOrder',
    tag: 'orders',
    summary: 'Create an order',
    description: 'Checks every product code against the catalog, stores the order as NEW and publishes its OrderDto to `orders` (outbox).',
    requestBody: orderBody,
    responses: {
      201: {
        description: 'Created.',
        content: json(schemaRef('OrderResponse')),
        headers: { Location: { description: 'The order\'s path, /api/orders/{orderId}.', schema: { type: 'string', pattern: '^/api/orders/\\d+$' } } },
      },
    },
    problems: [...orderWrites, 'ORD_ERR_OVERLOADED'],
  },
  'PUT /api/orders/:id': {
    operationId: 'updateOrder',
    tag: 'orders',
    summary: 'Replace an order\'s customer, address and items',
    parameters: [orderId('id', 'The order id.')],
    requestBody: orderBody,
    responses: { 200: { description: 'The order as updated.', content: json(schemaRef('OrderResponse')) } },
    problems: [...orderWrites, 'ORD_ERR_ORDER_NOT_FOUND'],
  },
  'DELETE /api/orders/:id': {
    operationId: 'deleteOrder',
    tag: 'orders',
    summary: 'Delete an order',
    parameters: [orderId('id', 'The order id.')],
    responses: { 202: { description: 'Deleted; no body.' } },
    problems: ['ORD_ERR_ORDER_NOT_FOUND', 'ORD_ERR_DATABASE_UNAVAILABLE'],
  },
  'POST /api/orders/generate': {
    operationId: 'generateOrders',
    tag: 'orders',
    summary: 'Generate random orders in the background',
    description: 'Builds `batchSize` random orders and saves them through the normal path. A repeated Idempotency-Key starts nothing more and answers the same.',
    parameters: [
      { name: 'Idempotency-Key', in: 'header', required: true, description: 'No control characters.', schema: { type: 'string', minLength: 1, maxLength: MAX_IDEMPOTENCY_KEY_LENGTH } },
      { name: 'batchSize', in: 'query', schema: int(1, 10_000, 10_000) },
    ],
    responses: { 200: { description: 'Generation started (or had started for this key).', content: json(schemaRef('GenerateStarted')) } },
    problems: ['ORD_ERR_MISSING_IDEMPOTENCY_KEY', 'ORD_ERR_DATABASE_UNAVAILABLE'],
  },
  'GET /api/jobs': {
    operationId: 'listJobs',
    tag: 'jobs',
    summary: 'The scheduled jobs: settings, the last run wherever it happened, the next slot, this instance\'s runs',
    responses: {
      200: {
        description: 'Every job.',
        content: json({
          type: 'object',
          required: ['instance', 'enabled', 'jobs'],
          properties: {
            instance: { type: 'string' },
            enabled: { type: 'boolean' },
            jobs: {
              type: 'array',
              items: {
                type: 'object',
                required: ['name', 'settings', 'nextRunAt', 'cluster'],
                properties: {
                  name: { type: 'string' },
                  settings: { type: 'object' },
                  nextRunAt: { type: 'string' },
                  cluster: { type: 'object' },
                  thisInstance: { type: 'object' },
                },
              },
            },
          },
        }),
      },
    },
    problems: ['ORD_ERR_DATABASE_UNAVAILABLE'],
  },
  'GET /api/orders/store': {
    operationId: 'listStore',
    tag: 'store',
    summary: 'A page of orders-store, in store order (partition by partition, key order inside)',
    parameters: [pageNo('pageNo'), pageSize('pageSize')],
    responses: { 200: { description: 'The page.', content: json({ type: 'array', items: schemaRef('OrderDto') }), headers: storeLag } },
    problems: storeReads,
    headers: servedBy,
  },
  'GET /api/orders/store/:id': {
    operationId: 'getStoreOrder',
    tag: 'store',
    summary: 'The latest state of an order in the stream',
    description: 'From this instance\'s task, the owning instance, or a standby copy (with X-Store-Lag); 503 only when nobody can serve the order\'s partition.',
    parameters: [orderId('id', 'The order id.'), forwardedBy],
    responses: { 200: { description: 'The order\'s OrderDto.', content: json(schemaRef('OrderDto')), headers: storeLag } },
    problems: ['ORD_ERR_ORDER_NOT_FOUND', ...storeReads, 'ORD_ERR_STORE_NOT_OWNED'],
    headers: servedBy,
  },
  [`GET ${PARTITION_SLICE_ROUTE}`]: {
    operationId: 'readPartitionSlice',
    tag: 'internal',
    summary: 'One partition\'s rows of a store page, from this instance\'s own task',
    parameters: [
      { name: 'partition', in: 'path', required: true, schema: { type: 'integer', minimum: 0 } },
      { name: 'skip', in: 'query', schema: int(0, 1_000_000 * MAX_PAGE_SIZE, 0) },
      { name: 'limit', in: 'query', schema: int(1, MAX_PAGE_SIZE, 10) },
    ],
    responses: { 200: { description: 'The slice.', content: json(schemaRef('PartitionSlice')), headers: storeLag } },
    problems: [...storeReads, 'ORD_ERR_STORE_NOT_OWNED'],
    headers: servedBy,
  },
  [`POST ${KEYS_ROUTE}`]: {
    operationId: 'readStoreKeys',
    tag: 'internal',
    summary: 'A batch of forwarded store reads, from this instance\'s own tasks',
    requestBody: { content: json(schemaRef('KeysRequest')) },
    responses: { 200: { description: 'Each read\'s answer.', content: json(schemaRef('KeysReply')) } },
    problems: JSON_BODY,
    headers: servedBy,
  },
  'GET /actuator/health/liveness': {
    operationId: 'liveness',
    tag: 'actuator',
    summary: 'Liveness: the process answers',
    responses: { 200: { description: 'Alive.', content: json(schemaRef('Status')) } },
    problems: [],
  },
  'GET /actuator/health/readiness': { ...health('Readiness'), operationId: 'readiness' },
  'GET /actuator/health': { ...health('Health (as readiness)'), operationId: 'health' },
  'GET /actuator/prometheus': {
    operationId: 'prometheus',
    tag: 'actuator',
    summary: 'Metrics in the Prometheus text format',
    responses: { 200: { description: 'The metrics.', content: { mediaType: 'text/plain', schema: { type: 'string' } } } },
    problems: [],
  },
  'GET /actuator/info': {
    operationId: 'info',
    tag: 'actuator',
    summary: 'What this instance is',
    responses: { 200: { description: 'Application name, id and node id.', content: json({ type: 'object', additionalProperties: { type: 'string' } }) } },
    problems: [],
  },
  [`GET ${API_DOCS_ROUTE}`]: {
    operationId: 'apiDocs',
    tag: 'docs',
    summary: 'This OpenAPI 3.1 document',
    responses: { 200: { description: 'The document.', content: json({ type: 'object', required: ['openapi', 'info', 'paths'], properties: { openapi: { const: '3.1.0' }, info: { type: 'object' }, paths: { type: 'object' } } }) } },
    problems: [],
  },
};
