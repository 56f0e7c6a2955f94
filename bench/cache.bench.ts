// What the shared-memory record cache costs against a plain Map: the stream thread's
// put + get (the SAB copies the value in and out; the Map keeps a reference), a
// reader's hit (seqlock + copy, what the HTTP thread pays instead of a message hop),
// puts that evict (working set 4× the slice), and the flush at commit; the put + get and
// the reader's hit again with the original service's TSID keys past 2^53 (bigints,
// where a number key is split without one). 300-byte values, the default
// 10 MiB cache over 6 tasks. Run: npm run build && node dist/bench/cache.bench.js
import { Bench } from 'tinybench';
import { CacheReader, CacheSliceWriter, createCacheBuffer } from '../src/state/cache.js';
import { printMachine, saveResults, tinybenchRows } from './machine.js';

const KEYS = 4096;
const VALUE_BYTES = 300;
const CACHE_MAX_BYTES = 10 * 1024 * 1024;
const PARTITIONS = 6;
const FLUSH_KEYS = 1000;
const { sab, layout } = createCacheBuffer(CACHE_MAX_BYTES, PARTITIONS);
const params = {
  keys: KEYS,
  valueBytes: VALUE_BYTES,
  cacheMaxBytes: CACHE_MAX_BYTES,
  partitions: PARTITIONS,
  slotBytes: layout.slotBytes,
  slotsPerSlice: layout.slotsPerSlice,
  evictingKeys: 4 * layout.slotsPerSlice,
  flushKeys: FLUSH_KEYS,
  time: 1000,
};
const m = printMachine('cache', params);

const values = Array.from({ length: 16 }, (_, i) => new Uint8Array(VALUE_BYTES).fill(i));
const keys = Array.from({ length: KEYS }, (_, i) => 1_000_000_000_000 + i * 4099);
const writer = new CacheSliceWriter(sab, 0, layout);
const evicting = new CacheSliceWriter(sab, 1, layout);
const flushing = new CacheSliceWriter(sab, 2, layout);
const reader = new CacheReader(sab, layout);
const map = new Map<number, Uint8Array>();
for (const [i, k] of keys.entries()) {
  writer.put(k, values[i & 15]!, { dirty: false });
  map.set(k, values[i & 15]!);
}
// Slice 3, upstream-shaped keys. A cache that takes only keys below 2^53 leaves these cases out.
const tsids = Array.from({ length: KEYS }, (_, i) => 910_000_000_000_000_000n + BigInt(i * 4099));
const tsidWriter = new CacheSliceWriter(sab, 3, layout);
const takesTsids = ((): boolean => {
  try {
    for (const [i, k] of tsids.entries()) tsidWriter.put(k, values[i & 15]!, { dirty: false });
    return true;
  } catch {
    console.log('this cache refuses keys past 2^53: the TSID cases are left out');
    return false;
  }
})();

let sink = 0;
let i = 0;
const next = (): number => keys[i++ & (KEYS - 1)]!;
const nextTsid = (): bigint => tsids[i++ & (KEYS - 1)]!;
const bench = new Bench({ time: params.time, warmup: true });
bench
  .add('map: set + get (baseline, keeps the reference)', () => {
    const k = next();
    map.set(k, values[i & 15]!);
    sink ^= map.get(k)!.length;
  })
  .add('sab: writer put + get (copies in and out)', () => {
    const k = next();
    writer.put(k, values[i & 15]!, { dirty: true });
    sink ^= writer.get(k)!.length;
  })
  .add('sab: writer get, hit', () => {
    sink ^= writer.get(next())!.length;
  })
  .add('sab: reader get, hit (seqlock, copy out)', () => {
    sink ^= reader.get(0, next())!.length;
  })
  .add('sab: put that evicts (dirty; working set 4x the slice)', () => {
    const k = i++ % params.evictingKeys;
    sink ^= evicting.put(k, values[k & 15]!, { dirty: true }).evicted.length;
  })
  .add(
    `sab: flushDirty of ${FLUSH_KEYS} dirty entries (one commit)`,
    () => {
      sink ^= flushing.flushDirty().length;
    },
    // Not timed: dirty the entries again for the next flush.
    { beforeEach: () => keys.slice(0, FLUSH_KEYS).forEach((k, j) => flushing.put(k, values[j & 15]!, { dirty: true })) },
  );
if (takesTsids) {
  bench
    .add('sab: writer put + get, TSID keys past 2^53', () => {
      const k = nextTsid();
      tsidWriter.put(k, values[i & 15]!, { dirty: true });
      sink ^= tsidWriter.get(k)!.length;
    })
    .add('sab: reader get, hit, TSID keys past 2^53', () => {
      sink ^= reader.get(3, nextTsid())!.length;
    });
}
await bench.run();

const rows = tinybenchRows(bench);
console.table(rows);
console.log(`slice 0: ${JSON.stringify(reader.stats(0))} (sink ${sink & 1})`);
console.log(`saved: ${saveResults('cache', { machine: m, params, rows })}`);
