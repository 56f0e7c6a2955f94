// The REST API of the spec (orders CRUD, by customer, generate), minus the /store
// queries that come with the stream engine.
import { parseOrderRequest } from '../domain/order-request.js';
import { orderResponseJson, pagedResultJson } from '../domain/order-json.js';
import { EngineError } from '../errors.js';
import type { OrderGenerator } from '../orders/order-generator.js';
import type { OrderService } from '../orders/order-service.js';
import { parseBatchSize, parseCustomerQuery, parseListQuery, parseOrderId } from './params.js';
import { json } from './reply.js';
import { requireJson, type RequestInput } from './request.js';
import type { HttpServer } from './server.js';

/** Longest Idempotency-Key kept: it is a Postgres primary key (btree rows stop near 2.7 KB). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/**
 * The Idempotency-Key of POST /api/orders/generate: required, at most 255 characters,
 * no control characters. A long key that Postgres cannot compress under the btree row
 * limit failed in the index (a 500); U+FFFD means uWS met bytes in the header that
 * were not UTF-8, and the key would not be the one the client sent.
 */
export function parseIdempotencyKey(raw: string): string {
  const key = raw.trim();
  if (key === '') throw new EngineError('ORD_ERR_MISSING_IDEMPOTENCY_KEY', 'the Idempotency-Key header is required');
  const problem =
    key.length > MAX_IDEMPOTENCY_KEY_LENGTH ? `must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`
    : /[\u0000-\u001f\u007f\ufffd]/.test(key) ? 'must not contain control characters or bytes that are not UTF-8'
    : undefined;
  if (problem === undefined) return key;
  throw new EngineError('ORD_ERR_BAD_PARAMETER', `Idempotency-Key ${problem}`, { violations: [{ field: 'Idempotency-Key', message: problem }] });
}

function orderBody(input: RequestInput): ReturnType<typeof parseOrderRequest> {
  requireJson(input);
  return parseOrderRequest(input.body ?? Buffer.alloc(0));
}

export function registerOrderRoutes(http: HttpServer, orders: OrderService, generator: OrderGenerator): void {
  http
    .route('get', '/api/orders', async (input) => {
      const query = parseListQuery(input.query);
      const { orders: data, total } = await orders.list(query);
      return json(200, pagedResultJson({ data, totalElements: total, pageNo: query.pageNo, pageSize: query.pageSize }, orderResponseJson));
    })
    .route('get', '/api/orders/customer/:customerId', async (input) => {
      const query = parseCustomerQuery(input.params[0]!, input.query);
      const { orders: data, total } = await orders.list(query);
      return json(200, pagedResultJson({ data, totalElements: total, pageNo: query.pageNo, pageSize: query.pageSize }, orderResponseJson));
    })
    .route('get', '/api/orders/:id', async (input) => json(200, orderResponseJson(await orders.get(parseOrderId(input.params[0]!)))))
    .route(
      'post',
      '/api/orders',
      async (input) => {
        const order = await orders.create(orderBody(input));
        return json(201, orderResponseJson(order), { Location: `/api/orders/${order.orderId}` });
      },
      { body: true },
    )
    .route(
      'put',
      '/api/orders/:id',
      async (input) => {
        const id = parseOrderId(input.params[0]!);
        return json(200, orderResponseJson(await orders.update(id, orderBody(input))));
      },
      { body: true },
    )
    .route('del', '/api/orders/:id', async (input) => {
      await orders.delete(parseOrderId(input.params[0]!));
      return { status: 202 };
    })
    // Bulk generation is an operator's tool (load, demos), not a client's: once API keys
    // are configured it needs a key with the operator role.
    .route(
      'post',
      '/api/orders/generate',
      async (input) => {
        const key = parseIdempotencyKey(input.idempotencyKey);
        await generator.start(key, parseBatchSize(input.query));
        return json(200, '{"success":true}');
      },
      { access: 'operator' },
    );
}
