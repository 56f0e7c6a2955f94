// A reader thread for cache.test.ts: reads random keys of one slice while the main
// thread overwrites them, and reports every value that is not what some single write
// produced (all bytes equal to one counter byte, and the length that byte implies).
import { parentPort, workerData } from 'node:worker_threads';
import { CacheReader } from '../../../src/state/cache.js';
import { expectedLength } from './torn-values.js';

const { sab, layout, control, partition, keys, reads } = workerData;
const ctl = new Int32Array(control);
const reader = new CacheReader(sab, layout);

// Start only once the main thread is in its write loop, so reads overlap writes.
parentPort!.postMessage('ready');
Atomics.wait(ctl, 1, 0);
const writesBefore = Atomics.load(ctl, 2);
let hits = 0;
let misses = 0;
let torn = 0;
let rng = 0x2545f491;
for (let i = 0; i < reads; i++) {
  rng ^= rng << 13;
  rng ^= rng >>> 17;
  rng ^= rng << 5;
  const value = reader.get(partition, (rng >>> 0) % keys);
  if (value === undefined || value === null) {
    misses++;
    continue;
  }
  hits++;
  const b = value[0];
  if (b === undefined || value.length !== expectedLength(b) || value.some((x) => x !== b)) torn++;
}
const writesDuring = Atomics.load(ctl, 2) - writesBefore;
Atomics.store(ctl, 0, 1);
parentPort!.postMessage({ hits, misses, torn, writesDuring });
