// What a state-store read costs on a stream thread: RocksStore.get (a synchronous
// lookup on the calling thread) against the binding's asynchronous getMany (a round
// trip through libuv's threadpool, which RocksStore used before), over 100k keys of
// 300 bytes; and a range of 1,000 entries (synchronous pages).
// Run: npm run build && npm run bench:rocksdb-store
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RocksLevel } from '@nxtedition/rocksdb';
import { Bench } from 'tinybench';
import { RocksStore } from '../src/state/rocksdb-store.js';
import { printMachine, saveResults, tinybenchRows } from './machine.js';

const params = { keys: 100_000, valueBytes: 300, rangeEntries: 1000, blockCacheBytes: 8 * 1024 * 1024, time: 1000, uvThreadpoolSize: process.env.UV_THREADPOOL_SIZE ?? '4 (default)' };
const m = printMachine('rocksdb-store', params);

const dir = mkdtempSync(join(tmpdir(), 'rocksdb-store-bench-'));
const store = await RocksStore.open(join(dir, 'store'), { blockCacheBytes: params.blockCacheBytes, writeBufferBytes: 4 * 1024 * 1024 });
// The same contents in a database opened with the binding alone, for its asynchronous read.
const raw = new RocksLevel(join(dir, 'raw'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
await raw.open({ createIfMissing: true, cacheSize: params.blockCacheBytes });
const keyOf = (i: number): Buffer => Buffer.from(String(1_000_000_000_000 + i * 4099));
const value = Buffer.alloc(params.valueBytes, 7);
for (let from = 0; from < params.keys; from += 10_000) {
  const entries = Array.from({ length: 10_000 }, (_, j) => ({ key: keyOf(from + j), value }));
  await store.write(entries);
  await raw.batch(entries.map((e) => ({ type: 'put' as const, ...e })));
  process.stdout.write(`\rloading: ${from + 10_000}/${params.keys}`);
}
process.stdout.write('\n');

let i = 0;
let sink = 0;
const next = (): Buffer => keyOf((i = (i + 7919) % params.keys));
const bench = new Bench({ time: params.time, warmup: true });
bench.add('RocksStore.get (synchronous lookup)', async () => {
  sink ^= (await store.get(next()))!.length;
});
bench.add('binding getMany (libuv threadpool round trip)', async () => {
  sink ^= (await raw.getMany([next()]))[0]!.length;
});
bench.add(`RocksStore.range of ${params.rangeEntries}`, async () => {
  sink ^= (await store.range({ gte: next(), limit: params.rangeEntries })).length;
});
await bench.run();

const rows = tinybenchRows(bench);
console.table(rows);
console.log(`(sink ${sink & 1})`);
await Promise.all([store.close(), raw.close()]);
rmSync(dir, { recursive: true, force: true });
console.log(`saved: ${saveResults('rocksdb-store', { machine: m, params, rows })}`);
