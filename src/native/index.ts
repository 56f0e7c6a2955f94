// The N-API addon (native/, built by node-gyp during npm ci), loaded with
// node-gyp-build and typed here. Arguments are checked on this side; the C++ side
// only converts and computes.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import load from 'node-gyp-build';

interface Binding {
  murmur2(key: Buffer | string): number;
  partition(key: string, numPartitions: number): number;
}

/** The package root: where binding.gyp is, from src/ (tests) or dist/src/ (runtime). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'binding.gyp'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('binding.gyp not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

const binding = load(packageRoot()) as Binding;

/** Kafka's murmur2 of the key's bytes (a string is taken as UTF-8), as a signed 32-bit int. */
export function nativeMurmur2(key: Buffer | string): number {
  return binding.murmur2(key);
}

/** Kafka's default partition of a string key. */
export function nativePartition(key: string, numPartitions: number): number {
  if (!Number.isInteger(numPartitions) || numPartitions < 1) throw new RangeError(`numPartitions must be a positive integer, got ${numPartitions}`);
  return binding.partition(key, numPartitions);
}
