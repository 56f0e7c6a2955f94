// Changelog records on their way from the changelog reader (kafka thread) to a task's
// stream thread, packed into one buffer that is transferred, not cloned.
//
// A restore moves every record of a store's history across threads. As an array of
// { topic, key, value } objects, the structured clone of each step's 5,000 records
// (piscina's postTask and postMessage) was a quarter of the kafka thread's time during
// a 1M-record restore, and the objects on both sides were most of its garbage. Packed,
// the hand-over is one copy of the bytes into the buffer and a transfer; the stream
// thread writes RocksDB from views into it.
//
// The changelog reader's consumer packs fetched records into this layout natively
// (native/packed-consumer.cc), one buffer per partition; RestoreBatchBuilder is the
// same packing in JavaScript (tests, and any caller holding records as objects).
//
// Layout, per record: u8 topic index (into `topics`), u32 key length, the key, i32
// value length (-1: a tombstone), the value. Little-endian. A record without a key
// has a key of length 0.

export interface RestoreBatch {
  /** The changelog topics the records' topic indexes refer to. */
  readonly topics: readonly string[];
  readonly count: number;
  readonly bytes: ArrayBuffer;
}

const HEADER = 1 + 4 + 4;

export class RestoreBatchBuilder {
  readonly #topics: string[] = [];
  readonly #topicIndex: number[] = [];
  readonly #keys: (Uint8Array | null)[] = [];
  readonly #values: (Uint8Array | null)[] = [];
  #size = 0;

  get count(): number {
    return this.#keys.length;
  }

  add(topic: string, key: Uint8Array | null | undefined, value: Uint8Array | null | undefined): void {
    let index = this.#topics.indexOf(topic);
    if (index < 0) {
      if (this.#topics.length === 255) throw new RangeError('a restore batch holds at most 255 topics');
      index = this.#topics.push(topic) - 1;
    }
    this.#topicIndex.push(index);
    this.#keys.push(key ?? null);
    this.#values.push(value ?? null);
    this.#size += HEADER + (key?.byteLength ?? 0) + (value?.byteLength ?? 0);
  }

  /** The packed batch: its buffer is the caller's to transfer. */
  build(): RestoreBatch {
    const bytes = new ArrayBuffer(this.#size);
    const out = new Uint8Array(bytes);
    const view = new DataView(bytes);
    let at = 0;
    for (let i = 0; i < this.#keys.length; i++) {
      const key = this.#keys[i]!;
      const value = this.#values[i]!;
      view.setUint8(at, this.#topicIndex[i]!);
      const keyLength = key?.byteLength ?? 0;
      view.setUint32(at + 1, keyLength, true);
      at += 5;
      if (key !== null) out.set(key, at);
      at += keyLength;
      view.setInt32(at, value === null ? -1 : value.byteLength, true);
      at += 4;
      if (value !== null) {
        out.set(value, at);
        at += value.byteLength;
      }
    }
    return { topics: [...this.#topics], count: this.#keys.length, bytes };
  }
}

/** Calls `each` for every record of the batch in order; key and value are views into its buffer. */
export function forEachRestoreRecord(batch: RestoreBatch, each: (topic: string, key: Buffer, value: Buffer | null) => void): void {
  const view = new DataView(batch.bytes);
  const end = batch.bytes.byteLength;
  let at = 0;
  for (let i = 0; i < batch.count; i++) {
    if (at + HEADER > end) throw new RangeError(`restore batch truncated at record ${i}`);
    const topic = batch.topics[view.getUint8(at)];
    if (topic === undefined) throw new RangeError(`restore batch record ${i} names topic ${view.getUint8(at)} of ${batch.topics.length}`);
    const keyLength = view.getUint32(at + 1, true);
    at += 5;
    if (at + keyLength + 4 > end) throw new RangeError(`restore batch truncated at record ${i}`);
    const key = Buffer.from(batch.bytes, at, keyLength);
    at += keyLength;
    const valueLength = view.getInt32(at, true);
    at += 4;
    let value: Buffer | null = null;
    if (valueLength >= 0) {
      if (at + valueLength > end) throw new RangeError(`restore batch truncated at record ${i}`);
      value = Buffer.from(batch.bytes, at, valueLength);
      at += valueLength;
    }
    each(topic, key, value);
  }
}
