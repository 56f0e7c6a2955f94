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
    infoLogLevel?: 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'header';
  }

  export type RocksBatchOperation = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

  export interface RocksIterator {
    nextv(size: number): Promise<[Buffer, Buffer][]>;
    /** Synchronous page: keys and values alternate in `rows`. */
    _nextvSync(size: number): { rows: Buffer[]; finished: boolean };
    close(): Promise<void>;
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
    iterator(options: { gte?: Buffer; lt?: Buffer; limit?: number; keys?: boolean; values?: boolean }): RocksIterator;
    /** A RocksDB property (GetProperty) as a string; '' when unknown. Synchronous. */
    getProperty(name: string): string;
    close(): Promise<void>;
  }
}
