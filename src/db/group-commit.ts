// Group commit: concurrent writers share one database round trip. A batch starts as
// soon as a slot is free, so a lone request waits for nothing; while every slot is
// busy, new requests queue and the next free slot takes them all at once. The queue is
// bounded: past it a request is refused at once (503) rather than piling up memory.
//
// A failed batch is classified by the error vocabulary (src/errors.ts), not by the
// driver's messages: `write` throws errors already mapped by the repository (dbError),
// so a database outage arrives as ORD_ERR_DATABASE_UNAVAILABLE, recovery 'retry'.
// Such a failure is the environment's, not an item's: every item of the batch gets it
// at once. Anything else (a constraint violation, a bad value: a driver error the
// vocabulary does not know) may be one item's fault, so the batch is written again
// item by item and only the bad one fails. Getting this wrong is expensive: during an
// outage, fanning out would turn each failed batch into one more round trip per item
// against a database that is down.
import { EngineError, recoveryOf } from '../errors.js';

export interface GroupCommitOptions {
  /** Most items written in one round trip. */
  readonly maxBatch: number;
  /** Batches in flight at once (at most the pool size). */
  readonly maxInFlight: number;
  /** Items waiting for a slot before new ones are refused. */
  readonly maxQueued: number;
}

interface Pending<T, R> {
  readonly item: T;
  readonly resolve: (result: R) => void;
  readonly reject: (err: unknown) => void;
}

export interface GroupCommitStats {
  readonly batches: number;
  readonly items: number;
  /** Calls of `write`: one per batch, plus one per item when a batch is retried item by item. */
  readonly writes: number;
  readonly queued: number;
  readonly inFlight: number;
}

export class GroupCommitter<T, R> {
  readonly #write: (items: readonly T[]) => Promise<readonly R[]>;
  readonly #options: GroupCommitOptions;
  #queue: Pending<T, R>[] = [];
  #inFlight = 0;
  #batches = 0;
  #items = 0;
  #writes = 0;

  /**
   * `write` returns one result per item, in order, or throws for the whole batch: an
   * EngineError whose recovery is 'retry' when the database (not the data) failed.
   */
  constructor(write: (items: readonly T[]) => Promise<readonly R[]>, options: GroupCommitOptions) {
    this.#write = write;
    this.#options = options;
  }

  submit(item: T): Promise<R> {
    if (this.#queue.length >= this.#options.maxQueued) {
      return Promise.reject(new EngineError('ORD_ERR_OVERLOADED', 'too many orders are waiting for the database; retry shortly'));
    }
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#drain();
    });
  }

  get stats(): GroupCommitStats {
    return { batches: this.#batches, items: this.#items, writes: this.#writes, queued: this.#queue.length, inFlight: this.#inFlight };
  }

  #drain(): void {
    while (this.#inFlight < this.#options.maxInFlight && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#options.maxBatch);
      this.#inFlight++;
      // #run settles every item itself and never rejects.
      void this.#run(batch).finally(() => {
        this.#inFlight--;
        this.#drain();
      });
    }
  }

  async #run(batch: readonly Pending<T, R>[]): Promise<void> {
    this.#batches++;
    this.#items += batch.length;
    try {
      const results = await this.#counted(batch.map((p) => p.item));
      batch.forEach((p, i) => p.resolve(results[i] as R));
    } catch (err) {
      if (batch.length === 1 || recoveryOf(err) === 'retry') {
        for (const p of batch) p.reject(err);
        return;
      }
      // One bad item must not fail its neighbours: write each alone to isolate it.
      await Promise.all(
        batch.map(async (p) => {
          try {
            const [result] = await this.#counted([p.item]);
            p.resolve(result as R);
          } catch (itemErr) {
            p.reject(itemErr);
          }
        }),
      );
    }
  }

  #counted(items: readonly T[]): Promise<readonly R[]> {
    this.#writes++;
    return this.#write(items);
  }
}
