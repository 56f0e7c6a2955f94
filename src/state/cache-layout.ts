// The layout of the record cache's SharedArrayBuffer: where every field lives, as
// named offsets (the reads both sides share are in cache-slice.ts). The layout is a
// pure function of (maxBytes, numPartitions, slotBytes), so the HTTP thread rebuilds
// exactly the writer's layout from the same config; the global header lets it check
// that it did.
//
//  SharedArrayBuffer
//  ┌──────────────┬─────────────────┬─────────────────┬───┬─────────────────┐
//  │ global header│ slice 0         │ slice 1         │ … │ slice P-1       │
//  │ 64 B         │ sliceBytes      │ sliceBytes      │   │ sliceBytes      │
//  └──────────────┴─────────────────┴─────────────────┴───┴─────────────────┘
//  slice (written only by the thread owning task i, except where noted)
//  ┌─────────────────────────┬──────────────────────┬──────────────┬───────────────────┐
//  │ header 128 B            │ index                │ ref bytes    │ slots             │
//  │ 0..63  writer fields    │ Int32 × capacity     │ Uint8 × N    │ slotBytes × N     │
//  │ 64..127 hit/miss (any   │ -1 empty, else the   │ CLOCK bits,  │ (8-byte aligned)  │
//  │         thread, Atomics)│ head slot of a key   │ any thread   │                   │
//  └─────────────────────────┴──────────────────────┴──────────────┴───────────────────┘
//  slot: ┌ flags i32 ┬ next i32 ┬ key low u32 ┬ key high u32 ┬ length i32 ┬ chain i32 ┬ payload … ┐
//          +0          +4         +8            +12            +16          +20         +24
//
// Why the key as two 32-bit halves, not a float64: keys are order ids, Java longs
// (src/domain/id64.ts), and the original's TSIDs are past 2^53, where two ids can be
// the same double (910000000000000123 and 910000000000000124 are): one order would be
// served the other's value. Halves are exact for any id up to 2^63-1 and compare as
// two integer loads; a number key (ours, below 2^53) is split without a bigint.
//
// Why chains of small slots instead of one fixed slot per entry: order values are
// 150-600 bytes and sometimes more. A 1024-byte slot wastes 70% on a 300-byte value;
// a 512-byte one cannot hold a 600-byte value at all. A value takes
// ceil(length / payload) slots linked by `next` (192-byte slots: 300 B → 2 slots),
// so the same bytes hold about twice the entries, and values up to maxValueBytes are
// cached instead of written through. Free slots form a list through `next`.
//
// Why backward-shift deletion instead of tombstones in the index: linear probing can
// delete by moving later entries of the cluster back, so probe lengths never grow
// with churn and the index never needs a rebuild. Readers racing the shift are
// covered by the seqlock like any other mutation.
//
// Hit/miss counters sit on their own cache line: readers bump them with Atomics.add on
// every lookup, and sharing a line with the sequence word would make every reader
// stall every other reader's seqlock check.

import { EngineError } from '../errors.js';

/** 'ORDC', so a reader handed some other buffer fails at once. */
export const kCacheMagic = 0x4f52_4443;
/** 2: the key became two u32 halves (version 1 stored a float64). */
export const kCacheVersion = 2;

export const kGlobalHeaderBytes = 64;
// Int32 fields of the global header.
export const kMagicField = 0;
export const kVersionField = 1;
export const kPartitionsField = 2;
export const kSliceBytesField = 3;
export const kSlotBytesField = 4;
export const kSlotsField = 5;

export const kSliceHeaderBytes = 128;
// Int32 fields of a slice header, relative to the slice's first Int32.
/** Seqlock: odd while the writer mutates the slice. Changed only with Atomics. */
export const kSeqField = 0;
export const kEntriesField = 1;
export const kValueBytesField = 2;
export const kDirtyField = 3;
export const kFreeHeadField = 4;
export const kFreeCountField = 5;
export const kClockHandField = 6;
/**
 * Slots from here to the end have never been used since the last reset: they are free
 * without being on the free list, so a large cache costs memory (touched pages) only
 * as it fills, not at start.
 */
export const kUnusedFromField = 7;
// 64-bit counters as (low, high) Uint32 pairs on the second cache line.
export const kHitsField = 16;
export const kMissesField = 18;

export const kSlotHeaderBytes = 24;
export const kSlotFlagsOffset = 0;
export const kSlotNextOffset = 4;
/** The key's low 32 bits; its high 32 bits follow at kSlotKeyHighOffset. */
export const kSlotKeyOffset = 8;
export const kSlotKeyHighOffset = 12;
export const kSlotLengthOffset = 16;
export const kSlotChainOffset = 20;
export const kDefaultSlotBytes = 192;

/** First slot of an entry: key, length and chain length are valid. */
export const kFlagHead = 1;
export const kFlagContinuation = 2;
/** Changed since the last flush: must reach the store in this commit. */
export const kFlagDirty = 4;
/** A cached delete: the key is known to be absent (not a miss). */
export const kFlagNull = 8;

export const kEmptyIndex = -1;
export const kNoSlot = -1;
/** The most slots one value may take; bigger values are written through. */
export const kMaxChainSlots = 64;

export interface CacheLayout {
  readonly maxBytes: number;
  readonly numPartitions: number;
  /** Length of the SharedArrayBuffer: at most maxBytes unless maxBytes cannot hold the headers. */
  readonly totalBytes: number;
  readonly sliceBytes: number;
  readonly slotBytes: number;
  readonly slotPayloadBytes: number;
  readonly slotsPerSlice: number;
  readonly indexCapacity: number;
  /** Byte offsets inside a slice. */
  readonly indexOffset: number;
  readonly refOffset: number;
  readonly slotsOffset: number;
  readonly maxSlotsPerValue: number;
  readonly maxValueBytes: number;
}

const align8 = (n: number): number => Math.ceil(n / 8) * 8;

/** The layout of a cache of `maxBytes` split into `numPartitions` equal slices. Deterministic. */
export function cacheLayout(maxBytes: number, numPartitions: number, options: { slotBytes?: number } = {}): CacheLayout {
  const slotBytes = options.slotBytes ?? kDefaultSlotBytes;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new EngineError('ORD_ERR_INTERNAL', `cache maxBytes must be a non-negative integer, got ${maxBytes}`);
  if (!Number.isInteger(numPartitions) || numPartitions < 1 || numPartitions > 65_536) {
    throw new EngineError('ORD_ERR_INTERNAL', `cache numPartitions must be an integer in 1..65536, got ${numPartitions}`);
  }
  if (!Number.isInteger(slotBytes) || slotBytes % 8 !== 0 || slotBytes < kSlotHeaderBytes + 8 || slotBytes > 65_536) {
    throw new EngineError('ORD_ERR_INTERNAL', `cache slotBytes must be a multiple of 8 in ${kSlotHeaderBytes + 8}..65536, got ${slotBytes}`);
  }
  const indexOffset = kSliceHeaderBytes;
  const place = (n: number): { indexCapacity: number; refOffset: number; slotsOffset: number } => {
    // Capacity 1 even without slots, so a lookup always finds an empty position.
    const indexCapacity = Math.max(1, 2 * n);
    const refOffset = indexOffset + 4 * indexCapacity;
    return { indexCapacity, refOffset, slotsOffset: align8(refOffset + n) };
  };
  // A slice too small for one slot still holds its header and index: a cache of
  // nearly 0 bytes caches nothing, but its threads share the same code path.
  const sliceBytes = Math.max(place(0).slotsOffset, Math.floor((maxBytes - kGlobalHeaderBytes) / numPartitions / 8) * 8);
  if (sliceBytes > 2 ** 31 - 1) throw new EngineError('ORD_ERR_INTERNAL', `cache slice of ${sliceBytes} bytes exceeds the Int32 fields of its header`);
  // Each slot costs its bytes, two index entries (load factor <= 0.5) and a ref byte;
  // start from that estimate and step down until the alignment padding fits too.
  let slots = Math.floor((sliceBytes - kSliceHeaderBytes) / (slotBytes + 9));
  while (slots > 0 && place(slots).slotsOffset + slots * slotBytes > sliceBytes) slots--;
  const { indexCapacity, refOffset, slotsOffset } = place(slots);
  const slotPayloadBytes = slotBytes - kSlotHeaderBytes;
  const maxSlotsPerValue = slots === 0 ? 0 : Math.max(1, Math.min(kMaxChainSlots, Math.floor(slots / 8)));
  return Object.freeze({
    maxBytes,
    numPartitions,
    totalBytes: kGlobalHeaderBytes + numPartitions * sliceBytes,
    sliceBytes,
    slotBytes,
    slotPayloadBytes,
    slotsPerSlice: slots,
    indexCapacity,
    indexOffset,
    refOffset,
    slotsOffset,
    maxSlotsPerValue,
    maxValueBytes: maxSlotsPerValue * slotPayloadBytes,
  });
}

/** Byte offset of slice `partition`. */
export function sliceBase(layout: CacheLayout, partition: number): number {
  return kGlobalHeaderBytes + partition * layout.sliceBytes;
}

export function slotOffset(layout: CacheLayout, base: number, slot: number): number {
  return base + layout.slotsOffset + slot * layout.slotBytes;
}

/** Slots a value of `length` bytes takes (a cached delete takes one). */
export function slotsFor(layout: CacheLayout, length: number): number {
  return length <= layout.slotPayloadBytes ? 1 : Math.ceil(length / layout.slotPayloadBytes);
}
