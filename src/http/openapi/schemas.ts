// The components of the OpenAPI document: the shapes of the spec ("Shapes") as JSON
// Schema 2020-12. Request bodies are the validators' own schemas, converted
// (json-schema.ts); responses, which the service writes by hand (order-json.ts) and
// never validates, are described here from the same pieces (the address, the item
// limits, the statuses), and test/http/openapi/schemas.test.ts checks the writers'
// output against them.
import { orderDtoSchema } from '../../domain/order-dto.js';
import { MAX_ITEMS_PER_ORDER, orderRequestSchema } from '../../domain/order-request.js';
import { orderStatuses } from '../../domain/order.js';
import { errorCodes } from '../../errors.js';
import { MAX_BATCH } from '../get-batcher.js';
import { id64Schema, toOpenApiSchema, type JsonSchema } from './json-schema.js';

const ref = (name: SchemaName): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

const STORABLE_TEXT = 'Every string must be text Postgres can store as sent: no NUL (U+0000), no unpaired UTF-16 surrogate.';

const orderRequest = toOpenApiSchema(orderRequestSchema);
const requestProperties = orderRequest.properties as Record<string, JsonSchema>;
const requestAddress = requestProperties.deliveryAddress!;

/** The address as responses carry it: every field, addressLine2 null when absent. */
const address: JsonSchema = { ...requestAddress, required: Object.keys(requestAddress.properties as object) };

// Ids are Java longs (src/domain/id64.ts): ours are below 2^53, the original's TSIDs are not.
const id = id64Schema;
const price: JsonSchema = { type: 'number', minimum: 0, multipleOf: 0.01, description: 'A number written with exactly two decimals (12.50).' };

const orderResponse: JsonSchema = {
  type: 'object',
  required: ['orderId', 'customerId', 'status', 'source', 'deliveryAddress', 'createdDate', 'totalPrice', 'items'],
  properties: {
    orderId: id(1),
    customerId: id(1),
    status: ref('OrderStatus'),
    source: { type: ['string', 'null'], description: 'Who caused the status: PAYMENT or INVENTORY for a ROLLBACK or REJECTED, else null.' },
    deliveryAddress: ref('Address'),
    createdDate: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}$', description: 'ISO local date-time in UTC (Java LocalDateTime).', examples: ['2026-11-25T10:20:30.123'] },
    totalPrice: { ...price, description: 'The sum of the items\' prices, with exactly two decimals.' },
    items: {
      type: 'array',
      maxItems: MAX_ITEMS_PER_ORDER,
      items: {
        type: 'object',
        required: ['itemId', 'productId', 'quantity', 'productPrice', 'price'],
        properties: {
          itemId: id(0),
          productId: { type: 'string', description: 'The product code, upper-cased.' },
          quantity: { type: 'integer', minimum: 1 },
          productPrice: price,
          price: { ...price, description: 'quantity × productPrice, with exactly two decimals.' },
        },
      },
    },
  },
};

const pagedOrders: JsonSchema = {
  type: 'object',
  required: ['data', 'totalElements', 'pageNumber', 'totalPages', 'isFirst', 'isLast', 'hasNext', 'hasPrevious'],
  properties: {
    data: { type: 'array', items: ref('OrderResponse') },
    totalElements: { type: 'integer', minimum: 0 },
    pageNumber: { type: 'integer', minimum: 1, description: '1-based, as the original service returns it (the request\'s page is 0-based).' },
    totalPages: { type: 'integer', minimum: 0 },
    isFirst: { type: 'boolean' },
    isLast: { type: 'boolean' },
    hasNext: { type: 'boolean' },
    hasPrevious: { type: 'boolean' },
  },
};

const problem: JsonSchema = {
  type: 'object',
  description: 'RFC 9457 problem details, with the fields the original service adds (errorCategory, timestamp) and a stable code.',
  required: ['type', 'title', 'status', 'detail', 'instance', 'errorCategory', 'timestamp', 'code'],
  properties: {
    type: { type: 'string', format: 'uri' },
    title: { type: 'string' },
    status: { type: 'integer', minimum: 400, maximum: 599 },
    detail: { type: 'string' },
    instance: { type: 'string', description: 'The request path.' },
    errorCategory: { enum: [...new Set(Object.values(errorCodes).map((e) => e.category))] },
    timestamp: { type: 'string', format: 'date-time' },
    code: { enum: Object.keys(errorCodes) },
    violations: {
      type: 'array',
      description: 'For a 400: one entry per bad field or parameter.',
      items: { type: 'object', required: ['field', 'message'], properties: { field: { type: 'string' }, message: { type: 'string' } } },
    },
    errorId: { type: 'string', format: 'uuid', description: 'For a failure the service logged (5xx): the id of that log line.' },
  },
};

const health: JsonSchema = {
  type: 'object',
  required: ['status', 'components'],
  properties: {
    status: { enum: ['UP', 'DOWN'] },
    components: {
      type: 'object',
      description: 'One per dependency (db, kafka, streams, accepting), with what it last showed.',
      additionalProperties: { type: 'object', required: ['status'], properties: { status: { enum: ['UP', 'DOWN'] }, details: { type: 'object' } } },
    },
  },
};

const schemas = {
  OrderRequest: { ...orderRequest, description: `${STORABLE_TEXT} Product codes are compared upper-cased and must be unique within an order.` },
  Address: address,
  OrderStatus: { type: 'string', enum: [...orderStatuses] },
  OrderResponse: orderResponse,
  PagedOrderResponse: pagedOrders,
  OrderDto: { ...toOpenApiSchema(orderDtoSchema), description: 'The value of the orders topic: the latest state of the order in the stream.' },
  Problem: problem,
  Health: health,
  Status: { type: 'object', required: ['status'], properties: { status: { const: 'UP' } } },
  GenerateStarted: { type: 'object', required: ['success'], properties: { success: { const: true } } },
  PartitionSlice: {
    type: 'object',
    required: ['skipped', 'rows'],
    properties: { skipped: { type: 'integer', minimum: 0 }, rows: { type: 'array', items: { type: 'string', description: 'An OrderDto as JSON text.' } } },
  },
  KeysRequest: {
    type: 'object',
    required: ['ids'],
    properties: { ids: { type: 'array', minItems: 1, maxItems: MAX_BATCH, items: id(1) } },
  },
  KeysReply: {
    type: 'object',
    required: ['replies'],
    properties: {
      replies: {
        type: 'array',
        description: 'One answer per id, in order, each as GET /api/orders/store/{id} would have answered it.',
        items: {
          type: 'object',
          required: ['status'],
          properties: {
            status: { type: 'integer' },
            contentType: { type: 'string' },
            body: { type: 'string' },
            headers: { type: 'object', additionalProperties: { type: 'string' } },
          },
        },
      },
    },
  },
} satisfies Record<string, JsonSchema>;

export type SchemaName = keyof typeof schemas;

/** components.schemas of the document. */
export const componentSchemas: Readonly<Record<SchemaName, JsonSchema>> = schemas;

export { ref as schemaRef };
