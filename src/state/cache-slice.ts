// How every thread touches a slice of the cache (layout: cache-layout.ts): the typed
// views, the global header check, the reset, the index probe, the value copy and the
// 64-bit counters. Readers run all of this against a slice the writer may be
// changing under them, so nothing here trusts a length or a link it has not checked;
// the seqlock (cache-reader.ts) then throws away anything read during a write.
import { isId64, type Id64 } from '../domain/id64.js';
import { EngineError } from '../errors.js';
import {
  type CacheLayout,
  kCacheMagic,
  kCacheVersion,
  kClockHandField,
  kDirtyField,
  kEmptyIndex,
  kEntriesField,
  kFlagHead,
  kFlagNull,
  kFreeCountField,
  kFreeHeadField,
  kUnusedFromField,
  kHitsField,
  kMagicField,
  kMissesField,
  kNoSlot,
  kPartitionsField,
  kSliceBytesField,
  kSlotBytesField,
  kSlotFlagsOffset,
  kSlotHeaderBytes,
  kSlotKeyHighOffset,
  kSlotKeyOffset,
  kSlotLengthOffset,
  kSlotNextOffset,
  kSlotsField,
  kValueBytesField,
  kVersionField,
  slotOffset,
} from './cache-layout.js';

/** Typed views over the whole buffer; all offsets below are absolute. */
export interface CacheViews {
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly u8: Uint8Array;
}

export function cacheViews(sab: SharedArrayBuffer): CacheViews {
  return { i32: new Int32Array(sab), u32: new Uint32Array(sab), u8: new Uint8Array(sab) };
}

export function writeGlobalHeader(v: CacheViews, layout: CacheLayout): void {
  v.i32[kMagicField] = kCacheMagic;
  v.i32[kVersionField] = kCacheVersion;
  v.i32[kPartitionsField] = layout.numPartitions;
  v.i32[kSliceBytesField] = layout.sliceBytes;
  v.i32[kSlotBytesField] = layout.slotBytes;
  v.i32[kSlotsField] = layout.slotsPerSlice;
}

/** Throws unless `sab` was created with this layout: two threads built from different config. */
export function checkGlobalHeader(sab: SharedArrayBuffer, v: CacheViews, layout: CacheLayout): void {
  const ok =
    sab.byteLength === layout.totalBytes &&
    v.i32[kMagicField] === kCacheMagic &&
    v.i32[kVersionField] === kCacheVersion &&
    v.i32[kPartitionsField] === layout.numPartitions &&
    v.i32[kSliceBytesField] === layout.sliceBytes &&
    v.i32[kSlotBytesField] === layout.slotBytes &&
    v.i32[kSlotsField] === layout.slotsPerSlice;
  if (!ok) throw new EngineError('ORD_ERR_INTERNAL', 'cache buffer does not match the layout: the threads were configured differently');
}

/** Empty index, every slot free and linked, CLOCK bits cleared. Counters of hits and misses survive. */
export function resetSlice(v: CacheViews, layout: CacheLayout, base: number): void {
  const h = base >> 2;
  const index = (base + layout.indexOffset) >> 2;
  v.i32.fill(kEmptyIndex, index, index + layout.indexCapacity);
  v.u8.fill(0, base + layout.refOffset, base + layout.refOffset + layout.slotsPerSlice);
  // Only slots used since the last reset carry flags (a new buffer is all zeros): the
  // rest are never touched, so their pages stay unallocated until the cache fills.
  const used = Math.min(v.i32[h + kUnusedFromField]!, layout.slotsPerSlice);
  for (let s = 0; s < used; s++) v.i32[(slotOffset(layout, base, s) + kSlotFlagsOffset) >> 2] = 0;
  v.i32[h + kEntriesField] = 0;
  v.i32[h + kValueBytesField] = 0;
  v.i32[h + kDirtyField] = 0;
  v.i32[h + kFreeHeadField] = kNoSlot;
  v.i32[h + kUnusedFromField] = 0;
  v.i32[h + kFreeCountField] = layout.slotsPerSlice;
  v.i32[h + kClockHandField] = 0;
}

/** The low 32 bits of a key (a canonical id: a number below 2^53 needs no bigint). */
export function keyLow(key: Id64): number {
  return typeof key === 'number' ? key >>> 0 : Number(key & 0xffff_ffffn);
}

/** The high 32 bits of a key. */
export function keyHigh(key: Id64): number {
  return typeof key === 'number' ? (key / 4_294_967_296) >>> 0 : Number(key >> 32n);
}

/** The key of the slot at byte offset `o`, canonical: a number below 2^53, else a bigint. */
export function slotKey(u32: Uint32Array, o: number): Id64 {
  const low = u32[(o + kSlotKeyOffset) >> 2]!;
  const high = u32[(o + kSlotKeyHighOffset) >> 2]!;
  return high < 0x20_0000 ? high * 4_294_967_296 + low : (BigInt(high) << 32n) | BigInt(low);
}

/** Order ids are time-sortable (their high bits barely move): mix both halves (murmur3 fmix32). */
export function hashKey(low: number, high: number): number {
  let h = low ^ Math.imul(high, 0x9e37_79b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85eb_ca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2_ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Index position of the key (`low`, `high`: keyLow, keyHigh) in the slice at `base`,
 * or -1. Bounded by the capacity and range-checked, because a reader may see a
 * half-shifted index (its seqlock check then discards whatever this returned).
 */
export function findPosition(v: CacheViews, layout: CacheLayout, base: number, low: number, high: number): number {
  const cap = layout.indexCapacity;
  const index = (base + layout.indexOffset) >> 2;
  let pos = hashKey(low, high) % cap;
  for (let probe = 0; probe < cap; probe++) {
    const slot = v.i32[index + pos]!;
    if (slot === kEmptyIndex) return -1;
    if (slot >= 0 && slot < layout.slotsPerSlice) {
      const k = (slotOffset(layout, base, slot) + kSlotKeyOffset) >> 2;
      if (v.u32[k] === low && v.u32[k + 1] === high) return pos;
    }
    pos = pos + 1 === cap ? 0 : pos + 1;
  }
  return -1;
}

/**
 * Copies the value of the entry whose head is `head`: a copy, null for a cached
 * delete, or undefined when the slots do not form a valid chain (only possible for a
 * reader racing the writer). Every length and link is checked before use, so a torn
 * read can neither loop nor allocate an absurd buffer.
 *
 * The copy is a Buffer from Node's pool: allocating a fresh 300-byte ArrayBuffer costs
 * about 1 µs here against 75 ns from the pool (bench/cache.bench.ts). Like any pooled
 * Buffer, it may share its ArrayBuffer: never transfer `value.buffer`.
 */
export function copyValue(v: CacheViews, layout: CacheLayout, base: number, head: number): Buffer | null | undefined {
  const o = slotOffset(layout, base, head);
  const flags = v.i32[(o + kSlotFlagsOffset) >> 2]!;
  if ((flags & kFlagHead) === 0) return undefined;
  if ((flags & kFlagNull) !== 0) return null;
  const length = v.i32[(o + kSlotLengthOffset) >> 2]!;
  if (length < 0 || length > layout.maxValueBytes) return undefined;
  const out = Buffer.allocUnsafe(length);
  const payload = layout.slotPayloadBytes;
  let slot = head;
  for (let copied = 0; copied < length; ) {
    if (slot < 0 || slot >= layout.slotsPerSlice) return undefined;
    const start = slotOffset(layout, base, slot) + kSlotHeaderBytes;
    const n = Math.min(payload, length - copied);
    out.set(v.u8.subarray(start, start + n), copied);
    copied += n;
    slot = v.i32[(start - kSlotHeaderBytes + kSlotNextOffset) >> 2]!;
  }
  return out;
}

/** Adds one to a 64-bit (low, high) counter; safe from any number of threads. */
export function bumpCounter(u32: Uint32Array, field: number): void {
  if (Atomics.add(u32, field, 1) === 0xffff_ffff) Atomics.add(u32, field + 1, 1);
}

/**
 * Reads a 64-bit counter. Between a low word wrapping and its carry landing, a read
 * can come out 2^32 short; that window is a few instructions every 4 billion
 * increments, acceptable for a metric.
 */
export function readCounter(u32: Uint32Array, field: number): number {
  for (;;) {
    const high = Atomics.load(u32, field + 1);
    const low = Atomics.load(u32, field);
    if (Atomics.load(u32, field + 1) === high) return high * 4_294_967_296 + low;
  }
}

export interface CacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly entries: number;
  /** Bytes of cached values (not counting slot headers or slack). */
  readonly bytes: number;
  readonly dirty: number;
  readonly usedSlots: number;
  readonly slots: number;
}

/** Each field is read atomically; together they may straddle a mutation, as metrics may. */
export function readStats(v: CacheViews, layout: CacheLayout, base: number): CacheStats {
  const h = base >> 2;
  return {
    hits: readCounter(v.u32, h + kHitsField),
    misses: readCounter(v.u32, h + kMissesField),
    entries: Atomics.load(v.i32, h + kEntriesField),
    bytes: Atomics.load(v.i32, h + kValueBytesField),
    dirty: Atomics.load(v.i32, h + kDirtyField),
    usedSlots: layout.slotsPerSlice - Atomics.load(v.i32, h + kFreeCountField),
    slots: layout.slotsPerSlice,
  };
}

export function checkPartition(layout: CacheLayout, partition: number): void {
  if (!Number.isInteger(partition) || partition < 0 || partition >= layout.numPartitions) {
    throw new EngineError('ORD_ERR_INTERNAL', `cache partition ${partition} is outside 0..${layout.numPartitions - 1}`);
  }
}

/** A canonical id (id64.ts) in 0..2^63-1: a bigint at or below 2^53 would be a second name for a number key. */
export function checkKey(key: Id64): void {
  if (!isId64(key, 0)) throw new EngineError('ORD_ERR_INTERNAL', `cache key must be a canonical id in 0..2^63-1, got ${String(key)}`);
}
