// The saga join: payment-orders ⋈ stock-orders by order id, records within
// JOIN_WINDOW_MS of each other (no grace), wall-clock timestamps. Each record is
// stored in the window and joined with the other side's records already there; every
// pair (P, S) yields the decision of src/domain/saga.ts, written to `orders` under the
// same key. A record that is not a valid OrderDto goes to the DLQ and the join goes on.
//
// A decision goes to its key's partition of `orders` (Kafka's default partitioner),
// as Kafka Streams partitions every sink record, not to the partition the answer came
// in on: a participant whose client partitions otherwise (librdkafka's default,
// consistent_random, is what Python, Go and C# clients use) puts its answers
// elsewhere, and a decision written beside them would split the order's key across
// two partitions of `orders`, leaving the store showing NEW forever.
import { parseOrderDto, serializeOrderDto } from '../domain/order-dto.js';
import { decide } from '../domain/saga.js';
import { partitionFor } from '../kafka/partitioner.js';
import { TOPIC_ORDERS } from '../kafka/topics.js';
import { deadLetter } from './dead-letter.js';
import { joinStoreKey, type JoinSide, type JoinWindow } from './join-window.js';
import type { InputRecord, OutputRecord } from './protocol.js';

export interface JoinWrites {
  /** Store key → value (null deletes), the store's writes in the open transaction. */
  set(key: string, value: Uint8Array | null): void;
}

export interface JoinOptions {
  readonly windowMs: number;
  /** Partitions of `orders`, where decisions go by key. */
  readonly numPartitions: number;
  readonly dlqPartitions: number;
  /** Topics carrying payment answers (payment-orders and its repartition topic); every other input carries stock answers. */
  readonly paymentTopics: ReadonlySet<string>;
  /** The longest an entry waits for the other side's input to pass its window (JOIN_MAX_WAIT_MS); unbounded when absent. */
  readonly maxWaitMs?: number;
  /** The wall clock, for how long entries stay (JoinWindow.expire); tests set it. */
  readonly clock?: () => number;
}

export class JoinProcessor {
  readonly #partition: number;
  readonly #window: JoinWindow;
  readonly #options: JoinOptions;

  constructor(partition: number, window: JoinWindow, options: JoinOptions) {
    this.#partition = partition;
    this.#window = window;
    this.#options = options;
  }

  /** Returns false when the record went to the DLQ instead. */
  process(record: InputRecord, outputs: OutputRecord[], writes: JoinWrites): boolean {
    const side: JoinSide = this.#options.paymentTopics.has(record.topic) ? 'P' : 'S';
    let dto;
    try {
      if (record.key === null || record.value === null) throw new Error('record has no key or no value');
      dto = parseOrderDto(Buffer.from(record.value.buffer, record.value.byteOffset, record.value.byteLength));
      if (String(dto.orderId) !== record.key) throw new Error(`key ${record.key} is not the orderId ${dto.orderId}`);
    } catch (err) {
      outputs.push(deadLetter(record, this.#partition, this.#options.dlqPartitions, err));
      return false;
    }
    const now = this.#now();
    const entry = { orderId: record.key, side, timestamp: record.timestamp, offset: record.offset, value: record.value, addedAt: now, processedAt: now };
    for (const other of this.#window.matches(entry.orderId, side, entry.timestamp, this.#options.windowMs, now)) {
      const otherDto = parseOrderDto(Buffer.from(other.value));
      const [payment, stock] = side === 'P' ? [dto, otherDto] : [otherDto, dto];
      outputs.push({
        topic: TOPIC_ORDERS,
        partition: partitionFor(entry.orderId, this.#options.numPartitions),
        key: entry.orderId,
        value: serializeOrderDto(decide(payment, stock)),
      });
    }
    this.#window.add(entry);
    writes.set(joinStoreKey(entry), entry.value);
    return true;
  }

  #now(): number {
    return (this.#options.clock ?? Date.now)();
  }

  /** Drops the entries the other side's input has passed (JoinWindow.expire), deleting them from the store. */
  expire(writes: JoinWrites): number {
    const now = this.#now();
    const maxWait = this.#options.maxWaitMs;
    const expired = this.#window.expire(this.#options.windowMs, now - this.#options.windowMs, maxWait === undefined ? Number.NEGATIVE_INFINITY : now - maxWait);
    for (const e of expired) writes.set(joinStoreKey(e), null);
    return expired.length;
  }
}
