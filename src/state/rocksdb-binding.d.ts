// The part of @nxtedition/rocksdb (an abstract-level 1.x store, no typings of its
// own) that rocksdb-store.ts uses. Option names are the ones binding.cc reads.
declare module '@nxtedition/rocksdb' {
  export interface RocksOpenOptions {
    createIfMissing?: boolean;
    errorIfExists?: boolean;
    /** Block cache (HyperClockCache) bytes; 0 disables it. A uint32 in the binding. */
    cacheSize?: number;
    /** 'level' sets write_buffer_size = memtableMemoryBudget / 4 and up to 6 memtables. */
    compaction?: 'level' | 'universal';
    memtableMemoryBudget?: number;
    /**
     * Default true: ZSTD with a 16 KiB dictionary trained on up to 1.6 MB of each
     * compaction's output. Under 'level', levels 0 and 1 are never compressed and levels
     * 2 and up always use ZSTD; false only drops the dictionary training.
     */
    compression?: boolean;
    infoLogLevel?: 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'header';
  }

  export type RocksBatchOperation = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

  export interface RocksIterator {
    nextv(size: number): Promise<[Buffer, Buffer][]>;
    /** Synchronous page: keys and values alternate in `rows`. */
    _nextvSync(size: number): { rows: Buffer[]; finished: boolean };
    close(): Promise<void>;
  }

  /**
   * The binding's chained batch: one native WriteBatch. Its underscore methods are the
   * binding's own (chained-batch.js), below abstract-level's checks; the public write()
   * closes the batch, these let one batch be filled, written and cleared again.
   */
  export interface RocksChainedBatch {
    _put(key: Buffer, value: Buffer, options: object): void;
    _del(key: Buffer, options: object): void;
    /** Writes the batch on the calling thread; `sync` fsyncs the WAL. */
    _writeSync(options: { sync?: boolean }): void;
    /** Empties the batch; the WriteBatch keeps its buffer for the next use. */
    _clear(): void;
  }

  export class RocksLevel {
    constructor(location: string, options?: { keyEncoding?: 'buffer'; valueEncoding?: 'buffer' });
    readonly status: 'opening' | 'open' | 'closing' | 'closed';
    open(options?: RocksOpenOptions): Promise<void>;
    getMany(keys: Buffer[]): Promise<(Buffer | undefined)[]>;
    /** The same lookup on the calling thread (no libuv threadpool round trip). */
    _getManySync(keys: Buffer[]): (Buffer | undefined)[];
    /** Written synchronously by the binding (one WriteBatch); `sync` fsyncs the WAL. */
    batch(operations: RocksBatchOperation[], options?: { sync?: boolean }): Promise<void>;
    /** A chained batch, closed with the database. */
    batch(): RocksChainedBatch;
    iterator(options: { gte?: Buffer; lt?: Buffer; limit?: number; keys?: boolean; values?: boolean }): RocksIterator;
    /** A RocksDB property (GetProperty) as a string; '' when unknown. Synchronous. */
    getProperty(name: string): string;
    close(): Promise<void>;
  }
}
