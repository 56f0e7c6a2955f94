// Time-sortable 53-bit order ids: unique across instances, increasing in time, and
// exact as JSON numbers in every JavaScript client (Number.MAX_SAFE_INTEGER = 2^53-1).
// The original uses 64-bit TSIDs, which JavaScript clients round; we keep TSID's
// shape in 53 bits instead:
//
//   | 41 bits: ms since 2025-01-01 (until 2094) | 5 bits: node | 7 bits: sequence |
//
// 128 ids per millisecond per node (128k/s); when a millisecond is used up the
// generator borrows the next one, so ids stay unique and ordered under any burst.
// Node ids come from NODE_ID (0..31; a StatefulSet ordinal) or are drawn at random at
// start; a collision of two random nodes inside one millisecond and sequence is
// caught by the primary key and the insert retried with fresh ids.

export const ID_EPOCH_MS = Date.UTC(2025, 0, 1);
const NODE_BITS = 5;
const SEQUENCE_BITS = 7;
const NODE_FACTOR = 2 ** SEQUENCE_BITS;
const TIME_FACTOR = 2 ** (NODE_BITS + SEQUENCE_BITS);
export const MAX_NODE_ID = 2 ** NODE_BITS - 1;
const MAX_SEQUENCE = 2 ** SEQUENCE_BITS - 1;

export class IdGenerator {
  readonly nodeId: number;
  #lastMs = 0;
  #sequence = 0;
  readonly #clock: () => number;

  constructor(nodeId: number = Math.floor(Math.random() * (MAX_NODE_ID + 1)), clock: () => number = Date.now) {
    if (!Number.isInteger(nodeId) || nodeId < 0 || nodeId > MAX_NODE_ID) {
      throw new RangeError(`nodeId must be an integer in 0..${MAX_NODE_ID}, got ${nodeId}`);
    }
    this.nodeId = nodeId;
    this.#clock = clock;
  }

  next(): number {
    const now = this.#clock() - ID_EPOCH_MS;
    if (now > this.#lastMs) {
      this.#lastMs = now;
      this.#sequence = 0;
    } else if (this.#sequence < MAX_SEQUENCE) {
      this.#sequence++;
    } else {
      // Sequence exhausted (or the clock went back): borrow the next millisecond.
      this.#lastMs++;
      this.#sequence = 0;
    }
    return this.#lastMs * TIME_FACTOR + this.nodeId * NODE_FACTOR + this.#sequence;
  }
}

/** The creation time encoded in an id. */
export function idTimestamp(id: number): Date {
  return new Date(Math.floor(id / TIME_FACTOR) + ID_EPOCH_MS);
}
