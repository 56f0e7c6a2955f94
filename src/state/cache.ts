// The record cache: Kafka Streams' ThreadCache/NamedCache (write-back, one entry per
// key between commits, eviction that hands dirty entries back for the store) held in
// a SharedArrayBuffer, so the HTTP thread answers store queries from it without a
// message hop. Where each byte lives and why: cache-layout.ts; what every thread
// reads the same way: cache-slice.ts; the two sides: cache-writer.ts, cache-reader.ts.
//
// Threads: slice i has exactly one writer, the stream thread owning task i
// (CacheSliceWriter); any thread may read any slice (CacheReader). Readers write only
// Atomics counters and CLOCK bytes, never entries.
//
// Seqlock: the writer makes the slice's sequence odd before a mutation and even after.
// A reader loads it, copies the value out, loads it again, and keeps the copy only if
// both loads agree and are even; otherwise it retries a bounded number of times and
// then reports a miss, so a writer is never blocked and a reader never waits long.
//
// Write-back contract with the task (the exactly-once cycle of DESIGN.md):
// - put/delete mark entries dirty; repeated writes of one key between commits stay one
//   dirty entry (the latest).
// - Room is made by CLOCK (second chance, an LRU approximation). A dirty entry pushed
//   out is returned by that put/delete: the caller adds it to the current commit's
//   batch; it is not lost and it is not in the cache any more.
// - A value too big to cache is not cached (`cached: false`): the caller writes it
//   through, in the same commit. Any older cached value of that key is dropped.
// - flushDirty() at commit returns every dirty entry once, in key order, and marks
//   them clean; clear() drops everything (task closed, migrated, or aborted).

import { type CacheLayout, cacheLayout, sliceBase } from './cache-layout.js';
import { cacheViews, resetSlice, writeGlobalHeader } from './cache-slice.js';

export { type CacheLayout, cacheLayout } from './cache-layout.js';
export type { CacheStats } from './cache-slice.js';
export { CacheReader } from './cache-reader.js';
export { CacheSliceWriter, type DirtyEntry, type PutResult } from './cache-writer.js';

/** A cache of `maxBytes` for tasks 0..numPartitions-1, every slice empty. */
export function createCacheBuffer(maxBytes: number, numPartitions: number, options: { slotBytes?: number } = {}): { sab: SharedArrayBuffer; layout: CacheLayout } {
  const layout = cacheLayout(maxBytes, numPartitions, options);
  const sab = new SharedArrayBuffer(layout.totalBytes);
  const v = cacheViews(sab);
  writeGlobalHeader(v, layout);
  for (let p = 0; p < numPartitions; p++) resetSlice(v, layout, sliceBase(layout, p));
  return { sab, layout };
}
