// GET /api/orders/store and /api/orders/store/{id}: the orders-store of the stream
// engine (latest OrderDto per order), answered for the whole cluster from any instance
// (cluster-store.ts); 503 with Retry-After only for a partition nobody can serve yet.
// Every answer says which instance's task answered (X-Served-By).
//
// PARTITION_SLICE_ROUTE and KEYS_ROUTE are for instances only: one partition's rows of a
// page, and a batch of forwarded key reads, from this instance's own tasks (never
// forwarded on). They are reads of what /api/orders/store serves anyway, so the access
// gate leaves them open: peers send no key, and one peer's forwarding must not hit the
// rate limit of its address (KEYS_ROUTE is a POST only to carry its batch).
import { lagHeader, PARTITION_SLICE_ROUTE, sliceReply, type ClusterStore } from './cluster-store.js';
import { KEYS_ROUTE, MAX_BATCH } from './get-batcher.js';
import { parseOrderId, parseOrderIdBatch, parsePartitionSliceQuery, parseStorePageQuery } from './params.js';
import { requireJson } from './request.js';
import { json } from './reply.js';
import type { HttpServer } from './server.js';
import { SERVED_BY_HEADER } from './store-forwarder.js';

export function registerStoreRoutes(http: HttpServer, store: ClusterStore, options: { readonly instanceId: string; readonly numPartitions: number }): void {
  const headers = { [SERVED_BY_HEADER]: options.instanceId };
  http
    .route(
      'get',
      '/api/orders/store',
      async (input) => {
        const { pageNo, pageSize } = parseStorePageQuery(input.query);
        const { rows, lag } = await store.page(pageNo, pageSize);
        // Rows from a standby's copy in the page: how far behind they may be.
        return json(200, `[${rows.join(',')}]`, lag === undefined ? undefined : lagHeader(lag));
      },
      { headers },
    )
    .route('get', '/api/orders/store/:id', (input) => store.get(parseOrderId(input.params[0]!), input.forwardedBy !== '', input.url), { headers })
    .route(
      'get',
      PARTITION_SLICE_ROUTE,
      async (input) => {
        const { partition, skip, limit } = parsePartitionSliceQuery(input.params[0]!, input.query, options.numPartitions);
        return sliceReply(await store.localSlice(partition, skip, limit));
      },
      { headers, access: 'open' },
    )
    .route(
      'post',
      KEYS_ROUTE,
      (input) => {
        requireJson(input);
        return store.localGets(parseOrderIdBatch(input.body, MAX_BATCH));
      },
      { headers, body: true, access: 'open' },
    );
}
