// Kafka's murmur2 and default partitioner, in C++ (native/murmur2.cc).
import { binding } from './binding.js';

/** Kafka's murmur2 of the key's bytes (a string is taken as UTF-8), as a signed 32-bit int. */
export function nativeMurmur2(key: Buffer | string): number {
  return binding.murmur2(key);
}

/** Kafka's default partition of a string key. */
export function nativePartition(key: string, numPartitions: number): number {
  if (!Number.isInteger(numPartitions) || numPartitions < 1) throw new RangeError(`numPartitions must be a positive integer, got ${numPartitions}`);
  return binding.partition(key, numPartitions);
}
