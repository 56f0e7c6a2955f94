// One memory budget for the whole process, split into the parts that grow with work
// unless something bounds them: the V8 heaps of the kafka, HTTP and stream threads,
// the shared record cache, RocksDB's block caches and memtables, and librdkafka's
// consumer and producer queues. What is left is the reserve for what no setting
// bounds (code, thread stacks, RocksDB's index and filter blocks, allocator slack).
//
// The limit is MEMORY_LIMIT when given, else the cgroup's limit (a container's, seen
// through libuv), else 2 GiB (the seed's pod). Shares are fractions of it, so a pod
// given 4 GiB uses the room without any other change. The heap limits are ceilings,
// not reservations; the caches and queues are used up to their sizes under load.
//
//   2 GiB budget        share   MiB    where it is applied
//   kafka thread heap   15%     307    --max-old-space-size (scripts/start.sh)
//   HTTP thread heap    10%     205    Worker resourceLimits (http-thread-client.ts)
//   stream thread heaps 25%     512    piscina resourceLimits, split per thread
//   record cache        12.5%   256    the SharedArrayBuffer (CACHE_MAX_BYTES wins)
//   RocksDB             12.5%   256    block cache + memtables, split per store
//   librdkafka queues   6.25%   128    queued.max.messages.kbytes, queue.buffering.max.kbytes
//   reserve             18.75%  384    not bounded by a setting
import { ConfigError } from '../errors.js';

const MiB = 1024 * 1024;

/** The seed's pod: limits 2 cores / 2 GiB. */
export const kDefaultMemoryLimit = 2 * 1024 * MiB;

/** Stores per task: orders-store and the join window. */
const kStoresPerTask = 2;

export interface MemoryBudget {
  readonly limitBytes: number;
  readonly source: 'MEMORY_LIMIT' | 'cgroup' | 'default';
  readonly heapMb: { readonly kafkaThread: number; readonly httpThread: number; readonly streamThread: number };
  readonly recordCacheBytes: number;
  /** Per RocksDB database; an instance holds at most one copy (active or standby) of each partition's stores. */
  readonly store: { readonly blockCacheBytes: number; readonly writeBufferBytes: number };
  readonly kafkaKbytes: {
    /** The stream group's consumer (queued.max.messages.kbytes). */
    readonly streamConsumer: number;
    /** The changelog reader that restores and feeds standbys (queued.max.messages.kbytes). */
    readonly changelogConsumer: number;
    /** The transactional producer's queue (queue.buffering.max.kbytes). */
    readonly transactionalProducer: number;
    /** The outbox relay's producer (queue.buffering.max.kbytes). */
    readonly outboxProducer: number;
  };
  readonly reserveBytes: number;
}

export interface BudgetInputs {
  /** MEMORY_LIMIT as given ("2Gi", "1536Mi", "2G", "2147483648"), if it was. */
  readonly memoryLimit: string | undefined;
  /** CACHE_MAX_BYTES when given: it wins over the cache's share. */
  readonly cacheMaxBytes: number | undefined;
  readonly numPartitions: number;
  readonly numStreamThreads: number;
  /** The cgroup's limit in bytes (process.constrainedMemory()); 0 or huge when there is none. */
  readonly constrainedMemory: number | undefined;
}

const units: Record<string, number> = { '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: MiB, Gi: 1024 * MiB, Ti: 1024 * 1024 * MiB };

/** Bytes of a Kubernetes-style quantity ("2Gi", "512Mi", "2G", "2147483648"). */
export function parseMemoryQuantity(text: string): number {
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*(Ki|Mi|Gi|Ti|k|K|M|G|T)?B?\s*$/.exec(text);
  if (m === null) throw new ConfigError([`MEMORY_LIMIT=${JSON.stringify(text)}: not a memory quantity (e.g. 2Gi, 1536Mi, 2G or bytes)`]);
  const bytes = Math.floor(Number(m[1]) * (units[m[2] ?? ''] ?? 1));
  if (bytes < 256 * MiB) throw new ConfigError([`MEMORY_LIMIT=${JSON.stringify(text)}: at least 256Mi is needed`]);
  return bytes;
}

/** A cgroup limit worth believing: cgroup v1 reports an unlimited group as a huge number. */
function cgroupLimit(bytes: number | undefined): number | undefined {
  return bytes !== undefined && bytes > 0 && bytes < 2 ** 50 ? bytes : undefined;
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, Math.floor(v)));

export function memoryBudget(inputs: BudgetInputs): MemoryBudget {
  const cgroup = cgroupLimit(inputs.constrainedMemory);
  const [limitBytes, source]: [number, MemoryBudget['source']] =
    inputs.memoryLimit !== undefined ? [parseMemoryQuantity(inputs.memoryLimit), 'MEMORY_LIMIT'] : cgroup !== undefined ? [cgroup, 'cgroup'] : [kDefaultMemoryLimit, 'default'];
  const share = (fraction: number): number => limitBytes * fraction;
  const mb = (bytes: number, min: number): number => Math.max(min, Math.floor(bytes / MiB));

  const heapMb = {
    kafkaThread: mb(share(0.15), 64),
    httpThread: mb(share(0.1), 48),
    streamThread: mb(share(0.25) / inputs.numStreamThreads, 48),
  };
  const recordCacheBytes = inputs.cacheMaxBytes ?? Math.floor(share(0.125));
  const perStore = share(0.125) / (inputs.numPartitions * kStoresPerTask);
  const store = {
    blockCacheBytes: clamp((perStore * 2) / 3, MiB, 1024 * MiB),
    writeBufferBytes: clamp(perStore / 3, MiB, 256 * MiB),
  };
  const kafka = share(0.0625) / 1024;
  const kafkaKbytes = {
    streamConsumer: clamp(kafka * 0.3, 1024, 2_097_151),
    changelogConsumer: clamp(kafka * 0.2, 1024, 2_097_151),
    transactionalProducer: clamp(kafka * 0.35, 1024, 2_147_483_647),
    outboxProducer: clamp(kafka * 0.15, 1024, 2_147_483_647),
  };
  const used =
    (heapMb.kafkaThread + heapMb.httpThread + heapMb.streamThread * inputs.numStreamThreads) * MiB +
    recordCacheBytes +
    (store.blockCacheBytes + store.writeBufferBytes) * inputs.numPartitions * kStoresPerTask +
    Object.values(kafkaKbytes).reduce((a, b) => a + b, 0) * 1024;
  return { limitBytes, source, heapMb, recordCacheBytes, store, kafkaKbytes, reserveBytes: limitBytes - used };
}

/** The budget as a log line's fields, in MiB. */
export function describeBudget(b: MemoryBudget): Record<string, unknown> {
  const m = (bytes: number): number => Math.round(bytes / MiB);
  return {
    limitMiB: m(b.limitBytes),
    source: b.source,
    heapMiB: b.heapMb,
    recordCacheMiB: m(b.recordCacheBytes),
    storeMiB: { blockCache: m(b.store.blockCacheBytes), writeBuffer: m(b.store.writeBufferBytes) },
    kafkaQueueMiB: Object.fromEntries(Object.entries(b.kafkaKbytes).map(([k, v]) => [k, Math.round(v / 1024)])),
    reserveMiB: m(b.reserveBytes),
  };
}
