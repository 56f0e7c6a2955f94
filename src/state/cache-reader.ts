// The reader side of the cache: any thread, any slice, without a message hop and
// without ever blocking the slice's writer. Seqlock: load the slice's sequence; if it
// is odd a mutation is running, look again; otherwise copy the value out and read
// the sequence again. Equal reads mean no mutation overlapped the copy, so the copy
// is one whole value. A reader writes nothing but Atomics: hit/miss counters and the
// CLOCK byte of an entry it read (so HTTP queries keep their entries cached too).
import { type CacheLayout, kHitsField, kMissesField, kSeqField, sliceBase } from './cache-layout.js';
import type { Id64 } from '../domain/id64.js';
import { type CacheStats, type CacheViews, bumpCounter, cacheViews, checkGlobalHeader, checkKey, checkPartition, copyValue, findPosition, keyHigh, keyLow, readStats } from './cache-slice.js';

// A reader gives up (and reports a miss) after this many copies spoiled by a write, or
// this many looks at an odd sequence: the writer may be descheduled mid-mutation.
const kMaxReadAttempts = 8;
const kMaxSpins = 4096;

/** Reads any slice from any thread, never blocking the writer. */
export class CacheReader {
  readonly #layout: CacheLayout;
  readonly #v: CacheViews;

  constructor(sab: SharedArrayBuffer, layout: CacheLayout) {
    this.#v = cacheViews(sab);
    checkGlobalHeader(sab, this.#v, layout);
    this.#layout = layout;
  }

  /** A pooled copy of the value, null if cached as deleted, undefined on a miss or a busy slice. */
  get(partition: number, key: Id64): Buffer | null | undefined {
    checkPartition(this.#layout, partition);
    checkKey(key);
    const low = keyLow(key);
    const high = keyHigh(key);
    const { i32, u32, u8 } = this.#v;
    const base = sliceBase(this.#layout, partition);
    const seq = (base >> 2) + kSeqField;
    for (let spins = 0, attempts = 0; attempts < kMaxReadAttempts && spins < kMaxSpins; spins++) {
      const before = Atomics.load(i32, seq);
      if ((before & 1) !== 0) continue;
      attempts++;
      const pos = findPosition(this.#v, this.#layout, base, low, high);
      // Re-read from the index, so range-checked again: it may have moved since the probe.
      const head = pos < 0 ? -1 : i32[((base + this.#layout.indexOffset) >> 2) + pos]!;
      const value = head < 0 || head >= this.#layout.slotsPerSlice ? undefined : copyValue(this.#v, this.#layout, base, head);
      // A read-modify-write, not a load (Boehm, "Can seqlocks get along with
      // programming language memory models?", 2012): its release half keeps the copy's
      // plain loads before it. An acquire load does not on ARM64; x86 would not care.
      if (Atomics.add(i32, seq, 0) !== before) continue;
      if (value === undefined) break;
      Atomics.store(u8, base + this.#layout.refOffset + head, 1);
      bumpCounter(u32, (base >> 2) + kHitsField);
      return value;
    }
    bumpCounter(u32, (base >> 2) + kMissesField);
    return undefined;
  }

  stats(partition: number): CacheStats {
    checkPartition(this.#layout, partition);
    return readStats(this.#v, this.#layout, sliceBase(this.#layout, partition));
  }
}
