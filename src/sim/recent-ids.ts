// The order ids a service has answered lately. The outbox publishes at least once
// (and republishes orders stuck in NEW), so the same NEW order can arrive twice;
// answering it twice would reserve twice. lru-cache bounds the memory: after
// `capacity` newer answers an id is forgotten, long after any redelivery of it. An id
// seen again is not moved up (has() does not touch recency): the window counts
// answers, not sightings.
import { LRUCache } from 'lru-cache';
import type { Id64 } from '../domain/id64.js';

export class RecentIds<V extends NonNullable<unknown> = true> {
  readonly #ids: LRUCache<Id64, V>;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.#ids = new LRUCache({ max: capacity });
  }

  /** What was remembered with the id; does not touch recency either. */
  get(id: Id64): V | undefined {
    return this.#ids.peek(id);
  }

  /** Remembers the id with a value, replacing an earlier one (and counting as its latest answer). */
  remember(id: Id64, value: V): void {
    this.#ids.set(id, value);
  }

  has(id: Id64): boolean {
    return this.#ids.has(id);
  }

  /** Remembers an id, forgetting the oldest one when full. */
  add(id: Id64): void {
    if (!this.#ids.has(id)) this.#ids.set(id, true as V);
  }

  get size(): number {
    return this.#ids.size;
  }
}
