// The N-API addon (native/, built by node-gyp during npm ci), loaded once with
// node-gyp-build and typed here. Arguments are checked in the wrappers beside this
// file; the C++ side only converts and computes.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import load from 'node-gyp-build';

/** A fetched batch of one partition: the records kept, packed as src/stream/restore-batch.ts reads them. */
export interface NativeFetchedBatch {
  readonly partition: number;
  readonly topics: string[];
  /** Records kept (packed in `bytes`). */
  readonly count: number;
  readonly bytes: ArrayBuffer;
  /** Per topic of the batch: the offset after its last record polled, kept or not. */
  readonly positions: { topic: string; offset: number }[];
  /** The kept records' offsets, when the consumer was asked for them (absent when none were kept). */
  readonly offsets?: number[];
}

export interface NativeClientError {
  readonly code: number;
  readonly message: string;
  readonly fatal: boolean;
  /** Returned by the poll (the consumer's own: a partition's fetch, the poll interval exceeded) rather than a client event. */
  readonly polled: boolean;
}

export interface NativeFetchResult {
  readonly batches: NativeFetchedBatch[];
  readonly eofs: { topic: string; partition: number; offset: number }[];
  readonly errors: NativeClientError[];
  /** Subscribed: the group's assignment once the poll was done. */
  readonly assignment?: { topic: string; partition: number }[];
}

type Callback<T> = (err: Error | null, value: T) => void;

export interface NativePackedConsumer {
  subscribe(topics: string[]): void;
  commit(offsets: { topic: string; partition: number; offset: number }[]): void;
  assign(partitions: { topic: string; partition: number; offset: number }[]): void;
  unassign(partitions: { topic: string; partition: number }[]): void;
  fetch(maxRecords: number, maxBytes: number, waitMs: number, cb: Callback<NativeFetchResult>): void;
  watermarks(topic: string, partition: number, timeoutMs: number, cb: Callback<{ lowOffset: number; highOffset: number }>): void;
  takeErrors(): NativeClientError[];
  close(cb: (err: Error | null) => void): void;
}

export interface Binding {
  murmur2(key: Buffer | string): number;
  partition(key: string, numPartitions: number): number;
  setThreadName(name: string): boolean;
  installCrashReport(): boolean;
  PackedConsumer: new (config: Record<string, string>, options: { valueContains: string[]; offsets: boolean }) => NativePackedConsumer;
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

function loadBinding(): Binding {
  const loaded = load(packageRoot()) as Partial<Binding>;
  // A checkout updated over an earlier build keeps the earlier addon (npm ci builds it, npm run build does not).
  if (typeof loaded.installCrashReport !== 'function') throw new Error('the native addon in build/ is older than native/: rebuild it with `npx node-gyp rebuild` (or npm ci)');
  return loaded as Binding;
}

export const binding = loadBinding();
