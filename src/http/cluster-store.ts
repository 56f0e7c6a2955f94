// orders-store queries answered for the whole cluster, from the HTTP thread of any
// instance (issue 7, item 5): a key's partition is read from whoever serves it, in the
// order src/cluster/store-routing.ts gives (this instance's running task, the owner's
// over HTTP, a standby's copy with its lag), and a page walks every partition of the
// cluster in store order, as one instance with all of them would. Only a partition that
// no instance can serve answers 503 (with Retry-After, as every 503 problem does).
import type { InstanceRecord } from '../cluster/instance-record.js';
import { storeRoutes, unservableReason, type StoreRoute } from '../cluster/store-routing.js';
import { EngineError } from '../errors.js';
import { partitionFor } from '../kafka/partitioner.js';
import { batchReply, GetBatcher } from './get-batcher.js';
import { json, problemReply, type Reply } from './reply.js';
import { STORE_LAG_HEADER, type Forward } from './store-forwarder.js';
import type { StoreQueries } from './store-queries.js';
import type { Id64 } from '../domain/id64.js';

/** The internal route a page reads another instance's partition through (instances only). */
export const PARTITION_SLICE_ROUTE = '/internal/orders-store/partitions/:partition';

/** Rows of one partition for a page: `skipped` rows passed over (at most the skip asked), then `rows`. */
export interface PartitionSlice {
  readonly skipped: number;
  readonly rows: readonly string[];
  /** Set when a standby's copy answered: its lag in records, Infinity when it did not say. */
  readonly lag?: number;
}

export interface ClusterStoreOptions {
  readonly selfId: string;
  readonly numPartitions: number;
}

const decoder = new TextDecoder();
/** A standby's lag as a header; Infinity: a standby that did not say. */
export const lagHeader = (lag: number | undefined): Record<string, string> => ({ [STORE_LAG_HEADER]: lag === undefined || !Number.isFinite(lag) ? 'unknown' : String(lag) });

export class ClusterStore {
  readonly #local: StoreQueries;
  readonly #forward: Forward;
  readonly #batcher: GetBatcher;
  readonly #options: ClusterStoreOptions;
  #peers: readonly InstanceRecord[] = [];

  constructor(local: StoreQueries, forward: Forward, options: ClusterStoreOptions) {
    this.#local = local;
    this.#forward = forward;
    this.#batcher = new GetBatcher(forward);
    this.#options = options;
  }

  /** The live instances of the directory, as the main thread last reported them. */
  updatePeers(peers: readonly InstanceRecord[]): void {
    this.#peers = peers;
  }

  /**
   * GET /api/orders/store/{id}: the order's latest value from whoever serves its
   * partition. `forwarded`: another instance sent it here, so it is answered from this
   * instance's tasks or not at all. `instance` is the request's URL, for a problem.
   */
  async get(orderId: Id64, forwarded: boolean, instance: string): Promise<Reply> {
    const partition = partitionFor(String(orderId), this.#options.numPartitions);
    return this.#first(partition, forwarded, {
      local: async (thread) => found(await this.#local.getRunning(partition, thread, orderId), orderId, instance),
      standby: async (thread) => {
        const { value, lag } = await this.#local.getStandby(partition, thread, orderId);
        const reply = found(value, orderId, instance);
        return { ...reply, headers: { ...reply.headers, ...lagHeader(lag ?? Infinity) } };
      },
      // Coalesced with the other reads of this turn for the same peer (get-batcher.ts).
      remote: (peer) => this.#batcher.get(peer, orderId),
    });
  }

  /**
   * KEYS_ROUTE: another instance's batch of forwarded reads, each answered from this
   * instance's own tasks as get() answers it, into one body. A failure that is not the
   * store's (a bug) fails the batch, so it is logged with an id.
   */
  async localGets(orderIds: readonly Id64[]): Promise<Reply> {
    const replies = await Promise.all(
      orderIds.map((id) => {
        // Each problem names the read it answers, as a read of its own would.
        const instance = `/api/orders/store/${id}`;
        return this.get(id, true, instance).catch((err: unknown) => {
          if (err instanceof EngineError) return problemReply(err, instance);
          throw err;
        });
      }),
    );
    return json(200, batchReply(replies));
  }

  /** GET /api/orders/store: a page of the cluster's store in store order (partition by partition, key order inside). */
  async page(pageNo: number, pageSize: number): Promise<{ rows: string[]; lag: number | undefined }> {
    let skip = pageNo * pageSize;
    const rows: string[] = [];
    let lag: number | undefined;
    for (let partition = 0; partition < this.#options.numPartitions && rows.length < pageSize; partition++) {
      const slice = await this.#slice(partition, skip, pageSize - rows.length, false);
      skip -= slice.skipped;
      // At most what is still missing, whatever a thread or a peer answered.
      rows.push(...slice.rows.slice(0, pageSize - rows.length));
      if (slice.lag !== undefined) lag = Math.max(lag ?? 0, slice.lag);
    }
    return { rows, lag };
  }

  /** PARTITION_SLICE_ROUTE: a slice of one of this instance's partitions, for another instance's page. */
  localSlice(partition: number, skip: number, limit: number): Promise<PartitionSlice> {
    return this.#slice(partition, skip, limit, true);
  }

  async #slice(partition: number, skip: number, limit: number, forwarded: boolean): Promise<PartitionSlice> {
    // The partition's first skip + limit rows, as the task reads them; the skip is
    // applied here, so a peer sends only the rows the page shows.
    const cut = (values: readonly Uint8Array[], lag?: number): PartitionSlice => {
      const skipped = Math.min(skip, values.length);
      return { skipped, rows: values.slice(skipped, skipped + limit).map((v) => decoder.decode(v)), ...(lag === undefined ? {} : { lag }) };
    };
    const reply = await this.#first(partition, forwarded, {
      local: async (thread) => sliceReply(cut((await this.#local.range(partition, thread, skip + limit)).values)),
      // A standby task's copy is read like an active one's; its lag comes with the rows.
      standby: async (thread) => {
        const { values, lag } = await this.#local.range(partition, thread, skip + limit);
        return sliceReply(cut(values, lag ?? Infinity));
      },
      remote: (peer) => this.#forward(peer.endpoint, peer.instanceId, `${PARTITION_SLICE_ROUTE.replace(':partition', String(partition))}?skip=${skip}&limit=${limit}`),
    });
    if (reply.status !== 200) throw new EngineError('ORD_ERR_STORE_NOT_READY', `orders-store partition ${partition}: ${problemDetail(reply)}`);
    return parseSlice(reply);
  }

  /**
   * Tries the routes of `partition` in order. A peer that cannot be reached, or answers
   * 503, gives way to the next route; the last failure is what the client gets.
   */
  async #first(
    partition: number,
    forwarded: boolean,
    read: { local: (thread: number) => Promise<Reply>; standby: (thread: number) => Promise<Reply>; remote: (peer: InstanceRecord) => Promise<Reply> },
  ): Promise<Reply> {
    const local = this.#local.task(partition);
    const routes: StoreRoute[] = storeRoutes({ partition, local, peers: this.#peers, selfId: this.#options.selfId, forwarded });
    let failure: { error: unknown } | { reply: Reply } | undefined;
    for (const route of routes) {
      switch (route.kind) {
        case 'local':
          return read.local(route.thread);
        case 'local-standby':
          try {
            return await read.standby(route.thread);
          } catch (error) {
            failure = { error };
          }
          break;
        case 'remote':
        case 'remote-standby':
          try {
            const reply = await read.remote(route.instance);
            if (reply.status !== 503) return reply;
            failure = { reply };
          } catch (error) {
            failure = { error };
          }
          break;
      }
    }
    if (failure === undefined) {
      // Nobody has it: not owned (a forwarded request, or a running instance without the
      // task) or not ready (restoring, rebalancing, nobody assigned yet).
      const notOwned = forwarded && local === undefined;
      throw new EngineError(notOwned ? 'ORD_ERR_STORE_NOT_OWNED' : 'ORD_ERR_STORE_NOT_READY', unservableReason({ partition, local, forwarded }));
    }
    if ('reply' in failure) return failure.reply;
    throw failure.error;
  }
}

function found(value: Uint8Array | undefined, orderId: Id64, instance: string): Reply {
  if (value === undefined) return problemReply(new EngineError('ORD_ERR_ORDER_NOT_FOUND', `Order with Id ${orderId} not found in the store`), instance);
  return json(200, decoder.decode(value));
}

/** A slice as PARTITION_SLICE_ROUTE answers it. */
export function sliceReply(slice: PartitionSlice): Reply {
  // Each row as a JSON string: the peer gets back exactly the text this instance would
  // have put in its own page (a parsed and re-serialized row would not: 10.50 → 10.5).
  const body = `{"skipped":${slice.skipped},"rows":${JSON.stringify(slice.rows)}}`;
  return json(200, body, slice.lag === undefined ? undefined : lagHeader(slice.lag));
}

function parseSlice(reply: Reply): PartitionSlice {
  let parsed: unknown;
  try {
    parsed = JSON.parse(reply.body ?? '');
  } catch {
    parsed = undefined;
  }
  const p = parsed as { skipped?: unknown; rows?: unknown } | undefined;
  if (p === undefined || !Number.isSafeInteger(p.skipped) || !Array.isArray(p.rows) || !p.rows.every((r) => typeof r === 'string')) {
    throw new EngineError('ORD_ERR_STORE_NOT_READY', 'another instance answered a page slice this version cannot read; retry shortly');
  }
  const header = reply.headers?.[STORE_LAG_HEADER];
  const lag = header === undefined ? undefined : header === 'unknown' ? Infinity : Number(header);
  return { skipped: p.skipped as number, rows: p.rows, ...(lag === undefined || Number.isNaN(lag) ? {} : { lag }) };
}

function problemDetail(reply: Reply): string {
  try {
    const detail = (JSON.parse(reply.body ?? '') as { detail?: unknown }).detail;
    if (typeof detail === 'string') return detail;
  } catch {
    // Not a problem document: its status says enough.
  }
  return `another instance answered ${reply.status}`;
}
