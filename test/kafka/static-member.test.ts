// The Kafka wire types static-member.ts writes and reads (flexible versions: compact
// strings and arrays with length + 1 as an unsigned varint, tagged-field sections).
import { describe, expect, it } from 'vitest';
import { Reader, Writer } from '../../src/kafka/static-member.js';

describe('Kafka wire types', () => {
  it('writes a LeaveGroup v5 body byte for byte', () => {
    const body = new Writer()
      .compactString('g')
      .compactArray(['i1'], (w, id) => w.compactString('').compactNullableString(id).compactNullableString(null).tags())
      .tags()
      .bytes();
    // group "g" | 1 member | member id "" | instance "i1" | reason null | tags | tags
    expect([...body]).toEqual([0x02, 0x67, 0x02, 0x01, 0x03, 0x69, 0x31, 0x00, 0x00, 0x00]);
  });

  it('writes a request header v2 with a plain (int16) client id', () => {
    const header = new Writer().int16(13).int16(5).int32(1).string('c').tags().bytes();
    expect([...header]).toEqual([0, 13, 0, 5, 0, 0, 0, 1, 0, 1, 0x63, 0]);
  });

  it('varints past one byte, both ways', () => {
    const bytes = new Writer().uvarint(300).uvarint(127).uvarint(2 ** 31).bytes();
    expect([...bytes.subarray(0, 3)]).toEqual([0xac, 0x02, 0x7f]);
    const r = new Reader(bytes);
    expect([r.uvarint(), r.uvarint(), r.uvarint()]).toEqual([300, 127, 2 ** 31]);
  });

  it('reads a FindCoordinator v4 answer, skipping tagged fields it does not know', () => {
    const w = new Writer()
      .int32(0)
      .compactArray([{ key: 'g', host: 'localhost', port: 9092 }], (w2, c) => w2.compactString(c.key).int32(1).compactString(c.host).int32(c.port).int16(0).compactNullableString(null).tags())
      .uvarint(1) // one tagged field: tag 0, 2 bytes
      .uvarint(0)
      .uvarint(2)
      .int16(7);
    const r = new Reader(w.bytes());
    expect(r.int32()).toBe(0);
    const coordinators = r.compactArray(() => {
      const key = r.compactString();
      const node = r.int32();
      const host = r.compactString();
      const port = r.int32();
      const error = r.int16();
      const message = r.compactNullableString();
      r.skipTags();
      return { key, node, host, port, error, message };
    });
    r.skipTags();
    expect(coordinators).toEqual([{ key: 'g', node: 1, host: 'localhost', port: 9092, error: 0, message: null }]);
  });

  it('a truncated answer is an error, not a wrong value', () => {
    expect(() => new Reader(Buffer.from([0, 1])).int32()).toThrow('truncated response');
    expect(() => new Reader(Buffer.from([0x05, 0x61])).compactString()).toThrow('truncated response');
  });
});
