// The writer side of a cache slice: the one stream thread that owns the task. Every
// mutation runs between two increments of the slice's sequence (odd while it runs),
// which is all a reader needs to discard what it read meanwhile (cache-reader.ts).
// Entries are chains of slots found through a linear-probing index; room is made by
// CLOCK over the head slots (layout and reasons: cache-layout.ts). The write-back
// contract with the task is in cache.ts.
import { compareIds, type Id64 } from '../domain/id64.js';
import { EngineError } from '../errors.js';
import {
  type CacheLayout,
  kClockHandField,
  kDirtyField,
  kEmptyIndex,
  kEntriesField,
  kFlagContinuation,
  kFlagDirty,
  kFlagHead,
  kFlagNull,
  kFreeCountField,
  kFreeHeadField,
  kUnusedFromField,
  kHitsField,
  kMissesField,
  kNoSlot,
  kSeqField,
  kSlotChainOffset,
  kSlotFlagsOffset,
  kSlotHeaderBytes,
  kSlotKeyHighOffset,
  kSlotKeyOffset,
  kSlotLengthOffset,
  kSlotNextOffset,
  kValueBytesField,
  sliceBase,
  slotOffset,
  slotsFor,
} from './cache-layout.js';
import {
  type CacheStats,
  type CacheViews,
  bumpCounter,
  cacheViews,
  checkGlobalHeader,
  checkKey,
  checkPartition,
  copyValue,
  findPosition,
  hashKey,
  keyHigh,
  keyLow,
  readStats,
  resetSlice,
  slotKey,
} from './cache-slice.js';

/** A change the store must receive: a value, or null for a delete. Values are pooled Buffers (see copyValue). */
export interface DirtyEntry {
  readonly key: Id64;
  readonly value: Buffer | null;
}

export interface PutResult {
  /** false: the value is too big for the cache; the caller writes it through to the store. */
  readonly cached: boolean;
  /** Dirty entries pushed out to make room; the caller writes them in the current commit. */
  readonly evicted: DirtyEntry[];
}

/** The one writer of a slice: the stream thread that owns the task. */
export class CacheSliceWriter {
  readonly #layout: CacheLayout;
  readonly #v: CacheViews;
  readonly #base: number;
  readonly #h: number;
  readonly #index: number;
  readonly #ref: number;
  readonly #partition: number;
  // True while a mutation runs. If one throws, it stays true and the sequence stays
  // odd: readers miss and this writer refuses to work until clear() rebuilds the slice.
  #mutating = false;
  /**
   * Keys of the dirty entries, so a commit's flush costs what it writes, not a scan of
   * every slot (a cache sized from the memory budget holds hundreds of thousands).
   */
  readonly #dirty = new Set<Id64>();

  /** Adopts the slice as it is (entries left by a previous owner included). */
  constructor(sab: SharedArrayBuffer, sliceIndex: number, layout: CacheLayout) {
    checkPartition(layout, sliceIndex);
    this.#v = cacheViews(sab);
    checkGlobalHeader(sab, this.#v, layout);
    this.#layout = layout;
    this.#partition = sliceIndex;
    this.#base = sliceBase(layout, sliceIndex);
    this.#h = this.#base >> 2;
    this.#index = (this.#base + layout.indexOffset) >> 2;
    this.#ref = this.#base + layout.refOffset;
    // An odd sequence means the last owner died mid-mutation: only clear() may follow.
    this.#mutating = (Atomics.load(this.#v.i32, this.#h + kSeqField) & 1) === 1;
    if (!this.#mutating && this.#v.i32[this.#h + kDirtyField]! > 0) {
      for (let s = 0; s < this.#layout.slotsPerSlice; s++) {
        if ((this.#v.i32[this.#flagsIndex(s)]! & (kFlagHead | kFlagDirty)) === (kFlagHead | kFlagDirty)) this.#dirty.add(this.#key(s));
      }
    }
  }

  /** The cached value (a pooled copy), null if the key is cached as deleted, undefined on a miss. */
  get(key: Id64): Buffer | null | undefined {
    return this.#lookup(key, true);
  }

  /**
   * get() that counts neither a hit nor a miss: for a second look by the owner after
   * a reader already counted this query (the hit rate is per query, not per look).
   */
  peek(key: Id64): Buffer | null | undefined {
    return this.#lookup(key, false);
  }

  #lookup(key: Id64, count: boolean): Buffer | null | undefined {
    checkKey(key);
    this.#checkUsable();
    const pos = findPosition(this.#v, this.#layout, this.#base, keyLow(key), keyHigh(key));
    if (pos < 0) {
      if (count) bumpCounter(this.#v.u32, this.#h + kMissesField);
      return undefined;
    }
    const head = this.#v.i32[this.#index + pos]!;
    Atomics.store(this.#v.u8, this.#ref + head, 1);
    if (count) bumpCounter(this.#v.u32, this.#h + kHitsField);
    return copyValue(this.#v, this.#layout, this.#base, head);
  }

  /**
   * Caches `value` for `key`. A dirty put stays dirty until flushDirty(); a clean put
   * (a value read from the store) over a dirty entry keeps it dirty, because the
   * store does not have the newer value yet.
   */
  put(key: Id64, value: Uint8Array, options: { dirty: boolean }): PutResult {
    checkKey(key);
    return this.#write(key, value, options.dirty);
  }

  /**
   * Caches a value just read from the store, clean, when the key is not cached and
   * free slots hold it. It never evicts: a read must not hand dirty entries back
   * outside the commit cycle, nor push out what processing put there.
   */
  fill(key: Id64, value: Uint8Array): boolean {
    checkKey(key);
    this.#checkUsable();
    const need = slotsFor(this.#layout, value.length);
    if (need > this.#layout.maxSlotsPerValue || this.#v.i32[this.#h + kFreeCountField]! < need) return false;
    if (findPosition(this.#v, this.#layout, this.#base, keyLow(key), keyHigh(key)) >= 0) return false;
    this.#begin();
    const head = this.#allocate(need);
    this.#fill(head, key, value, false, false);
    this.#insertIndex(key, head);
    this.#v.i32[this.#h + kEntriesField]!++;
    this.#end();
    return true;
  }

  /** Caches a delete: a dirty null entry, so readers see "absent", not a miss. */
  delete(key: Id64): PutResult {
    checkKey(key);
    return this.#write(key, null, true);
  }

  /** Every dirty entry, once, in key order; they stay cached, now clean. */
  flushDirty(): DirtyEntry[] {
    this.#checkUsable();
    if (this.#v.i32[this.#h + kDirtyField] === 0) return [];
    const out: DirtyEntry[] = [];
    this.#begin();
    for (const key of this.#dirty) {
      const pos = findPosition(this.#v, this.#layout, this.#base, keyLow(key), keyHigh(key));
      // The set follows every insert and removal: a dirty key not cached is a bug, never skipped silently.
      if (pos < 0) throw new EngineError('ORD_ERR_INTERNAL', `cache slice ${this.#partition}: dirty key ${String(key)} is not cached`);
      const head = this.#v.i32[this.#index + pos]!;
      const f = this.#flagsIndex(head);
      out.push(this.#entry(head));
      this.#v.i32[f] = this.#v.i32[f]! & ~kFlagDirty;
    }
    this.#dirty.clear();
    this.#v.i32[this.#h + kDirtyField] = 0;
    this.#end();
    return out.sort((a, b) => compareIds(a.key, b.key));
  }

  /** Drops every entry, dirty ones included (closeDirty semantics: flush first to keep them). */
  clear(): void {
    const seq = this.#h + kSeqField;
    const odd = Atomics.load(this.#v.i32, seq) | 1;
    Atomics.store(this.#v.i32, seq, odd);
    resetSlice(this.#v, this.#layout, this.#base);
    Atomics.store(this.#v.i32, seq, odd + 1);
    this.#mutating = false;
    this.#dirty.clear();
  }

  stats(): CacheStats {
    return readStats(this.#v, this.#layout, this.#base);
  }

  #write(key: Id64, value: Uint8Array | null, dirty: boolean): PutResult {
    this.#checkUsable();
    const evicted: DirtyEntry[] = [];
    const need = value === null ? 1 : slotsFor(this.#layout, value.length);
    const fits = need <= this.#layout.maxSlotsPerValue;
    const pos = findPosition(this.#v, this.#layout, this.#base, keyLow(key), keyHigh(key));
    if (!fits && pos < 0) return { cached: false, evicted };
    this.#begin();
    let wasDirty = false;
    if (pos >= 0) {
      const head = this.#v.i32[this.#index + pos]!;
      wasDirty = (this.#v.i32[this.#flagsIndex(head)]! & kFlagDirty) !== 0;
      if (fits && this.#chainLength(head) === need) {
        // Same number of slots: rewrite in place, no eviction, no index change.
        this.#fill(head, key, value, dirty || wasDirty, wasDirty);
        this.#end();
        return { cached: true, evicted };
      }
      // The new value supersedes the old one, dirty or not: no need to hand it back.
      this.#remove(pos, head);
    }
    if (!fits) {
      this.#end();
      return { cached: false, evicted };
    }
    while (this.#v.i32[this.#h + kFreeCountField]! < need) {
      const out = this.#evictOne();
      if (out !== undefined) evicted.push(out);
    }
    const head = this.#allocate(need);
    this.#fill(head, key, value, dirty || wasDirty, false);
    this.#insertIndex(key, head);
    this.#v.i32[this.#h + kEntriesField]!++;
    this.#end();
    return { cached: true, evicted };
  }

  /** Writes key, value and flags into an allocated chain and keeps the counters right. */
  #fill(head: number, key: Id64, value: Uint8Array | null, dirty: boolean, wasCountedDirty: boolean): void {
    const { i32, u32, u8 } = this.#v;
    const o = slotOffset(this.#layout, this.#base, head);
    const oldLength = (i32[this.#flagsIndex(head)]! & kFlagHead) !== 0 ? this.#valueLength(head) : 0;
    i32[(o + kSlotFlagsOffset) >> 2] = kFlagHead | (dirty ? kFlagDirty : 0) | (value === null ? kFlagNull : 0);
    u32[(o + kSlotKeyOffset) >> 2] = keyLow(key);
    u32[(o + kSlotKeyHighOffset) >> 2] = keyHigh(key);
    const length = value === null ? 0 : value.length;
    i32[(o + kSlotLengthOffset) >> 2] = length;
    i32[this.#h + kValueBytesField] = i32[this.#h + kValueBytesField]! - oldLength + length;
    if (dirty && !wasCountedDirty) i32[this.#h + kDirtyField]!++;
    if (dirty) this.#dirty.add(key);
    Atomics.store(u8, this.#ref + head, 1);
    if (value === null) return;
    const payload = this.#layout.slotPayloadBytes;
    let slot = head;
    for (let written = 0; written < length; written += payload) {
      const start = slotOffset(this.#layout, this.#base, slot) + kSlotHeaderBytes;
      u8.set(value.subarray(written, Math.min(length, written + payload)), start);
      slot = i32[(start - kSlotHeaderBytes + kSlotNextOffset) >> 2]!;
    }
  }

  /** CLOCK: skip (and clear) recently used heads, evict the first one not used since. */
  #evictOne(): DirtyEntry | undefined {
    const n = this.#layout.slotsPerSlice;
    const handField = this.#h + kClockHandField;
    let hand = this.#v.i32[handField]!;
    // Two sweeps always suffice: the first clears every reference bit it passes.
    for (let step = 0; step <= 2 * n; step++) {
      const s = hand;
      hand = hand + 1 === n ? 0 : hand + 1;
      if ((this.#v.i32[this.#flagsIndex(s)]! & kFlagHead) === 0) continue;
      if (Atomics.load(this.#v.u8, this.#ref + s) !== 0) {
        Atomics.store(this.#v.u8, this.#ref + s, 0);
        continue;
      }
      this.#v.i32[handField] = hand;
      const flags = this.#v.i32[this.#flagsIndex(s)]!;
      const out = (flags & kFlagDirty) !== 0 ? this.#entry(s) : undefined;
      this.#remove(this.#positionOf(s), s);
      return out;
    }
    throw new EngineError('ORD_ERR_INTERNAL', `cache slice ${this.#partition} has no entry to evict but too few free slots`);
  }

  /** Unlinks the entry at index position `pos` (head slot `head`) and frees its slots. */
  #remove(pos: number, head: number): void {
    const i32 = this.#v.i32;
    const flags = i32[this.#flagsIndex(head)]!;
    i32[this.#h + kEntriesField]!--;
    i32[this.#h + kValueBytesField] = i32[this.#h + kValueBytesField]! - this.#valueLength(head);
    if ((flags & kFlagDirty) !== 0) {
      i32[this.#h + kDirtyField]!--;
      this.#dirty.delete(this.#key(head));
    }
    this.#deleteIndex(pos);
    let slot = head;
    for (let k = this.#chainLength(head); k > 0; k--) {
      const next = i32[this.#nextIndex(slot)]!;
      i32[this.#flagsIndex(slot)] = 0;
      i32[this.#nextIndex(slot)] = i32[this.#h + kFreeHeadField]!;
      i32[this.#h + kFreeHeadField] = slot;
      i32[this.#h + kFreeCountField]!++;
      slot = next;
    }
  }

  /**
   * Takes `count` free slots (freed ones first, then never-used ones) and links them
   * into a chain; returns its head.
   */
  #allocate(count: number): number {
    const i32 = this.#v.i32;
    let head = kNoSlot;
    let prev = kNoSlot;
    for (let k = 1; k <= count; k++) {
      let slot = i32[this.#h + kFreeHeadField]!;
      if (slot !== kNoSlot) i32[this.#h + kFreeHeadField] = i32[this.#nextIndex(slot)]!;
      else slot = i32[this.#h + kUnusedFromField]!++;
      i32[this.#flagsIndex(slot)] = k === 1 ? 0 : kFlagContinuation;
      i32[this.#nextIndex(slot)] = kNoSlot;
      if (prev === kNoSlot) head = slot;
      else i32[this.#nextIndex(prev)] = slot;
      prev = slot;
    }
    i32[(slotOffset(this.#layout, this.#base, head) + kSlotChainOffset) >> 2] = count;
    i32[this.#h + kFreeCountField] = i32[this.#h + kFreeCountField]! - count;
    return head;
  }

  #insertIndex(key: Id64, head: number): void {
    const cap = this.#layout.indexCapacity;
    let pos = hashKey(keyLow(key), keyHigh(key)) % cap;
    while (this.#v.i32[this.#index + pos] !== kEmptyIndex) pos = pos + 1 === cap ? 0 : pos + 1;
    this.#v.i32[this.#index + pos] = head;
  }

  /** Linear-probing deletion by backward shift (Knuth 6.4, algorithm R): no tombstones. */
  #deleteIndex(hole: number): void {
    const i32 = this.#v.i32;
    const cap = this.#layout.indexCapacity;
    let j = hole;
    for (;;) {
      j = j + 1 === cap ? 0 : j + 1;
      const slot = i32[this.#index + j]!;
      if (slot === kEmptyIndex) break;
      const home = this.#hash(slot) % cap;
      // The entry at j may move back to the hole only if its home is not in (hole, j].
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      i32[this.#index + hole] = slot;
      hole = j;
    }
    i32[this.#index + hole] = kEmptyIndex;
  }

  #entry(head: number): DirtyEntry {
    return { key: this.#key(head), value: copyValue(this.#v, this.#layout, this.#base, head) ?? null };
  }

  // Atomics.add, not a store: the slot writes that follow must not become visible
  // before the odd sequence, and V8 makes an atomic read-modify-write a full barrier
  // (lock xadd on x86, ldaddal or an ldaxr/stlxr loop on ARM64).
  #begin(): void {
    this.#mutating = true;
    Atomics.add(this.#v.i32, this.#h + kSeqField, 1);
  }

  #end(): void {
    Atomics.add(this.#v.i32, this.#h + kSeqField, 1);
    this.#mutating = false;
  }

  #checkUsable(): void {
    if (this.#mutating) throw new EngineError('ORD_ERR_INTERNAL', `cache slice ${this.#partition} was left mid-mutation; clear() it before use`);
  }

  #flagsIndex(slot: number): number {
    return (slotOffset(this.#layout, this.#base, slot) + kSlotFlagsOffset) >> 2;
  }

  #nextIndex(slot: number): number {
    return (slotOffset(this.#layout, this.#base, slot) + kSlotNextOffset) >> 2;
  }

  #key(head: number): Id64 {
    return slotKey(this.#v.u32, slotOffset(this.#layout, this.#base, head));
  }

  /** The hash of the key in slot `head`, from its halves (no id built). */
  #hash(head: number): number {
    const k = (slotOffset(this.#layout, this.#base, head) + kSlotKeyOffset) >> 2;
    return hashKey(this.#v.u32[k]!, this.#v.u32[k + 1]!);
  }

  /** The index position of the entry whose head is `head`. */
  #positionOf(head: number): number {
    const k = (slotOffset(this.#layout, this.#base, head) + kSlotKeyOffset) >> 2;
    return findPosition(this.#v, this.#layout, this.#base, this.#v.u32[k]!, this.#v.u32[k + 1]!);
  }

  #valueLength(head: number): number {
    return this.#v.i32[(slotOffset(this.#layout, this.#base, head) + kSlotLengthOffset) >> 2]!;
  }

  #chainLength(head: number): number {
    return this.#v.i32[(slotOffset(this.#layout, this.#base, head) + kSlotChainOffset) >> 2]!;
  }
}
