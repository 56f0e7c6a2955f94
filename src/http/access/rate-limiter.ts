// Per-client rate limits: a token bucket per API client, or per remote address for
// requests without a valid key. A bucket holds up to `burst` tokens and gains
// `perSecond` a second; a request takes one or is refused with the time until the next.
//
// Buckets are created on a client's first request and forgotten once full again (a
// full bucket and no bucket mean the same), so anonymous addresses cannot grow the map
// without bound: past `maxBuckets` the full ones are swept, and if a flood of fresh
// addresses keeps it above that, the oldest half goes (those clients start over with a
// full bucket, which errs on the side of letting them in).

export interface RateLimit {
  /** Tokens gained per second (the sustained rate). */
  readonly perSecond: number;
  /** Most tokens a bucket holds (the burst a quiet client may send at once). */
  readonly burst: number;
}

/** Milliseconds from any fixed origin (performance.now in the service, a fake in tests). */
export type Clock = () => number;

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #clock: Clock;
  readonly #maxBuckets: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(limit: RateLimit, clock: Clock, maxBuckets = 100_000) {
    if (!(limit.perSecond > 0) || !(limit.burst >= 1)) throw new RangeError(`a rate limit needs perSecond > 0 and burst >= 1, got ${limit.perSecond}/${limit.burst}`);
    this.#perMs = limit.perSecond / 1000;
    this.#burst = limit.burst;
    this.#clock = clock;
    this.#maxBuckets = maxBuckets;
  }

  /** Buckets kept now (clients not yet back to a full bucket). */
  get size(): number {
    return this.#buckets.size;
  }

  /** Takes a token for `client`: 0 when it may go ahead, else the seconds until it may (never 0). */
  take(client: string): number {
    const now = this.#clock();
    let bucket = this.#buckets.get(client);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#maxBuckets) this.#sweep(now);
      bucket = { tokens: this.#burst, at: now };
      this.#buckets.set(client, bucket);
    } else {
      bucket.tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.at) * this.#perMs);
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return (1 - bucket.tokens) / this.#perMs / 1000;
  }

  #sweep(now: number): void {
    for (const [client, b] of this.#buckets) if (b.tokens + (now - b.at) * this.#perMs >= this.#burst) this.#buckets.delete(client);
    if (this.#buckets.size < this.#maxBuckets) return;
    let drop = this.#buckets.size >> 1;
    for (const client of this.#buckets.keys()) {
      if (drop-- <= 0) break;
      this.#buckets.delete(client);
    }
  }
}

/** Retry-After for a refusal `seconds` from now: whole seconds, at least 1 (0 would invite an immediate retry). */
export const retryAfter = (seconds: number): string => String(Math.max(1, Math.ceil(seconds)));
