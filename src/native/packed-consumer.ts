// A librdkafka consumer (native/packed-consumer.cc) that hands over what it fetched as
// one packed ArrayBuffer per partition, in the layout of src/stream/restore-batch.ts:
//   - the changelog reader's: manual assignment, partition EOFs, every record;
//   - the status projector's: a group member that commits, keeping only the records
//     whose value holds one of a few byte strings (valueContains), with their offsets.
// node-rdkafka builds a JS object with copied Buffers for every record, which was half
// of the kafka thread's time in a restore.
//
// One fetch at a time; close() waits for it. Partition EOFs and client errors come back
// with the records of the fetch that met them; takeErrors() serves the errors of a
// consumer that has nothing to fetch (librdkafka keeps them until served).
import { binding, type NativeClientError, type NativeFetchResult, type NativePackedConsumer } from './binding.js';

export type { NativeClientError, NativeFetchedBatch, NativeFetchResult } from './binding.js';

export interface PackedConsumerOptions {
  /**
   * Keep only records whose value holds one of these strings (UTF-8 bytes, anywhere in
   * it); the others, and tombstones, only move their partition's position. Empty: all.
   */
  readonly valueContains?: readonly string[];
  /** Report each kept record's offset (`offsets` of its batch). */
  readonly offsets?: boolean;
}

export interface FetchOptions {
  /** Records taken at most. */
  readonly maxRecords: number;
  /** Stop taking records once this many key and value bytes are taken (the last record may pass it). */
  readonly maxBytes: number;
  /** How long to wait for the first record; the rest are taken as fetched. */
  readonly waitMs: number;
}

export interface TopicPartitionOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

function checkPartitions(list: readonly { topic: string; partition: number; offset?: number }[], withOffsets: boolean): void {
  for (const p of list) {
    if (typeof p.topic !== 'string' || p.topic.length === 0) throw new TypeError(`a topic name is required, got ${String(p.topic)}`);
    if (!Number.isInteger(p.partition) || p.partition < 0) throw new RangeError(`partition must be a non-negative integer, got ${p.partition}`);
    if (withOffsets && !Number.isSafeInteger(p.offset)) throw new RangeError(`offset must be an integer, got ${String(p.offset)}`);
  }
}

export class PackedConsumer {
  readonly #native: NativePackedConsumer;
  #fetching: Promise<NativeFetchResult> | undefined;
  #closed = false;

  /** `config`: librdkafka properties (global and default-topic ones). */
  constructor(config: Readonly<Record<string, string | number | boolean>>, options: PackedConsumerOptions = {}) {
    const strings: Record<string, string> = {};
    for (const [k, v] of Object.entries(config)) strings[k] = String(v);
    const valueContains = [...(options.valueContains ?? [])];
    if (valueContains.some((v) => typeof v !== 'string' || v.length === 0)) throw new TypeError('valueContains holds non-empty strings only');
    this.#native = new binding.PackedConsumer(strings, { valueContains, offsets: options.offsets === true });
  }

  /** Joins the group (group.id) for these topics: partitions are assigned and revoked inside a fetch's poll, and each fetch reports the assignment. */
  subscribe(topics: readonly string[]): void {
    if (topics.length === 0 || topics.some((t) => typeof t !== 'string' || t.length === 0)) throw new TypeError('subscribe takes one topic name or more');
    this.#native.subscribe([...topics]);
  }

  /** Commits the group's offsets (the next offset to read per partition) asynchronously; a failure comes back as a client error. */
  commit(offsets: readonly TopicPartitionOffset[]): void {
    checkPartitions(offsets, true);
    if (offsets.length > 0) this.#native.commit(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })));
  }

  /** Adds partitions to the assignment, each read from its offset. */
  assign(partitions: readonly TopicPartitionOffset[]): void {
    checkPartitions(partitions, true);
    if (partitions.length > 0) this.#native.assign(partitions.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.offset })));
  }

  /** Removes partitions from the assignment. */
  unassign(partitions: readonly { topic: string; partition: number }[]): void {
    checkPartitions(partitions, false);
    if (partitions.length > 0) this.#native.unassign(partitions.map((p) => ({ topic: p.topic, partition: p.partition })));
  }

  fetch(options: FetchOptions): Promise<NativeFetchResult> {
    if (this.#closed) return Promise.reject(new Error('the packed consumer is closed'));
    if (this.#fetching !== undefined) return Promise.reject(new Error('a fetch is already running'));
    const { maxRecords, maxBytes, waitMs } = options;
    if (!Number.isInteger(maxRecords) || maxRecords < 1 || maxRecords > 2 ** 31 - 1) throw new RangeError(`maxRecords must be a positive integer, got ${maxRecords}`);
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new RangeError(`maxBytes must be a positive integer, got ${maxBytes}`);
    if (!Number.isInteger(waitMs) || waitMs < 0 || waitMs > 2 ** 31 - 1) throw new RangeError(`waitMs must be a non-negative integer, got ${waitMs}`);
    const fetching = new Promise<NativeFetchResult>((resolve, reject) => {
      this.#native.fetch(maxRecords, maxBytes, waitMs, (err, result) => (err ? reject(err) : resolve(result)));
    });
    this.#fetching = fetching;
    const done = (): void => {
      if (this.#fetching === fetching) this.#fetching = undefined;
    };
    fetching.then(done, done);
    return fetching;
  }

  /** The partition's low and high watermarks, asked of its leader. */
  watermarks(topic: string, partition: number, timeoutMs: number): Promise<{ lowOffset: number; highOffset: number }> {
    checkPartitions([{ topic, partition }], false);
    if (this.#closed) return Promise.reject(new Error('the packed consumer is closed'));
    return new Promise((resolve, reject) => {
      this.#native.watermarks(topic, partition, Math.max(0, Math.trunc(timeoutMs)), (err, o) => (err ? reject(err) : resolve(o)));
    });
  }

  /** The client errors reported since the last fetch or call (a broker away...); never waits. */
  takeErrors(): NativeClientError[] {
    return this.#closed ? [] : this.#native.takeErrors();
  }

  /** Waits for a running fetch, then closes the client (idempotent). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#fetching?.catch(() => undefined);
    await new Promise<void>((resolve, reject) => this.#native.close((err) => (err ? reject(err) : resolve())));
  }
}
