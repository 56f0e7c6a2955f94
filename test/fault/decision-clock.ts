// Each order's first decision on `orders`, with the moment it arrived on a live
// read_committed reader: what the recovery figures are timed with, and what the
// harness waits on (the saga keeping up before the fault, every order decided after).
import type { AcceptedOrder } from '../support/order-load.js';
import { DECISIONS, statusOf } from '../support/saga-audit.js';
import type { TopicReader } from '../support/topic-reader.js';

export class DecisionClock {
  /** Order id → performance.now() when its first decision arrived. */
  readonly decidedAt = new Map<string, number>();
  readonly #reader: TopicReader;
  #seen = 0;

  constructor(reader: TopicReader) {
    this.#reader = reader;
  }

  /** Takes in the records the reader received since the last call. */
  update(): void {
    const records = this.#reader.records;
    for (; this.#seen < records.length; this.#seen++) {
      const r = records[this.#seen]!;
      const status = statusOf(r.value);
      if (status !== undefined && DECISIONS.has(status) && !this.decidedAt.has(r.key)) this.decidedAt.set(r.key, r.receivedAt);
    }
  }

  /** How many of `orders` POSTed at or before `sentBy` have no decision yet. */
  undecided(orders: readonly AcceptedOrder[], sentBy = Infinity): number {
    return this.undecidedIds(orders, sentBy).length;
  }

  /** The orders sent by `sentBy` with no decision yet. */
  undecidedIds(orders: readonly AcceptedOrder[], sentBy = Infinity): string[] {
    this.update();
    const ids: string[] = [];
    for (const o of orders) if (o.sentAt <= sentBy && !this.decidedAt.has(o.id)) ids.push(o.id);
    return ids;
  }
}
