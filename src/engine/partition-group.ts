// The records the stream loop has taken from the consumer but not yet processed, per
// input partition, after Kafka Streams' PartitionGroup: a task joins two topics, and it
// takes their records in timestamp order, not in the order the fetches happened to
// queue them.
//
// Why it matters: librdkafka queues a fetch's partitions one after another, and after
// a backlog (a restart, an outage) one fetch can hold thousands of one topic's records
// ahead of any of the other's (a participant's producer batches a burst of answers into
// record batches of up to 1 MB, which the broker hands out whole). Processed in queue
// order, nothing joins until the other topic's turn comes: 4 to 5 s of 300 orders/s
// after 45 s of backlog, every answer of one side waiting in the join store.
//
// The rule, without the consumer's lag (which read_committed and transaction markers
// make unreliable): a record is released once every input partition of its task has
// shown a record at least as recent (the task's "safe time"), in timestamp order
// across the task's partitions and offset order within each. While polls come back
// full the local queue holds more, so records past the safe time wait for it; once a
// poll comes back short, everything fetched has been seen and all is released. At
// steady load polls are short, so nothing waits. A bound on the records held releases
// everything too, oldest first, so read-ahead never outgrows it; and a task's records
// wait at most `maxIdleMs` for its other inputs (Kafka Streams' max.task.idle.ms), so
// an input that never shows anything (a repartition topic nobody needs) costs no more.
// The stream loop pauses a partition whose queue runs far ahead (sizeOf, aheadOf: Kafka
// Streams' buffered.records.per.partition), so under a backlog the bound is rarely what
// releases records.

export interface PartitionRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp?: number | undefined;
}

export interface HeldPosition {
  readonly topic: string;
  readonly partition: number;
  /** The first offset held: where the partition must be rewound to if the records are dropped. */
  readonly offset: number;
}

const timeOf = (r: PartitionRecord): number => (r.timestamp !== undefined && r.timestamp > 0 ? r.timestamp : 0);

/**
 * Taken slots a queue keeps before it compacts: below this, or while the taken part is
 * smaller than the live part, shift() only moves the head.
 */
const COMPACT_AFTER = 1024;

/**
 * One partition's held records, a FIFO with a moving head (no Array#shift per record).
 * A taken slot is cleared at once, and the array is cut down to its live part once the
 * taken part is both large and the larger half: under a steady backlog the queue never
 * runs empty, and without that every record it ever held stayed reachable from the
 * array (a fresh application id replaying `orders` filled the kafka thread's heap
 * with 250k records, 40k per queue, until the process died).
 */
class RecordQueue<R extends PartitionRecord> {
  #records: (R | undefined)[] = [];
  #head = 0;
  /** The newest timestamp this partition has shown since it was last dropped. */
  latest = -Infinity;
  /** When records last arrived for this partition (performance.now()). */
  lastAddedAt = -Infinity;

  get size(): number {
    return this.#records.length - this.#head;
  }

  peek(): R | undefined {
    return this.#records[this.#head];
  }

  push(r: R): void {
    this.#records.push(r);
    this.latest = Math.max(this.latest, timeOf(r));
  }

  shift(): R {
    const r = this.#records[this.#head]!;
    this.#records[this.#head++] = undefined;
    if (this.#head === this.#records.length) {
      this.#records = [];
      this.#head = 0;
    } else if (this.#head >= COMPACT_AFTER && this.#head * 2 >= this.#records.length) {
      this.#records = this.#records.slice(this.#head);
      this.#head = 0;
    }
    return r;
  }
}

export class PartitionGroup<R extends PartitionRecord> {
  readonly #sources: readonly string[];
  readonly #maxRecords: number;
  /** Per task (partition number), per source topic in `sources` order. */
  readonly #tasks = new Map<number, Map<string, RecordQueue<R>>>();
  #size = 0;
  /** Which task take() serves first. */
  #turn = 0;
  readonly #maxIdleMs: number;
  /** Per task: since when its oldest held record has waited (performance.now()). */
  readonly #waitingSince = new Map<number, number>();
  /** Records released because more than maxRecords were held (not by timestamp), since the start. */
  #releasedPastBound = 0;

  /**
   * `sources`: the input topics every task reads (co-partitioned).
   * `maxRecords`: the most records held; past it, everything held is released.
   * `maxIdleMs`: the longest a task's records wait for its other inputs.
   */
  constructor(sources: readonly string[], maxRecords: number, maxIdleMs = 500) {
    this.#sources = sources;
    this.#maxRecords = maxRecords;
    this.#maxIdleMs = maxIdleMs;
  }

  /** Records held, all partitions together. */
  get size(): number {
    return this.#size;
  }

  /** Records released because the bound was reached rather than in timestamp order, since the start. */
  get releasedPastBound(): number {
    return this.#releasedPastBound;
  }

  /** Records held for one input partition. */
  sizeOf(topic: string, partition: number): number {
    return this.#tasks.get(partition)?.get(topic)?.size ?? 0;
  }

  /**
   * The input partitions holding more than `max` records while another input of their
   * task is still being read: it holds records, or records arrived for it within the
   * idle time. Their records wait for that input's time to catch up. (A partition ahead
   * of inputs that show nothing, caught up or empty, is not listed: its records go on by
   * the idle time, the bound or a short poll, and pausing it would not bring the
   * others' records any sooner.)
   */
  aheadOf(max: number, now = performance.now()): { topic: string; partition: number }[] {
    const out: { topic: string; partition: number }[] = [];
    for (const [partition, queues] of this.#tasks) {
      for (const [topic, queue] of queues) {
        if (queue.size <= max) continue;
        for (const [other, q] of queues) {
          if (other !== topic && (q.size > 0 || now - q.lastAddedAt < this.#maxIdleMs)) {
            out.push({ topic, partition });
            break;
          }
        }
      }
    }
    return out;
  }

  /** Takes in records from the consumer, each partition's in offset order. */
  add(records: readonly R[], now = performance.now()): void {
    for (const r of records) {
      const queue = this.#queue(r.partition, r.topic);
      queue.push(r);
      queue.lastAddedAt = now;
      if (!this.#waitingSince.has(r.partition)) this.#waitingSince.set(r.partition, now);
      this.#size++;
    }
  }

  /**
   * At most `limit` records to process now, each task's in timestamp order across its
   * partitions. `drained`: the last poll came back short (everything fetched has been
   * seen). The limit keeps one batch (and so the time to the next commit) as small as
   * a poll's; the tasks take turns being first, so none waits behind the others.
   */
  take(drained: boolean, limit = Infinity, now = performance.now()): R[] {
    if (this.#size === 0) return [];
    const all = drained || this.#size > this.#maxRecords;
    const out: R[] = [];
    const tasks = [...this.#tasks];
    for (let i = 0; i < tasks.length && out.length < limit; i++) {
      const [task, queues] = tasks[(this.#turn + i) % tasks.length]!;
      let safe = Infinity;
      if (!all && now - (this.#waitingSince.get(task) ?? now) < this.#maxIdleMs) {
        for (const topic of this.#sources) safe = Math.min(safe, queues.get(topic)?.latest ?? -Infinity);
      }
      const before = out.length;
      this.#merge(queues, safe, out, limit);
      if (out.length > before) this.#restartWait(task, queues, now);
    }
    this.#turn++;
    this.#size -= out.length;
    if (all && !drained) this.#releasedPastBound += out.length;
    return out;
  }

  /** After records of a task were released: its wait starts again with what is left, if anything. */
  #restartWait(task: number, queues: Map<string, RecordQueue<R>>, now: number): void {
    let left = false;
    for (const q of queues.values()) left ||= q.size > 0;
    if (left) this.#waitingSince.set(task, now);
    else this.#waitingSince.delete(task);
  }

  /** Drops a partition's held records; returns the first offset dropped, if any. */
  drop(topic: string, partition: number): number | undefined {
    const queue = this.#tasks.get(partition)?.get(topic);
    if (queue === undefined) return undefined;
    this.#tasks.get(partition)!.delete(topic);
    if (this.#tasks.get(partition)!.size === 0) this.#tasks.delete(partition);
    this.#restartWait(partition, this.#tasks.get(partition) ?? new Map<string, RecordQueue<R>>(), performance.now());
    this.#size -= queue.size;
    return queue.peek()?.offset;
  }

  /** Drops everything held; returns where each partition that held records must be rewound to. */
  dropAll(): HeldPosition[] {
    const positions: HeldPosition[] = [];
    for (const [partition, queues] of this.#tasks) {
      for (const [topic, queue] of queues) {
        const head = queue.peek();
        if (head !== undefined) positions.push({ topic, partition, offset: head.offset });
      }
    }
    this.clear();
    return positions;
  }

  /** Drops everything held (the consumer is replaced: its successor starts from the committed offsets). */
  clear(): void {
    this.#tasks.clear();
    this.#waitingSince.clear();
    this.#size = 0;
  }

  #queue(partition: number, topic: string): RecordQueue<R> {
    let queues = this.#tasks.get(partition);
    if (queues === undefined) this.#tasks.set(partition, (queues = new Map<string, RecordQueue<R>>()));
    let queue = queues.get(topic);
    if (queue === undefined) queues.set(topic, (queue = new RecordQueue<R>()));
    return queue;
  }

  /** Moves the task's records with timestamps up to `safe` into `out`, oldest first (ties: source order). */
  #merge(queues: Map<string, RecordQueue<R>>, safe: number, out: R[], limit: number): void {
    const ordered = this.#sources.map((t) => queues.get(t)).filter((q): q is RecordQueue<R> => q !== undefined);
    for (const [topic, q] of queues) if (!this.#sources.includes(topic)) ordered.push(q);
    while (out.length < limit) {
      let next: RecordQueue<R> | undefined;
      let nextTime = Infinity;
      for (const q of ordered) {
        const head = q.peek();
        if (head === undefined) continue;
        const t = timeOf(head);
        if (t <= safe && (next === undefined || t < nextTime)) {
          next = q;
          nextTime = t;
        }
      }
      if (next === undefined) return;
      out.push(next.shift());
    }
  }
}
