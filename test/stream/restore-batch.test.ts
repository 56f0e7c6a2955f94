import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { forEachRestoreRecord, RestoreBatchBuilder, type RestoreBatch } from '../../src/stream/restore-batch.js';

interface Rec {
  readonly topic: string;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
}

const pack = (records: readonly Rec[]): RestoreBatch => {
  const b = new RestoreBatchBuilder();
  for (const r of records) b.add(r.topic, r.key, r.value);
  return b.build();
};

const unpack = (batch: RestoreBatch): { topic: string; key: string; value: string | null }[] => {
  const out: { topic: string; key: string; value: string | null }[] = [];
  forEachRestoreRecord(batch, (topic, key, value) => out.push({ topic, key: key.toString('hex'), value: value === null ? null : value.toString('hex') }));
  return out;
};

describe('a packed restore batch', () => {
  it('gives back every record in order: topic, key and value (a tombstone stays null, a missing key is empty)', () => {
    const records: Rec[] = [
      { topic: 'app-orders-store-changelog', key: Buffer.from('42'), value: Buffer.from('{"id":42}') },
      { topic: 'app-saga-join-store-changelog', key: Buffer.from('42|P|1'), value: null },
      { topic: 'app-orders-store-changelog', key: null, value: Buffer.alloc(0) },
    ];
    const batch = pack(records);
    expect(batch.count).toBe(3);
    expect(batch.topics).toEqual(['app-orders-store-changelog', 'app-saga-join-store-changelog']);
    expect(unpack(batch)).toEqual([
      { topic: 'app-orders-store-changelog', key: Buffer.from('42').toString('hex'), value: Buffer.from('{"id":42}').toString('hex') },
      { topic: 'app-saga-join-store-changelog', key: Buffer.from('42|P|1').toString('hex'), value: null },
      { topic: 'app-orders-store-changelog', key: '', value: '' },
    ]);
  });

  it('round-trips any records (property)', () => {
    const rec = fc.record({
      topic: fc.constantFrom('a', 'b', 'c'),
      key: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }),
      value: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null }),
    });
    fc.assert(
      fc.property(fc.array(rec, { maxLength: 50 }), (records) => {
        const hex = (b: Uint8Array | null): string | null => (b === null ? null : Buffer.from(b).toString('hex'));
        expect(unpack(pack(records))).toEqual(records.map((r) => ({ topic: r.topic, key: hex(r.key) ?? '', value: hex(r.value) })));
      }),
    );
  });

  it('its buffer is its own, so it can be transferred, and the views read from it without copies', () => {
    const batch = pack([{ topic: 't', key: Buffer.from('k'), value: Buffer.from('v') }]);
    forEachRestoreRecord(batch, (_topic, key, value) => {
      expect(key.buffer).toBe(batch.bytes);
      expect(value?.buffer).toBe(batch.bytes);
    });
    const { port1, port2 } = new MessageChannel();
    port1.postMessage(batch, [batch.bytes]);
    expect(batch.bytes.byteLength).toBe(0); // detached: moved, not cloned
    port1.close();
    port2.close();
  });

  it('refuses a truncated or inconsistent buffer with a RangeError instead of reading past it', () => {
    const batch = pack([{ topic: 't', key: Buffer.from('key'), value: Buffer.from('value') }]);
    expect(() => forEachRestoreRecord({ ...batch, bytes: batch.bytes.slice(0, 10) }, () => undefined)).toThrow(RangeError);
    expect(() => forEachRestoreRecord({ ...batch, count: 2 }, () => undefined)).toThrow(RangeError);
    expect(() => forEachRestoreRecord({ ...batch, topics: [] }, () => undefined)).toThrow(RangeError);
  });
});
