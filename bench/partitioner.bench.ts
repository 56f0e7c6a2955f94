// Which partitioner routes records: the pure-JS murmur2 over the key string, the
// JS murmur2 over an encoded Buffer, or the N-API addon. Keys are order ids as
// decimal strings, the hot-path case. Run: npm run build && npm run bench:partitioner
import { Bench } from 'tinybench';
import { IdGenerator } from '../src/domain/ids.js';
import { murmur2, partitionFor } from '../src/kafka/partitioner.js';
import { nativePartition } from '../src/native/index.js';
import { printMachine, saveResults, tinybenchRows } from './machine.js';

const KEYS = 4096;
const PARTITIONS = 6;
const ids = new IdGenerator(1);
const keys = Array.from({ length: KEYS }, () => String(ids.next()));
const params = { keys: KEYS, keyLength: keys[0]!.length, partitions: PARTITIONS, time: 1000 };
const m = printMachine('partitioner', params);

let sink = 0;
let i = 0;
const next = (): string => keys[i++ & (KEYS - 1)]!;
const bench = new Bench({ time: params.time, warmup: true });
bench
  .add('js: murmur2 over the string (partitionFor)', () => {
    sink ^= partitionFor(next(), PARTITIONS);
  })
  .add('js: murmur2 over Buffer.from(key)', () => {
    sink ^= (murmur2(Buffer.from(next())) & 0x7fffffff) % PARTITIONS;
  })
  .add('native: N-API partition(key)', () => {
    sink ^= nativePartition(next(), PARTITIONS);
  });
await bench.run();

const rows = tinybenchRows(bench);
console.table(rows);
console.log(`winner: ${[...rows].sort((a, b) => b['ops/s'] - a['ops/s'])[0]!.task} (sink ${sink & 1})`);
console.log(`saved: ${saveResults('partitioner', { machine: m, params, rows })}`);
