// orders-store: `orders` materialized as the latest OrderDto per order id. Updates go
// into the write-back cache (deduplicated per key between commits); the cache hands
// back dirty entries when it evicts them and at commit, and only those become
// changelog records and RocksDB writes, as Kafka Streams' caching store does.
import { parseId64 } from '../domain/id64.js';
import { parseOrderDto } from '../domain/order-dto.js';
import type { CacheSliceWriter } from '../state/cache.js';
import { deadLetter } from './dead-letter.js';
import type { InputRecord, OutputRecord } from './protocol.js';

export interface TableWrites {
  set(key: string, value: Uint8Array | null): void;
}

export class TableProcessor {
  readonly #partition: number;
  readonly #cache: CacheSliceWriter | undefined;
  readonly #dlqPartitions: number;
  /** Records processed so far: a read can tell whether the table changed while it waited. */
  processed = 0;

  constructor(partition: number, cache: CacheSliceWriter | undefined, dlqPartitions: number) {
    this.#partition = partition;
    this.#cache = cache;
    this.#dlqPartitions = dlqPartitions;
  }

  process(record: InputRecord, outputs: OutputRecord[], writes: TableWrites): boolean {
    this.processed++;
    // Exact for any long (id64.ts): Number() would make two TSIDs past 2^53 one key.
    const id = record.key === null ? undefined : parseId64(record.key);
    try {
      if (id === undefined) throw new Error(`key ${String(record.key)} is not an order id`);
      // A tombstone deletes; anything else must be an OrderDto of this order.
      if (record.value !== null) {
        const dto = parseOrderDto(Buffer.from(record.value.buffer, record.value.byteOffset, record.value.byteLength));
        if (dto.orderId !== id) throw new Error(`key ${id} is not the orderId ${dto.orderId}`);
      }
    } catch (err) {
      outputs.push(deadLetter(record, this.#partition, this.#dlqPartitions, err));
      return false;
    }
    const key = String(id);
    if (this.#cache === undefined) {
      writes.set(key, record.value);
      return true;
    }
    // A delete is cached like a value (a dirty tombstone) and can evict like one.
    const { cached, evicted } = record.value === null ? this.#cache.delete(id) : this.#cache.put(id, record.value, { dirty: true });
    for (const e of evicted) writes.set(String(e.key), e.value);
    if (!cached) writes.set(key, record.value); // larger than the cache can hold: write through
    return true;
  }

  /** Moves every dirty cache entry into the transaction's writes. */
  flush(writes: TableWrites): void {
    if (this.#cache === undefined) return;
    for (const e of this.#cache.flushDirty()) writes.set(String(e.key), e.value);
  }
}
