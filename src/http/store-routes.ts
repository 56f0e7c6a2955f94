// GET /api/orders/store and /api/orders/store/{id}: the orders-store of the stream
// engine (latest OrderDto per order), 503 while it is restoring or rebalancing.
import { EngineError } from '../errors.js';
import { parseOrderId, parseStorePageQuery } from './params.js';
import { json } from './reply.js';
import type { HttpServer } from './server.js';
import type { StoreQueries } from './store-queries.js';

const decoder = new TextDecoder();

export function registerStoreRoutes(http: HttpServer, store: StoreQueries): void {
  http
    .route('get', '/api/orders/store', async (input) => {
      const { pageNo, pageSize } = parseStorePageQuery(input.query);
      const values = await store.page(pageNo, pageSize);
      return json(200, `[${values.map((v) => decoder.decode(v)).join(',')}]`);
    })
    .route('get', '/api/orders/store/:id', async (input) => {
      const id = parseOrderId(input.params[0]!);
      const value = await store.get(id);
      if (value === undefined) throw new EngineError('ORD_ERR_ORDER_NOT_FOUND', `Order with Id ${id} not found in the store`);
      return json(200, decoder.decode(value));
    });
}
