// Forwarded key reads, coalesced per peer: the reads of other instances' partitions
// that arrive in one turn of the HTTP thread's event loop go to each peer as one
// request (KEYS_ROUTE, up to MAX_BATCH keys), and each read gets its own answer back,
// with the status, body and content type it would have had alone. One forwarded read
// costs what it did (the batch leaves on the next setImmediate, no timer); under load an
// HTTP round trip, its parsing on both sides and a socket are shared by every read of
// the turn instead of paid per read, the cost that made a forwarded read several times
// dearer than a local one (bench/store-remote.load.ts).
//
// Wire format (instances only; the request carries X-Store-Forwarded-By, so the peer
// answers from its own tasks):
//   POST KEYS_ROUTE  {"ids":[101,102]}
//   200              {"replies":[{"status":200,"contentType":"application/json","body":"{…}"},
//                                {"status":404,"contentType":"application/problem+json","body":"{…}",
//                                 "headers":{"X-Store-Lag":"3"}}]}
// Any other answer (the peer shutting down: 503) is every read's answer.
import type { InstanceRecord } from '../cluster/instance-record.js';
import { EngineError } from '../errors.js';
import type { Reply } from './reply.js';
import type { Forward } from './store-forwarder.js';
import type { Id64 } from '../domain/id64.js';

export const KEYS_ROUTE = '/internal/orders-store/keys';
/** Keys per request: a body of a few KiB, far below MAX_BODY_BYTES. */
export const MAX_BATCH = 128;

interface Waiting {
  readonly orderId: Id64;
  readonly resolve: (reply: Reply) => void;
  readonly reject: (err: unknown) => void;
}

interface Batch {
  readonly peer: InstanceRecord;
  readonly waiting: Waiting[];
}

/** One read's answer inside a batch answer. */
export interface BatchedReply {
  readonly status: number;
  readonly contentType?: string;
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export class GetBatcher {
  readonly #forward: Forward;
  /** The batch being filled for each peer (by instanceId and endpoint) in this turn. */
  readonly #open = new Map<string, Batch>();
  #scheduled = false;

  constructor(forward: Forward) {
    this.#forward = forward;
  }

  /** The peer's answer to a read of `orderId`, as it would answer GET /api/orders/store/{id}. */
  get(peer: InstanceRecord, orderId: Id64): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const key = `${peer.instanceId}@${peer.endpoint}`;
      let batch = this.#open.get(key);
      if (batch === undefined) this.#open.set(key, (batch = { peer, waiting: [] }));
      batch.waiting.push({ orderId, resolve, reject });
      if (batch.waiting.length >= MAX_BATCH) {
        this.#open.delete(key);
        this.#send(batch);
      } else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const batches = [...this.#open.values()];
    this.#open.clear();
    for (const batch of batches) this.#send(batch);
  }

  #send({ peer, waiting }: Batch): void {
    // Written by hand: JSON.stringify throws on a bigint id (one past 2^53, id64.ts).
    const body = `{"ids":[${waiting.map((w) => w.orderId).join(',')}]}`;
    this.#forward(peer.endpoint, peer.instanceId, KEYS_ROUTE, body).then(
      (reply) => {
        let replies: Reply[];
        try {
          replies = reply.status === 200 ? unbatch(reply, waiting.length) : waiting.map(() => reply);
        } catch (err) {
          for (const w of waiting) w.reject(err);
          return;
        }
        waiting.forEach((w, i) => w.resolve(replies[i]!));
      },
      (err: unknown) => {
        for (const w of waiting) w.reject(err);
      },
    );
  }
}

/** The replies of a batch answer, each with the batch's relayed headers (X-Served-By) under its own. */
function unbatch(reply: Reply, expected: number): Reply[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(reply.body ?? '');
  } catch {
    parsed = undefined;
  }
  const replies = (parsed as { replies?: unknown } | undefined)?.replies;
  if (!Array.isArray(replies) || replies.length !== expected || !replies.every(isBatchedReply)) {
    throw new EngineError('ORD_ERR_STORE_NOT_READY', 'another instance answered a batch of store reads this version cannot read; retry shortly');
  }
  return replies.map((r) => ({
    status: r.status,
    ...(r.body === undefined ? {} : { body: r.body }),
    ...(r.contentType === undefined ? {} : { contentType: r.contentType }),
    headers: { ...reply.headers, ...r.headers },
  }));
}

function isBatchedReply(v: unknown): v is BatchedReply {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  const headersOk =
    r.headers === undefined || (typeof r.headers === 'object' && r.headers !== null && Object.values(r.headers).every((h) => typeof h === 'string'));
  return Number.isSafeInteger(r.status) && (r.body === undefined || typeof r.body === 'string') && (r.contentType === undefined || typeof r.contentType === 'string') && headersOk;
}

/** The batch answer of KEYS_ROUTE, from this instance's own replies to each read. */
export function batchReply(replies: readonly Reply[]): string {
  const items: BatchedReply[] = replies.map((r) => ({
    status: r.status,
    ...(r.contentType === undefined ? {} : { contentType: r.contentType }),
    ...(r.body === undefined ? {} : { body: r.body }),
    ...(r.headers === undefined ? {} : { headers: r.headers }),
  }));
  return JSON.stringify({ replies: items });
}
