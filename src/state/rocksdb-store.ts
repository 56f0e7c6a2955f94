// One RocksDB database (one store of one task), as a thin typed layer over
// @nxtedition/rocksdb: Buffer keys and values (encodings live elsewhere), atomic
// batches, key-ordered ranges, and binding failures turned into coded errors.
//
// close() follows rocks-level's reference counting: every operation holds a
// reference while it runs; close() refuses new operations at once, waits for the ones
// in flight (a range paging through an iterator included) and only then closes the
// database. Without that, abstract-level closes open iterators under a running range.
//
// Durability: batches go to the WAL without fsync unless `sync` is set. A process
// crash keeps them (the OS has the pages); an OS crash may not. A caller that records
// "the store holds everything up to offset X" (the checkpoint) after a write must
// write with `sync: true` first, or a machine crash leaves a checkpoint ahead of the
// store and restore skips the gap.
import { access, mkdir, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { RocksLevel, type RocksChainedBatch } from '@nxtedition/rocksdb';
import { EngineError } from '../errors.js';

export interface RocksStoreOptions {
  /** Block cache of this database (uncompressed blocks read from SST files). */
  readonly blockCacheBytes: number;
  /** The most memtable memory this database holds before writes stall (see open). */
  readonly writeBufferBytes: number;
  /** Default true: create the directory (recursively) and the database. */
  readonly createIfMissing?: boolean;
}

export interface StoreEntry {
  readonly key: Buffer;
  readonly value: Buffer;
}

/** A write of one batch: a value, or null to delete the key. */
export interface StoreWrite {
  readonly key: Buffer;
  readonly value: Buffer | null;
}

export interface RangeOptions {
  readonly gte?: Buffer;
  readonly lt?: Buffer;
  readonly limit?: number;
  /** Entries to skip first. The iterator walks over them: paging cost grows with the offset. */
  readonly offset?: number;
}

const kPageRows = 1000;

// Stores open in this thread, by absolute path: a second open would fail on RocksDB's
// LOCK anyway, and destroy() must never delete files under an open database.
const openHere = new Set<string>();

const reason = (err: unknown): string => {
  const e = err as { message?: unknown; cause?: { message?: unknown } } | null;
  const own = typeof e?.message === 'string' ? e.message : String(err);
  return typeof e?.cause?.message === 'string' ? `${own} (${e.cause.message})` : own;
};

function checkInteger(name: string, value: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) throw new EngineError('ORD_ERR_INTERNAL', `state store ${name} must be an integer in 0..${max}, got ${value}`);
}

const NO_OPTIONS = {};

export class RocksStore {
  readonly dir: string;
  readonly #db: RocksLevel;
  /** The one WriteBatch every write() fills, writes and clears (see write). */
  readonly #batch: RocksChainedBatch;
  #state: 'open' | 'closing' | 'closed' = 'open';
  #inFlight = 0;
  #drained: (() => void) | undefined;
  #closed: Promise<void> | undefined;

  private constructor(dir: string, db: RocksLevel) {
    this.dir = dir;
    this.#db = db;
    this.#batch = db.batch();
  }

  /**
   * Opens (by default creates) the database in `dir`. Memtables: the binding exposes
   * write_buffer_size only through level compaction's memtableMemoryBudget (buffers of
   * budget/4, up to 6 of them, so up to 1.5 × budget), hence budget = 2/3 of
   * writeBufferBytes. RocksDB raises a write buffer below 64 KiB to 64 KiB.
   */
  static async open(dir: string, options: RocksStoreOptions): Promise<RocksStore> {
    checkInteger('blockCacheBytes', options.blockCacheBytes, 2 ** 32 - 1);
    checkInteger('writeBufferBytes', options.writeBufferBytes, Number.MAX_SAFE_INTEGER);
    const path = resolve(dir);
    if (openHere.has(path)) throw new EngineError('ORD_ERR_INTERNAL', `state store ${path} is already open in this thread`);
    const createIfMissing = options.createIfMissing ?? true;
    openHere.add(path);
    try {
      // RocksDB creates the directory even when told not to create the database.
      if (createIfMissing) await mkdir(path, { recursive: true });
      else await access(path);
      const db = new RocksLevel(path, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      await db.open({
        createIfMissing,
        cacheSize: options.blockCacheBytes,
        compaction: 'level',
        // Levels 2 and up stay ZSTD-compressed (the binding's level style); this only
        // drops the binding's default dictionary training on every compaction's output,
        // which was half of RocksDB's compaction thread: 26-30 CPU ticks in 15 s of a
        // saga at 2,000 orders/s instead of 49-62.
        compression: false,
        memtableMemoryBudget: Math.max(1, Math.floor((options.writeBufferBytes * 2) / 3)),
      });
      return new RocksStore(path, db);
    } catch (err) {
      openHere.delete(path);
      // RocksDB's "Corruption: ..." status: the caller wipes (destroy) and restores from
      // the changelog. Anything else (a LOCK held by another process sharing STATE_DIR,
      // permissions, a full disk) is not cured by a wipe and stops the process.
      const why = reason(err);
      const code = /\bCorruption\b/.test(why) ? 'ORD_ERR_STATE_CORRUPTED' : 'ORD_ERR_INTERNAL';
      throw new EngineError(code, `cannot open state store ${path}: ${why}`, { cause: err });
    }
  }

  /** Wipes a store that is not open in this thread (a corrupted one, before a restore). */
  static async destroy(dir: string): Promise<void> {
    const path = resolve(dir);
    if (openHere.has(path)) throw new EngineError('ORD_ERR_INTERNAL', `cannot destroy state store ${path}: it is open`);
    // The binding has no DestroyDB; the directory holds nothing but the database.
    await rm(path, { recursive: true, force: true });
  }

  async get(key: Buffer): Promise<Buffer | undefined> {
    const [value] = await this.getMany([key]);
    return value;
  }

  async getMany(keys: Buffer[]): Promise<(Buffer | undefined)[]> {
    // Synchronous, like every write here: an asynchronous read waits for a thread of
    // libuv's pool, which the process shares with node-rdkafka's blocking calls, and a
    // transactional call stuck in librdkafka (#5456) holds its thread for minutes.
    // Four of them stopped every stream thread's reads, and so the saga, for good after
    // a broker restart. A point lookup is microseconds from the memtable or block cache;
    // a stream thread is the only user of its stores (interactive queries take turns).
    return this.#run('get', async () => (keys.length === 0 ? [] : this.#db._getManySync(keys)));
  }

  /** One atomic batch, in order (a later write of a key wins); null deletes. */
  async write(entries: readonly StoreWrite[], options: { sync?: boolean } = {}): Promise<void> {
    return this.#run('write', async () => {
      if (entries.length === 0) return;
      // One WriteBatch per store, filled, written and cleared: the binding frees a batch
      // only when V8 collects its JS object, and V8 does not know the native bytes a
      // batch holds (a copy of every key and value). One batch per write, as db.batch(ops)
      // makes, grew the process by about 2 MiB per 1,000 orders (1.4 GiB of malloc arenas
      // after 800k orders, attributed to batch_put with jemalloc's profiler). Writes are
      // synchronous in the binding, so no other write runs between fill and clear.
      const batch = this.#batch;
      try {
        for (const e of entries) {
          if (e.value === null) batch._del(e.key, NO_OPTIONS);
          else batch._put(e.key, e.value, NO_OPTIONS);
        }
        batch._writeSync({ sync: options.sync === true });
      } finally {
        batch._clear();
      }
    });
  }

  /** Entries in key (byte) order within [gte, lt), after skipping `offset`, at most `limit`. */
  async range(options: RangeOptions = {}): Promise<StoreEntry[]> {
    const offset = options.offset ?? 0;
    checkInteger('range offset', offset, Number.MAX_SAFE_INTEGER);
    if (options.limit !== undefined) checkInteger('range limit', options.limit, Number.MAX_SAFE_INTEGER);
    return this.#run('range', async () => {
      if (options.limit === 0) return [];
      const it = this.#db.iterator({
        keys: true,
        values: true,
        ...(options.gte === undefined ? {} : { gte: options.gte }),
        ...(options.lt === undefined ? {} : { lt: options.lt }),
        ...(options.limit === undefined ? {} : { limit: offset + options.limit }),
      });
      const out: StoreEntry[] = [];
      let skipped = 0;
      try {
        // Synchronous pages, for the reason getMany gives.
        for (let page = it._nextvSync(kPageRows); page.rows.length > 0; page = it._nextvSync(kPageRows)) {
          const { rows } = page;
          for (let i = 0; i < rows.length; i += 2) {
            if (skipped < offset) skipped++;
            else out.push({ key: rows[i]!, value: rows[i + 1]! });
          }
          if (page.finished) break;
        }
      } finally {
        await it.close();
      }
      return out;
    });
  }

  /**
   * Estimated bytes of live data: SST files holding current values (compressed, as on
   * disk: rocksdb.estimate-live-data-size) plus the memtables
   * (rocksdb.cur-size-all-mem-tables). Not disk usage: obsolete versions awaiting
   * compaction, the WAL and metadata are not counted.
   */
  async approximateSizeBytes(): Promise<number> {
    this.#checkOpen('measure');
    return this.#property('rocksdb.estimate-live-data-size') + this.#property('rocksdb.cur-size-all-mem-tables');
  }

  /** Estimated number of keys (rocksdb.estimate-num-keys, as Kafka Streams' approximateNumEntries). */
  async approximateCount(): Promise<number> {
    this.#checkOpen('count');
    return this.#property('rocksdb.estimate-num-keys');
  }

  /** Refuses new operations, waits for those in flight, closes. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    this.#state = 'closing';
    if (this.#inFlight > 0) await new Promise<void>((done) => (this.#drained = done));
    try {
      await this.#db.close();
    } catch (err) {
      throw new EngineError('ORD_ERR_INTERNAL', `cannot close state store ${this.dir}: ${reason(err)}`, { cause: err });
    } finally {
      this.#state = 'closed';
      openHere.delete(this.dir);
    }
  }

  async #run<T>(op: string, fn: () => Promise<T>): Promise<T> {
    this.#checkOpen(op);
    this.#inFlight++;
    try {
      return await fn();
    } catch (err) {
      throw new EngineError('ORD_ERR_INTERNAL', `state store ${this.dir}: ${op} failed: ${reason(err)}`, { cause: err });
    } finally {
      if (--this.#inFlight === 0) this.#drained?.();
    }
  }

  #checkOpen(op: string): void {
    if (this.#state !== 'open') throw new EngineError('ORD_ERR_INTERNAL', `state store ${this.dir} is ${this.#state}: cannot ${op}`);
  }

  #property(name: string): number {
    const n = Number(this.#db.getProperty(name));
    return Number.isFinite(n) ? n : 0;
  }
}
