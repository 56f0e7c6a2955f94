// Store queries answered for the cluster from any instance, with the real HTTP stack
// in this process: each "instance" is a uWebSockets.js server with the store routes,
// its StoreQueries over fake stream threads, and a real StoreForwarder; the directory
// is set by the test. What Kafka and the engine do is covered by
// test/integration/store-any-instance.test.ts; this covers routing, relaying, paging
// and the bounds of a forward exactly.
import { once } from 'node:events';
import http from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { InstanceRecord } from '../../src/cluster/instance-record.js';
import { ClusterStore } from '../../src/http/cluster-store.js';
import { MAX_BATCH } from '../../src/http/get-batcher.js';
import { HttpServer } from '../../src/http/server.js';
import { FORWARDED_BY_HEADER, StoreForwarder, type Forward } from '../../src/http/store-forwarder.js';
import { StoreQueries } from '../../src/http/store-queries.js';
import { registerStoreRoutes } from '../../src/http/store-routes.js';
import { partitionFor } from '../../src/kafka/partitioner.js';
import type { TaskInfo } from '../../src/engine/engine-state.js';
import { FakeStreamThreads } from '../support/fake-stream-threads.js';
import { freePort } from '../support/service.js';

const NUM_PARTITIONS = 4;
const THREADS = 2;
const threadOf = (partition: number): number => (partition + 1) % THREADS;
const silent = pino({ level: 'silent' }, new Writable({ write: (_c, _e, done) => done() }));

interface Instance {
  readonly id: string;
  readonly endpoint: string;
  readonly port: number;
  readonly threads: FakeStreamThreads;
  readonly queries: StoreQueries;
  readonly store: ClusterStore;
  /** Every request this instance forwarded, in order: the path, and the body of a POST. */
  readonly forwarded: string[];
  readonly close: () => void;
}

const open: Instance[] = [];
const extraServers: Server[] = [];

afterEach(async () => {
  for (const i of open.splice(0)) i.close();
  for (const s of extraServers.splice(0)) {
    s.close();
    s.unref();
  }
});

async function instance(id: string, options: { forwardTimeoutMs?: number } = {}): Promise<Instance> {
  const threads = new FakeStreamThreads(THREADS);
  const queries = new StoreQueries(NUM_PARTITIONS, undefined, threads.ports);
  const forwarder = new StoreForwarder({ selfId: id, timeoutMs: options.forwardTimeoutMs ?? 2000, maxInFlight: 100, maxBodyBytes: 1 << 20 });
  const forwarded: string[] = [];
  const forward: Forward = (endpoint, instanceId, path, body) => {
    forwarded.push(body === undefined ? path : `${path} ${body}`);
    return forwarder.forward(endpoint, instanceId, path, body);
  };
  const store = new ClusterStore(queries, forward, { selfId: id, numPartitions: NUM_PARTITIONS });
  const server = new HttpServer({ host: '127.0.0.1', port: 0, maxBodyBytes: 1024 }, silent);
  registerStoreRoutes(server, store, { instanceId: id, numPartitions: NUM_PARTITIONS });
  server.fallback();
  const port = await server.listen();
  const i: Instance = {
    id,
    endpoint: `127.0.0.1:${port}`,
    port,
    threads,
    queries,
    store,
    forwarded,
    close: () => {
      server.close();
      forwarder.close();
      threads.close();
    },
  };
  open.push(i);
  return i;
}

/** Gives `owner` running tasks for `partitions` (its threads hold the data). */
function runs(owner: Instance, partitions: number[], state: string = 'RUNNING'): void {
  owner.queries.updateTasks(
    'RUNNING',
    partitions.map((partition) => ({ partition, thread: threadOf(partition), state }) as unknown as TaskInfo),
  );
}

const record = (i: { id: string; endpoint: string }, over: Partial<InstanceRecord> = {}): InstanceRecord => ({
  instanceId: i.id,
  incarnation: `${i.id}-1`,
  endpoint: i.endpoint,
  state: 'RUNNING',
  running: [],
  restoring: [],
  standby: [],
  seq: 0,
  timestamp: Date.now(),
  ...over,
});

/** Order ids on each partition: ids[p][n]. */
const ids: number[][] = Array.from({ length: NUM_PARTITIONS }, () => []);
for (let id = 5_000; ids.some((l) => l.length < 3); id++) {
  const list = ids[partitionFor(String(id), NUM_PARTITIONS)]!;
  if (list.length < 3) list.push(id);
}
const idOn = (p: number, n = 0): number => ids[p]![n]!;
const dto = (id: number): string => `{"orderId":${id},"status":"NEW","items":[{"productPrice":10.50}]}`;

function store(i: Instance, partitions: number[]): void {
  for (const p of partitions) for (const id of ids[p]!) i.threads.values.set(`${p}:${id}`, dto(id));
}

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  readonly json: any;
}

/** One GET on its own connection (agent: false), so no socket outlives a test. */
function get(i: { port: number }, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: i.port, path, agent: false, headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(body);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode!, headers: res.headers, body, json });
        });
      })
      .on('error', reject);
  });
}

async function twoInstances(): Promise<[Instance, Instance]> {
  const a = await instance('a');
  const b = await instance('b');
  runs(a, [0, 2]);
  runs(b, [1, 3]);
  store(a, [0, 2]);
  store(b, [1, 3]);
  const directory = [record(a, { running: [0, 2] }), record(b, { running: [1, 3] })];
  a.store.updatePeers(directory);
  b.store.updatePeers(directory);
  return [a, b];
}

describe('GET /api/orders/store/{id} from any instance', () => {
  it('answers every order from both instances: the owner locally, the other by forwarding once; X-Served-By names the owner', async () => {
    const [a, b] = await twoInstances();
    for (let p = 0; p < NUM_PARTITIONS; p++) {
      const owner = p % 2 === 0 ? a : b;
      for (const via of [a, b]) {
        const res = await get(via, `/api/orders/store/${idOn(p)}`);
        expect(res.status).toBe(200);
        expect(res.body).toBe(dto(idOn(p))); // byte for byte: 10.50 stays 10.50
        expect(res.headers['content-type']).toBe('application/json');
        expect(res.headers['x-served-by']).toBe(owner.id);
      }
    }
    // Each instance forwarded exactly the reads of the other's partitions, once each
    // (one read at a time here: a batch of one).
    expect(a.forwarded).toEqual([1, 3].map((p) => `/internal/orders-store/keys {"ids":[${idOn(p)}]}`));
    expect(b.forwarded).toEqual([0, 2].map((p) => `/internal/orders-store/keys {"ids":[${idOn(p)}]}`));
  });

  it('relays the owner\'s 404 with its problem and X-Served-By', async () => {
    const [a, b] = await twoInstances();
    const missing = idOn(1, 2);
    b.threads.values.delete(`1:${missing}`);
    const res = await get(a, `/api/orders/store/${missing}`);
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.headers['x-served-by']).toBe('b');
    expect(res.json).toMatchObject({ code: 'ORD_ERR_ORDER_NOT_FOUND', detail: `Order with Id ${missing} not found in the store` });
  });

  // A stale directory: a thinks b runs partition 1, b thinks a does. Without the
  // forwarded-once rule the read would bounce between them until a timeout.
  it('forwards once: an instance that got a forwarded read it cannot answer says 503 NOT_OWNED and forwards nothing', async () => {
    const a = await instance('a');
    const b = await instance('b');
    runs(a, [0]);
    runs(b, [3]);
    a.store.updatePeers([record(b, { running: [1] })]);
    b.store.updatePeers([record(a, { running: [1] })]);
    const res = await get(a, `/api/orders/store/${idOn(1)}`);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.headers['x-served-by']).toBe('b');
    expect(res.json).toMatchObject({ code: 'ORD_ERR_STORE_NOT_OWNED' });
    expect(res.json.detail).toMatch(/not served by this instance/);
    expect(a.forwarded).toHaveLength(1);
    expect(b.forwarded).toHaveLength(0);
    expect(b.threads.seen).toEqual([]);
  });

  it('answers a request marked forwarded from its own tasks only, even when its directory names another owner', async () => {
    const [a, b] = await twoInstances();
    const res = await get(a, `/api/orders/store/${idOn(1)}`, { [FORWARDED_BY_HEADER]: 'someone' });
    expect(res.status).toBe(503);
    expect(res.json.code).toBe('ORD_ERR_STORE_NOT_OWNED');
    expect(a.forwarded).toEqual([]);
    expect((await get(b, `/api/orders/store/${idOn(1)}`, { [FORWARDED_BY_HEADER]: 'someone' })).status).toBe(200);
  });

  it('answers 503 NOT_READY with Retry-After when no instance serves the partition', async () => {
    const a = await instance('a');
    runs(a, [0]);
    a.store.updatePeers([record({ id: 'b', endpoint: '127.0.0.1:1' }, { restoring: [1] })]);
    const res = await get(a, `/api/orders/store/${idOn(1)}`);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.headers['x-served-by']).toBe('a');
    expect(res.json).toMatchObject({ code: 'ORD_ERR_STORE_NOT_READY' });
    expect(res.json.detail).toMatch(/no instance serves orders-store partition 1 yet/);
    expect(a.forwarded).toEqual([]);
  });

  it('answers 503 NOT_READY at once when the owner cannot be reached (a killed instance still in the directory)', async () => {
    const a = await instance('a');
    runs(a, [0]);
    const gone = await freePort(); // nobody listens there
    a.store.updatePeers([record({ id: 'b', endpoint: `127.0.0.1:${gone}` }, { running: [1] })]);
    const res = await get(a, `/api/orders/store/${idOn(1)}`);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json.code).toBe('ORD_ERR_STORE_NOT_READY');
    expect(res.json.detail).toMatch(/instance b \(127\.0\.0\.1:\d+\) cannot be reached \(ECONNREFUSED\)/);
  });

  it('answers 503 QUERY_TIMEOUT, not hangs, when the owner accepts the connection and never answers', async () => {
    const a = await instance('a', { forwardTimeoutMs: 300 });
    runs(a, [0]);
    const sockets: Socket[] = [];
    const mute = createServer((s) => sockets.push(s));
    mute.listen(0, '127.0.0.1');
    await once(mute, 'listening');
    extraServers.push(mute);
    a.store.updatePeers([record({ id: 'b', endpoint: `127.0.0.1:${(mute.address() as { port: number }).port}` }, { running: [1] })]);
    const res = await get(a, `/api/orders/store/${idOn(1)}`);
    expect(res.status).toBe(503);
    expect(res.json).toMatchObject({ code: 'ORD_ERR_STORE_QUERY_TIMEOUT', detail: 'instance b (' + `127.0.0.1:${(mute.address() as { port: number }).port}` + ') did not answer within 300 ms' });
    for (const s of sockets) s.destroy();
  });
});

describe('forwarded reads coalesced per peer', () => {
  it('sends the reads of one turn to a peer as one request, each answered as it would be alone', async () => {
    const [a, b] = await twoInstances();
    const missing = idOn(3, 2);
    b.threads.values.delete(`3:${missing}`);
    const wanted = [idOn(1), idOn(3), idOn(1, 1), missing, idOn(3, 1)];
    const replies = await Promise.all(wanted.map((id) => a.store.get(id, false, `/api/orders/store/${id}`)));
    expect(a.forwarded).toEqual([`/internal/orders-store/keys {"ids":[${wanted.join(',')}]}`]);
    replies.forEach((reply, i) => {
      const id = wanted[i]!;
      expect(reply.headers?.['X-Served-By']).toBe('b');
      if (id === missing) {
        expect(reply).toMatchObject({ status: 404, contentType: 'application/problem+json' });
        expect(JSON.parse(reply.body!)).toMatchObject({ code: 'ORD_ERR_ORDER_NOT_FOUND', instance: `/api/orders/store/${id}` });
      } else {
        expect(reply).toMatchObject({ status: 200, contentType: 'application/json', body: dto(id) });
      }
    });
    // Reads of our own partitions in the same turn never leave.
    await Promise.all([a.store.get(idOn(0), false, ''), a.store.get(idOn(1), false, '')]);
    expect(a.forwarded).toHaveLength(2);
  });

  it('splits a turn\'s reads into requests of at most MAX_BATCH keys', async () => {
    const [a, b] = await twoInstances();
    const many = Array.from({ length: MAX_BATCH + 5 }, (_, i) => idOn(1, i % 3));
    const replies = await Promise.all(many.map((id) => a.store.get(id, false, '')));
    expect(replies.every((r) => r.status === 200)).toBe(true);
    expect(a.forwarded.map((f) => (JSON.parse(f.slice(f.indexOf(' ') + 1)) as { ids: number[] }).ids.length)).toEqual([MAX_BATCH, 5]);
    expect(b.forwarded).toEqual([]);
  });

  it('fails every read of a batch whose peer cannot be reached, with the same 503', async () => {
    const a = await instance('a');
    runs(a, [0]);
    a.store.updatePeers([record({ id: 'b', endpoint: `127.0.0.1:${await freePort()}` }, { running: [1, 3] })]);
    const outcomes = await Promise.all([idOn(1), idOn(3), idOn(1, 1)].map((id) => a.store.get(id, false, '').then(() => 'answered', (err: { code: string }) => err.code)));
    expect(outcomes).toEqual(['ORD_ERR_STORE_NOT_READY', 'ORD_ERR_STORE_NOT_READY', 'ORD_ERR_STORE_NOT_READY']);
    expect(a.forwarded).toHaveLength(1);
  });

  it('the batch route answers from this instance\'s tasks only and refuses a malformed batch', async () => {
    const [a] = await twoInstances();
    const post = (body: string): Promise<Answer> =>
      new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: a.port, path: '/internal/orders-store/keys', method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text, json: JSON.parse(text) }));
        });
        req.on('error', reject);
        req.end(body);
      });
    const ok = await post(JSON.stringify({ ids: [idOn(0), idOn(1)] }));
    expect(ok.status).toBe(200);
    expect(ok.headers['x-served-by']).toBe('a');
    expect(ok.json.replies.map((r: { status: number }) => r.status)).toEqual([200, 503]);
    expect(JSON.parse(ok.json.replies[1].body).code).toBe('ORD_ERR_STORE_NOT_OWNED');
    expect(a.forwarded).toEqual([]);
    for (const bad of ['{"ids":[]}', '{"ids":[0]}', '{"ids":["1"]}', '{}', `{"ids":[${Array.from({ length: MAX_BATCH + 1 }, () => 1).join(',')}]}`]) {
      expect((await post(bad)).status, bad).toBe(400);
    }
    expect((await post('not json')).status).toBe(400);
  });
});

describe('standby copies (the seam for standby tasks)', () => {
  it('answers from this instance\'s standby with X-Store-Lag when no active serves the partition', async () => {
    const a = await instance('a');
    runs(a, [1], 'STANDBY');
    store(a, [1]);
    a.threads.standbyLag.set(1, 17);
    const res = await get(a, `/api/orders/store/${idOn(1)}`);
    expect(res.status).toBe(200);
    expect(res.body).toBe(dto(idOn(1)));
    expect(res.headers['x-store-lag']).toBe('17');
    expect(res.headers['x-served-by']).toBe('a');
  });

  it('prefers the active elsewhere to its own standby; falls back to the standby when the active cannot be reached', async () => {
    const [a, b] = await twoInstances();
    runs(a, [0, 2]);
    // a also keeps a standby of partition 1 (thread 0)
    a.queries.updateTasks('RUNNING', [0, 2].map((partition) => ({ partition, thread: threadOf(partition), state: 'RUNNING' as const })).concat([{ partition: 1, thread: 0, state: 'STANDBY' as unknown as 'RUNNING' }]));
    a.threads.values.set(`1:${idOn(1)}`, '{"stale":true}');
    a.threads.standbyLag.set(1, 3);
    const active = await get(a, `/api/orders/store/${idOn(1)}`);
    expect(active.headers['x-served-by']).toBe('b');
    expect(active.headers['x-store-lag']).toBeUndefined();
    expect(active.body).toBe(dto(idOn(1)));

    b.close();
    const standby = await get(a, `/api/orders/store/${idOn(1)}`);
    expect(standby.status).toBe(200);
    expect(standby.body).toBe('{"stale":true}');
    expect(standby.headers['x-store-lag']).toBe('3');
    expect(standby.headers['x-served-by']).toBe('a');
  });

  it('forwards to another instance\'s standby and relays its lag', async () => {
    const a = await instance('a');
    const b = await instance('b');
    runs(a, [0]);
    runs(b, [1], 'STANDBY');
    store(b, [1]);
    b.threads.standbyLag.set(1, undefined); // a standby that does not know its lag
    a.store.updatePeers([record(b, { standby: [{ partition: 1 }] })]);
    const res = await get(a, `/api/orders/store/${idOn(1)}`);
    expect(res.status).toBe(200);
    expect(res.headers['x-served-by']).toBe('b');
    expect(res.headers['x-store-lag']).toBe('unknown');
  });
});

describe('GET /api/orders/store: pages across the cluster', () => {
  // Store order: partition 0 holds r0 r1, partition 1 r2..r6, partition 2 nothing,
  // partition 3 r7 r8 r9.
  const sizes = [2, 5, 0, 3];
  const layout: string[][] = [];
  {
    let next = 0;
    for (const n of sizes) layout.push(Array.from({ length: n }, () => `"r${next++}"`));
  }
  const all = layout.flat();
  const rowsIn = (i: Instance, partitions: number[]): void => {
    for (const p of partitions) i.threads.rows.set(p, layout[p]!);
  };

  // asks: [partition, limit] of each range request in order; every one at offset 0.
  it.each([
    { pageNo: 0, pageSize: 3, asks: [[0, 3], [1, 1]] },
    { pageNo: 1, pageSize: 3, asks: [[0, 6], [1, 4]] },
    { pageNo: 2, pageSize: 3, asks: [[0, 9], [1, 7], [2, 2], [3, 2]] },
    { pageNo: 3, pageSize: 3, asks: [[0, 12], [1, 10], [2, 5], [3, 5]] },
    { pageNo: 4, pageSize: 3, asks: [[0, 15], [1, 13], [2, 8], [3, 8]] },
    { pageNo: 0, pageSize: 2, asks: [[0, 2]] },
    { pageNo: 1, pageSize: 2, asks: [[0, 4], [1, 2]] },
    { pageNo: 0, pageSize: 10, asks: [[0, 10], [1, 8], [2, 3], [3, 3]] },
    { pageNo: 0, pageSize: 100, asks: [[0, 100], [1, 98], [2, 93], [3, 93]] },
    { pageNo: 1, pageSize: 7, asks: [[0, 14], [1, 12], [2, 7], [3, 7]] },
  ])('one instance with every partition: page($pageNo, $pageSize) walks partitions in order, asking each for what is still missing', async ({ pageNo, pageSize, asks }) => {
    const a = await instance('a');
    runs(a, [0, 1, 2, 3]);
    rowsIn(a, [0, 1, 2, 3]);
    const { rows } = await a.store.page(pageNo, pageSize);
    expect(rows).toEqual(all.slice(pageNo * pageSize, (pageNo + 1) * pageSize));
    expect(a.threads.seen.map((s) => s.request)).toEqual(asks.map(([partition, limit]) => ({ id: expect.any(Number), type: 'range', partition, offset: 0, limit })));
    expect(a.threads.seen.map((s) => s.thread)).toEqual(asks.map(([partition]) => threadOf(partition!)));
  });

  it('holds at most pageSize rows even when a thread answers more than asked', async () => {
    const a = await instance('a');
    runs(a, [0, 1, 2, 3]);
    rowsIn(a, [0, 1, 2, 3]);
    a.threads.ignoreLimit = true;
    for (const pageNo of [0, 1, 2]) expect((await a.store.page(pageNo, 3)).rows).toEqual(all.slice(pageNo * 3, pageNo * 3 + 3));
  });

  it('gives every page from either of two instances exactly as one instance with every partition would', async () => {
    const [a, b] = await twoInstances();
    rowsIn(a, [0, 2]);
    rowsIn(b, [1, 3]);
    for (const pageSize of [1, 2, 3, 4, 7, 10, 11]) {
      for (let pageNo = 0; pageNo * pageSize <= all.length; pageNo++) {
        const expected = `[${all.slice(pageNo * pageSize, (pageNo + 1) * pageSize).join(',')}]`;
        for (const via of [a, b]) {
          const res = await get(via, `/api/orders/store?pageNo=${pageNo}&pageSize=${pageSize}`);
          expect(res.status, `page ${pageNo} size ${pageSize} via ${via.id}`).toBe(200);
          expect(res.body, `page ${pageNo} size ${pageSize} via ${via.id}`).toBe(expected);
        }
      }
    }
  });

  it('sends only the rows a page shows across instances: the peer skips', async () => {
    const [a, b] = await twoInstances();
    rowsIn(a, [0, 2]);
    rowsIn(b, [1, 3]);
    await a.store.page(1, 3); // r3 r4 r5: skips r0 r1 on partition 0 (here), r2 on partition 1 (b)
    expect(a.forwarded).toEqual(['/internal/orders-store/partitions/1?skip=1&limit=3']);
  });

  it('answers 503 when a partition the page needs has nobody; a page filled before that partition answers', async () => {
    const a = await instance('a');
    runs(a, [0, 2, 3]);
    rowsIn(a, [0, 2, 3]);
    expect((await get(a, '/api/orders/store?pageNo=0&pageSize=2')).status).toBe(200); // r0 r1: partition 0 only
    const res = await get(a, '/api/orders/store?pageNo=0&pageSize=3');
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json).toMatchObject({ code: 'ORD_ERR_STORE_NOT_READY' });
    expect(res.json.detail).toMatch(/partition 1/);
  });

  it('answers 503 when the peer serving a partition the page needs cannot be reached', async () => {
    const a = await instance('a');
    runs(a, [0]);
    rowsIn(a, [0]);
    a.store.updatePeers([record({ id: 'b', endpoint: `127.0.0.1:${await freePort()}` }, { running: [1, 2, 3] })]);
    const res = await get(a, '/api/orders/store?pageNo=0&pageSize=5');
    expect(res.status).toBe(503);
    expect(res.json.detail).toMatch(/cannot be reached/);
  });

  it('the internal slice route answers from this instance\'s tasks only and validates its parameters', async () => {
    const [a] = await twoInstances();
    rowsIn(a, [0, 2]);
    const slice = await get(a, '/internal/orders-store/partitions/0?skip=1&limit=5');
    expect(slice.status).toBe(200);
    expect(slice.json).toEqual({ skipped: 1, rows: ['"r1"'] });
    expect((await get(a, '/internal/orders-store/partitions/1?skip=0&limit=5')).json.code).toBe('ORD_ERR_STORE_NOT_OWNED');
    expect(a.forwarded).toEqual([]);
    for (const bad of ['/internal/orders-store/partitions/4', '/internal/orders-store/partitions/x', '/internal/orders-store/partitions/0?limit=0', '/internal/orders-store/partitions/0?skip=-1']) {
      expect((await get(a, bad)).status, bad).toBe(400);
    }
  });
});
