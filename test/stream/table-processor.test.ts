import { describe, expect, it } from 'vitest';
import { CacheSliceWriter, createCacheBuffer } from '../../src/state/cache.js';
import type { InputRecord, OutputRecord } from '../../src/stream/protocol.js';
import { TableProcessor, type TableWrites } from '../../src/stream/table-processor.js';
import { rng } from '../support/rng.js';

const PARTITION = 2;

/** The store writes of the open transaction, in order, and their net effect. */
class RecordingWrites implements TableWrites {
  readonly log: [key: string, value: string | null][] = [];
  readonly map = new Map<string, string | null>();
  set(key: string, value: Uint8Array | null): void {
    // Copied out at once: the cache hands back pooled Buffers.
    const v = value === null ? null : Buffer.from(value).toString('utf8');
    this.log.push([key, v]);
    this.map.set(key, v);
  }
}

/** An OrderDto of `items` items (about 60 bytes each); `version` makes every update distinct. */
function orderJson(orderId: number, version: number, items = 1): string {
  return JSON.stringify({
    orderId,
    customerId: version + 1,
    status: 'CONFIRMED',
    source: null,
    items: Array.from({ length: items }, (_, i) => ({ itemId: i, productId: `PRODUCT-${i}`, quantity: 1 + i, productPrice: 10.5 })),
  });
}

function rec(key: string | null, value: string | null, offset = 0): InputRecord {
  return { topic: 'orders', offset, key, value: value === null ? null : Buffer.from(value), timestamp: 0 };
}

/** A cache of `maxBytes` for PARTITION + 1 tasks, and the writer of this task's slice. */
function cached(maxBytes: number): { processor: TableProcessor; writer: CacheSliceWriter; maxValueBytes: number } {
  const { sab, layout } = createCacheBuffer(maxBytes * (PARTITION + 1), PARTITION + 1);
  const writer = new CacheSliceWriter(sab, PARTITION, layout);
  return { processor: new TableProcessor(PARTITION, writer, 6), writer, maxValueBytes: layout.maxValueBytes };
}

describe('TableProcessor with the record cache', () => {
  it('dedupes the updates of one key between flushes to one write of the latest value, at flush()', () => {
    const { processor } = cached(64 * 1024);
    const writes = new RecordingWrites();
    const outputs: OutputRecord[] = [];
    for (let v = 1; v <= 5; v++) expect(processor.process(rec('12', orderJson(12, v)), outputs, writes)).toBe(true);
    expect(writes.log).toEqual([]);
    processor.flush(writes);
    expect(writes.log).toEqual([['12', orderJson(12, 5)]]);
    expect(outputs).toEqual([]);
  });

  it('writes each key once per flush, and nothing at a flush with no updates', () => {
    const { processor } = cached(64 * 1024);
    const writes = new RecordingWrites();
    for (const id of [3, 1, 2, 1, 3]) processor.process(rec(String(id), orderJson(id, id)), [], writes);
    processor.flush(writes);
    expect(writes.log.map(([k]) => k).sort()).toEqual(['1', '2', '3']);
    writes.log.length = 0;
    processor.flush(writes);
    expect(writes.log).toEqual([]);
    processor.process(rec('2', orderJson(2, 99)), [], writes);
    processor.flush(writes);
    expect(writes.log).toEqual([['2', orderJson(2, 99)]]);
  });

  it('turns a tombstone into a null write at flush, superseding the cached value', () => {
    const { processor } = cached(64 * 1024);
    const writes = new RecordingWrites();
    processor.process(rec('7', orderJson(7, 1)), [], writes);
    expect(processor.process(rec('7', null), [], writes)).toBe(true);
    expect(writes.log).toEqual([]);
    processor.flush(writes);
    expect(writes.log).toEqual([['7', null]]);
  });

  it('writes a tombstone of a key it never cached as a null at flush', () => {
    const { processor } = cached(64 * 1024);
    const writes = new RecordingWrites();
    processor.process(rec('8', null), [], writes);
    processor.flush(writes);
    expect(writes.log).toEqual([['8', null]]);
  });

  it('writes a value too large for the cache through at once, and a later flush does not bring back the older value', () => {
    const { processor, maxValueBytes } = cached(4096);
    const small = orderJson(5, 1, 1);
    let big = orderJson(5, 2, 1);
    for (let n = 2; big.length <= maxValueBytes; n++) big = orderJson(5, 2, n);
    expect(small.length).toBeLessThanOrEqual(maxValueBytes);

    const writes = new RecordingWrites();
    processor.process(rec('5', small), [], writes);
    expect(writes.log).toEqual([]);
    expect(processor.process(rec('5', big), [], writes)).toBe(true);
    expect(writes.log).toEqual([['5', big]]);
    processor.flush(writes);
    expect(writes.map.get('5')).toBe(big);
  });

  it('evicts dirty entries of a tiny cache into the writes before flush, with their latest values', () => {
    const { processor, writer } = cached(4096);
    const writes = new RecordingWrites();
    const ids = Array.from({ length: 3 * writer.stats().slots }, (_, i) => 1000 + i);
    for (const id of ids) processor.process(rec(String(id), orderJson(id, 1)), [], writes);
    // More single-slot entries than slots: some were pushed out already.
    expect(writes.log.length).toBeGreaterThan(0);
    for (const [key, value] of writes.log) expect(value).toBe(orderJson(Number(key), 1));
    processor.flush(writes);
    expect(writes.map.size).toBe(ids.length);
    for (const id of ids) expect(writes.map.get(String(id))).toBe(orderJson(id, 1));
  });

  // Model check of the write-back contract: whatever the cache evicts, writes through
  // or keeps, the writes applied in order leave the store with the latest value of
  // every key at every commit. 4 KiB: 19 slots of 168 payload bytes, values of 1 or 2
  // slots and some too big to cache (1..5 items), 30 keys: evictions all the time.
  it.each([1, 2, 3, 42, 2024, 65_537])('loses no update through evictions, write-throughs and flushes (seed %i)', (seed) => {
    const { processor, maxValueBytes } = cached(4096);
    const random = rng(seed);
    const writes = new RecordingWrites();
    const model = new Map<string, string | null>();
    let evictedBeforeFlush = 0;
    let tooBig = 0;
    for (let i = 0; i < 3_000; i++) {
      const r = random();
      if (r < 0.1) {
        processor.flush(writes);
        expect(writes.map).toEqual(model);
        continue;
      }
      const id = 1 + Math.floor(random() * 30);
      const value = r < 0.25 ? null : orderJson(id, i, 1 + Math.floor(random() * 5));
      if (value !== null && value.length > maxValueBytes) tooBig++;
      const before = writes.log.length;
      expect(processor.process(rec(String(id), value), [], writes)).toBe(true);
      evictedBeforeFlush += writes.log.slice(before).filter(([k]) => k !== String(id)).length;
      model.set(String(id), value);
    }
    processor.flush(writes);
    expect(writes.map).toEqual(model);
    // The run exercised what it claims to.
    expect(evictedBeforeFlush).toBeGreaterThan(0);
    expect(tooBig).toBeGreaterThan(0);
  });
});

describe('TableProcessor input', () => {
  it.each([true, false])('reads a value that is a view into a larger buffer (byteOffset honoured), cache=%s', (withCache) => {
    const processor = withCache ? cached(64 * 1024).processor : new TableProcessor(PARTITION, undefined, 6);
    const json = Buffer.from(orderJson(3, 1));
    const backing = Buffer.alloc(json.length + 20, 0x7b); // '{' around it: garbage if read from 0
    json.copy(backing, 10);
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 10, json.length);
    const writes = new RecordingWrites();
    const outputs: OutputRecord[] = [];
    expect(processor.process({ topic: 'orders', offset: 0, key: '3', value: view, timestamp: 0 }, outputs, writes)).toBe(true);
    processor.flush(writes);
    expect(outputs).toEqual([]);
    expect(writes.log).toEqual([['3', json.toString()]]);
  });
});

describe('TableProcessor without a cache', () => {
  it('writes every record through at once, in order, tombstones included', () => {
    const processor = new TableProcessor(PARTITION, undefined, 6);
    const writes = new RecordingWrites();
    const inputs = [rec('1', orderJson(1, 1)), rec('1', orderJson(1, 2)), rec('2', orderJson(2, 1)), rec('1', null)];
    for (const r of inputs) expect(processor.process(r, [], writes)).toBe(true);
    expect(writes.log).toEqual([
      ['1', orderJson(1, 1)],
      ['1', orderJson(1, 2)],
      ['2', orderJson(2, 1)],
      ['1', null],
    ]);
    processor.flush(writes);
    expect(writes.log).toHaveLength(4);
  });
});

describe('TableProcessor: records that are not an order go to the DLQ', () => {
  const valid5 = orderJson(5, 1);
  it.each([
    { name: 'a non-numeric key', key: 'abc', value: valid5 },
    { name: 'an empty key', key: '', value: valid5 },
    { name: 'a null key', key: null, value: valid5 },
    { name: 'a null key with a null value', key: null, value: null },
    { name: 'a non-numeric key with a null value', key: 'abc', value: null },
    { name: 'a zero-padded key', key: '05', value: valid5 },
    { name: 'a negative key', key: '-5', value: orderJson(5, 1) },
    { name: 'a tombstone with a negative key', key: '-5', value: null },
    { name: 'a tombstone keyed 2^63 (not a long)', key: '9223372036854775808', value: null },
    { name: 'a fractional key', key: '5.5', value: valid5 },
    { name: 'a key in exponent form', key: '5e0', value: valid5 },
    { name: 'a key beyond 2^63 - 1', key: '9223372036854775808', value: valid5 },
    { name: 'a key past 2^53 that is not the orderId', key: '9007199254740993', value: valid5 },
    { name: 'a key that is not the orderId', key: '6', value: valid5 },
    { name: 'invalid JSON', key: '5', value: '{"orderId":5,' },
    { name: 'JSON that is not an OrderDto', key: '5', value: '{"orderId":5}' },
  ])('$name: one DLQ record with the original key and bytes, process() is false, nothing stored', ({ key, value }) => {
    for (const withCache of [true, false]) {
      const processor = withCache ? cached(64 * 1024).processor : new TableProcessor(PARTITION, undefined, 6);
      const writes = new RecordingWrites();
      const outputs: OutputRecord[] = [];
      const input: InputRecord = { ...rec(key, value), offset: 99 };
      expect(processor.process(input, outputs, writes)).toBe(false);
      expect(outputs).toHaveLength(1);
      const dlq = outputs[0]!;
      expect(dlq.topic).toBe('recovererDLQ');
      expect(dlq.partition).toBe(PARTITION);
      expect(dlq.key).toBe(key ?? '');
      expect(dlq.value).toBe(input.value);
      const headers: Record<string, string> = Object.assign({}, ...(dlq.headers ?? []));
      expect(headers['kafka_dlt-original-topic']).toBe('orders');
      expect(headers['kafka_dlt-original-offset']).toBe('99');
      expect(headers['kafka_dlt-exception-message']?.length).toBeGreaterThan(0);
      processor.flush(writes);
      expect(writes.log).toEqual([]);
    }
  });
});
