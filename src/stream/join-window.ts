// The live part of the saga join's window store: every payment and stock answer of
// the last JOIN_WINDOW_MS, indexed by order id. It mirrors the committed RocksDB
// store plus the writes of the open transaction, so a lookup never waits on disk; a
// reopened task rebuilds it from RocksDB. An entry leaves once the other side's input
// has been read past its window (its partner, if it has one, came before that) and it
// has been here a window's length of wall clock; an entry whose other side stalls
// waits for it, up to a bound on memory (JOIN_MAX_WAIT_MS).

export type JoinSide = 'P' | 'S';

export interface JoinEntry {
  readonly orderId: string;
  readonly side: JoinSide;
  readonly timestamp: number;
  /** The record's offset in its topic partition: tells apart two answers of one side. */
  readonly offset: number;
  readonly value: Uint8Array;
  /**
   * Wall-clock time it entered this window (restored entries: when restored). Not
   * stored: only expiry reads it (see expire()).
   */
  readonly addedAt?: number;
  /** Wall-clock time it was processed, for entries processed live (see matches()); not stored. */
  readonly processedAt?: number;
}

export type JoinKey = Pick<JoinEntry, 'orderId' | 'side' | 'timestamp' | 'offset'>;

/**
 * The RocksDB / changelog key of an entry: order id, side, zero-padded time, offset.
 * The offset keeps duplicates (Kafka Streams' join stores add a sequence number for
 * the same reason): every record of a poll batch has the same wall-clock time, and
 * without it two answers of one side in one batch would overwrite each other in the
 * store, so a restored task would join differently from the live one.
 */
export function joinStoreKey(e: JoinKey): string {
  return `${e.orderId}|${e.side}|${String(e.timestamp).padStart(15, '0')}|${e.offset}`;
}

export function parseJoinStoreKey(key: string): JoinKey | undefined {
  const [orderId, side, ts, offset] = key.split('|');
  if (orderId === undefined || (side !== 'P' && side !== 'S') || ts === undefined || offset === undefined) return undefined;
  return { orderId, side, timestamp: Number(ts), offset: Number(offset) };
}

export class JoinWindow {
  readonly #byOrder = new Map<string, JoinEntry[]>();
  // Arrival order; wall-clock timestamps make it (nearly) time order, so expiry pops
  // from the front. A late entry behind a newer one just waits for its turn.
  #fifo: JoinEntry[] = [];
  #head = 0;
  /** The largest timestamp of each side's entries: how far that side's input has been read. */
  readonly #sideTime: Record<JoinSide, number> = { P: 0, S: 0 };

  get size(): number {
    return this.#fifo.length - this.#head;
  }

  /** Forgets every entry (the task rolls back and rebuilds the window from its store). */
  clear(): void {
    this.#byOrder.clear();
    this.#fifo = [];
    this.#head = 0;
    this.#sideTime.P = 0;
    this.#sideTime.S = 0;
  }

  /** How far a side's input has been read (the largest timestamp among its entries so far). */
  sideTime(side: JoinSide): number {
    return this.#sideTime[side];
  }

  add(entry: JoinEntry): void {
    const list = this.#byOrder.get(entry.orderId);
    if (list === undefined) this.#byOrder.set(entry.orderId, [entry]);
    else list.push(entry);
    this.#fifo.push(entry);
    if (entry.timestamp > this.#sideTime[entry.side]) this.#sideTime[entry.side] = entry.timestamp;
  }

  /**
   * Entries of the other side for this order within windowMs of `timestamp`, or, when
   * both were processed live, processed within windowMs of each other. The second
   * clause is for answers an outage split: one answered just before a broker went
   * away, the other only after it came back, further apart than the window by their
   * timestamps; the first one's processing was in the transaction the outage aborted,
   * so both are processed after it, together, and join as the wall-clock join of the
   * original would have joined them. Restored entries have no processing time (it is
   * not stored): for them only their timestamps count.
   */
  matches(orderId: string, side: JoinSide, timestamp: number, windowMs: number, processedAt?: number): JoinEntry[] {
    const list = this.#byOrder.get(orderId);
    if (list === undefined) return [];
    return list.filter(
      (e) =>
        e.side !== side &&
        (Math.abs(e.timestamp - timestamp) <= windowMs || (processedAt !== undefined && e.processedAt !== undefined && Math.abs(e.processedAt - processedAt) <= windowMs)),
    );
  }

  /**
   * Removes and returns the entries that can join nothing new: the other side's input
   * has been read past the entry's window (`windowMs` after its timestamp: a partner
   * within the window, coming in timestamp order on its partition, came before), and
   * the entry entered before `addedBefore` (wall clock minus the window). Kafka Streams
   * expires by one stream time over both inputs; here each side waits for the other,
   * because the inputs are not read evenly: after a restart the backlogs are fetched
   * unevenly, and while a broker is away one input's partition has no leader, or a
   * participant's answers stop, while the other input goes on. With one stream time the
   * side that goes on expires the entries whose partners are still to come (286 orders
   * of one kill -9 trial, before the wall-clock lease; the lease alone covers a stall
   * of one window's length only). An entry whose other side never comes
   * goes once it entered before `forcedBefore`, which bounds the window's memory.
   * Matching is by record time only, so how long an entry stays changes no decision,
   * only whether a late partner finds it.
   */
  expire(windowMs: number, addedBefore = Number.POSITIVE_INFINITY, forcedBefore = Number.NEGATIVE_INFINITY): JoinEntry[] {
    const expired: JoinEntry[] = [];
    while (this.#head < this.#fifo.length && this.#expired(this.#fifo[this.#head]!, windowMs, addedBefore, forcedBefore)) {
      const e = this.#fifo[this.#head++]!;
      const list = this.#byOrder.get(e.orderId);
      if (list !== undefined) {
        const rest = list.filter((x) => x !== e);
        if (rest.length === 0) this.#byOrder.delete(e.orderId);
        else this.#byOrder.set(e.orderId, rest);
      }
      expired.push(e);
    }
    if (this.#head > 4096 && this.#head * 2 > this.#fifo.length) {
      this.#fifo = this.#fifo.slice(this.#head);
      this.#head = 0;
    }
    return expired;
  }

  #expired(e: JoinEntry, windowMs: number, addedBefore: number, forcedBefore: number): boolean {
    const addedAt = e.addedAt ?? 0;
    if (addedAt < forcedBefore) return true;
    return e.timestamp < this.#sideTime[e.side === 'P' ? 'S' : 'P'] - windowMs && addedAt < addedBefore;
  }
}
