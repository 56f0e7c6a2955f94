// The order ids a service has answered lately. The outbox publishes at least once
// (and republishes orders stuck in NEW), so the same NEW order can arrive twice;
// answering it twice would reserve twice. A ring bounds the memory: after `capacity`
// newer answers an id is forgotten, long after any redelivery of it.

export class RecentIds {
  readonly #ring: number[];
  readonly #set = new Set<number>();
  #next = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.#ring = new Array<number>(capacity);
  }

  has(id: number): boolean {
    return this.#set.has(id);
  }

  /** Remembers an id, forgetting the oldest one when full. */
  add(id: number): void {
    if (this.#set.has(id)) return;
    if (this.#set.size === this.capacity) this.#set.delete(this.#ring[this.#next]!);
    this.#ring[this.#next] = id;
    this.#next = (this.#next + 1) % this.capacity;
    this.#set.add(id);
  }

  get size(): number {
    return this.#set.size;
  }
}
