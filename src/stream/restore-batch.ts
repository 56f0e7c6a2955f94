// The changelog records of one restore step for one task, packed for the trip from the
// kafka thread to the stream thread that owns the task: two buffers moved (transferred,
// not copied or cloned) with the message, whatever the number of records.
//
//   data    ArrayBuffer   key bytes, then value bytes, of every record, back to back
//   index   Int32Array    3 per record: changelog (an index into `changelogs`),
//                         key length, value length (-1: a tombstone, which deletes)
//
// Structured clone of one object per record (a topic string, a key string, a value
// Buffer) cost the kafka thread more than reading the records did, and the stream
// thread as much again to rebuild them plus the garbage of both (the restore profile in
// docs/performance.md). Packed, a record costs a copy of its bytes on one side and two
// Buffer views on the other, and RocksDB copies from those views into its write batch.
//
// Written by the kafka thread (src/engine/changelog-reader.ts), read by a stream thread
// (src/stream/task.ts): no node-rdkafka types here.

/** A fetched changelog record: what the reader takes from a consumed message. */
export interface ChangelogRecordBytes {
  readonly topic: string;
  /** A string only if a client deserialized it; null or absent: the empty key. */
  readonly key?: Buffer | string | null | undefined;
  /** null or absent: a tombstone. */
  readonly value: Buffer | null | undefined;
}

const keyBytes = (key: Buffer | string | null | undefined): Buffer | undefined => (typeof key === 'string' ? Buffer.from(key) : (key ?? undefined));

export interface RestoreBatch {
  readonly changelogs: readonly string[];
  readonly count: number;
  readonly data: ArrayBuffer;
  readonly index: Int32Array;
}

const FIELDS = 3;
const TOMBSTONE = -1;

/** Packs `records` (in changelog order) into one batch. */
export function encodeRestoreBatch(records: readonly ChangelogRecordBytes[]): RestoreBatch {
  const changelogs: string[] = [];
  let bytes = 0;
  const keys = records.map((r) => keyBytes(r.key));
  for (let n = 0; n < records.length; n++) bytes += (keys[n]?.length ?? 0) + (records[n]!.value?.length ?? 0);
  const data = new ArrayBuffer(bytes);
  const out = new Uint8Array(data);
  const index = new Int32Array(records.length * FIELDS);
  let at = 0;
  let i = 0;
  let lastTopic = '';
  let lastChangelog = -1;
  for (let n = 0; n < records.length; n++) {
    const r = records[n]!;
    if (r.topic !== lastTopic || lastChangelog < 0) {
      lastTopic = r.topic;
      lastChangelog = changelogs.indexOf(r.topic);
      if (lastChangelog < 0) lastChangelog = changelogs.push(r.topic) - 1;
    }
    index[i++] = lastChangelog;
    const key = keys[n];
    index[i++] = key?.length ?? 0;
    if (key !== undefined) {
      out.set(key, at);
      at += key.length;
    }
    const value = r.value ?? undefined;
    index[i++] = value === undefined ? TOMBSTONE : value.length;
    if (value !== undefined) {
      out.set(value, at);
      at += value.length;
    }
  }
  return { changelogs, count: records.length, data, index };
}

/** What a batch is moved with: its two buffers, which the sender can no longer use. */
export function restoreBatchTransferList(batch: RestoreBatch): ArrayBuffer[] {
  return batch.index.buffer === batch.data ? [batch.data] : [batch.data, batch.index.buffer as ArrayBuffer];
}

/**
 * Calls `each` for every record in order, with views into the batch's data (valid while
 * the batch is: copy what must outlive it). value undefined: a tombstone.
 */
export function forEachRestoreRecord(batch: RestoreBatch, each: (changelog: string, key: Buffer, value: Buffer | undefined) => void): void {
  const { index, data, changelogs } = batch;
  let at = 0;
  for (let i = 0; i < batch.count * FIELDS; i += FIELDS) {
    const changelog = changelogs[index[i]!]!;
    const keyLength = index[i + 1]!;
    const key = Buffer.from(data, at, keyLength);
    at += keyLength;
    const valueLength = index[i + 2]!;
    let value: Buffer | undefined;
    if (valueLength !== TOMBSTONE) {
      value = Buffer.from(data, at, valueLength);
      at += valueLength;
    }
    each(changelog, key, value);
  }
}
