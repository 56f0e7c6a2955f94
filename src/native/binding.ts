// The N-API addon (native/, built by node-gyp during npm ci), loaded once with
// node-gyp-build and typed here. Arguments are checked in the wrappers beside this
// file; the C++ side only converts and computes.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import load from 'node-gyp-build';

/** A fetched batch of one partition: records packed as src/stream/restore-batch.ts reads them. */
export interface NativeFetchedBatch {
  readonly partition: number;
  readonly topics: string[];
  readonly count: number;
  readonly bytes: ArrayBuffer;
  /** Per topic of the batch: the offset after its last record. */
  readonly positions: { topic: string; offset: number }[];
}

export interface NativeFetchResult {
  readonly batches: NativeFetchedBatch[];
  readonly eofs: { topic: string; partition: number; offset: number }[];
  readonly errors: { code: number; message: string; fatal: boolean }[];
}

type Callback<T> = (err: Error | null, value: T) => void;

export interface NativeChangelogFetcher {
  assign(partitions: { topic: string; partition: number; offset: number }[]): void;
  unassign(partitions: { topic: string; partition: number }[]): void;
  fetch(maxRecords: number, maxBytes: number, waitMs: number, cb: Callback<NativeFetchResult>): void;
  watermarks(topic: string, partition: number, timeoutMs: number, cb: Callback<{ lowOffset: number; highOffset: number }>): void;
  takeErrors(): NativeFetchResult['errors'];
  close(cb: (err: Error | null) => void): void;
}

export interface Binding {
  murmur2(key: Buffer | string): number;
  partition(key: string, numPartitions: number): number;
  ChangelogFetcher: new (config: Record<string, string>) => NativeChangelogFetcher;
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
  if (typeof loaded.ChangelogFetcher !== 'function') throw new Error('the native addon in build/ is older than native/: rebuild it with `npx node-gyp rebuild` (or npm ci)');
  return loaded as Binding;
}

export const binding = loadBinding();
