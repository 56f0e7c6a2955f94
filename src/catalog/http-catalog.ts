// The catalog service client: GET {url}/api/catalog/exists?productCodes=A&productCodes=B
// → {"exists": boolean}, in batches of 25 codes (spec "Catalog check"). The original
// wraps it in resilience4j's retry, circuit breaker and bulkhead; here the same from
// maintained libraries instead of hand-written counters (which retried 4xx answers
// and had no half-open state):
//
//   check ─► per batch: p-retry ─► opossum breaker (timeout, bulkhead) ─► fetch
//
// - opossum: each attempt has `timeoutMs` (the request is aborted with it too); at
//   most `maxInFlight` attempts run at once (its `capacity`: one more fails at once);
//   the breaker opens when, over its rolling window, at least `failureThreshold`
//   calls were made and more than half failed; after `coolDownMs` it is half-open and
//   lets exactly one probe through: a success closes it, a failure opens it again.
// - p-retry: retries only what may succeed when sent again (catalog-failure.ts), with
//   a short randomized exponential back-off; an open breaker or a full bulkhead ends
//   the retries at once, so a check fails fast while the service is known to be down.
// Every failure reaches the caller as a 503 ORD_ERR_CATALOG_UNAVAILABLE.
import CircuitBreaker from 'opossum';
import pRetry from 'p-retry';
import type { CatalogAnswer, ProductCatalog } from './catalog.js';
import { CatalogCallError, catalogUnavailable, countsAgainstService, isRetriable } from './catalog-failure.js';

export const CATALOG_BATCH_SIZE = 25;

export interface HttpCatalogOptions {
  readonly baseUrl: string;
  /** Longest wait for one attempt. */
  readonly timeoutMs: number;
  /** Bulkhead: attempts in flight at once. */
  readonly maxInFlight: number;
  /** Calls the breaker must have seen in its window before it may open (when more than half failed). */
  readonly failureThreshold: number;
  /** How long the breaker stays open before it lets one probe through. */
  readonly coolDownMs: number;
  /** Retries of a retriable failure (default 2: three attempts). */
  readonly retries?: number;
  /** Back-off before the first retry (default 100 ms), doubled each time, randomized ×1..2. */
  readonly retryDelayMs?: number;
  /** Longest back-off between two attempts (default 1000 ms). */
  readonly maxRetryDelayMs?: number;
  /** The breaker's rolling window of statistics (default 10 s). */
  readonly rollingWindowMs?: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export class HttpCatalog implements ProductCatalog {
  readonly #baseUrl: string;
  readonly #timeoutMs: number;
  readonly #retry: { retries: number; minTimeout: number; maxTimeout: number };
  readonly #breaker: CircuitBreaker<[readonly string[]], boolean>;

  constructor(options: HttpCatalogOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs;
    this.#retry = { retries: options.retries ?? 2, minTimeout: options.retryDelayMs ?? 100, maxTimeout: options.maxRetryDelayMs ?? 1000 };
    this.#breaker = new CircuitBreaker((codes: readonly string[]) => this.#request(codes), {
      name: 'catalog',
      timeout: options.timeoutMs,
      capacity: options.maxInFlight,
      volumeThreshold: options.failureThreshold,
      errorThresholdPercentage: 50,
      resetTimeout: options.coolDownMs,
      rollingCountTimeout: options.rollingWindowMs ?? 10_000,
      // opossum counts a filtered error as a success. For a 4xx that is the truth (the
      // service answered); for a bulkhead rejection it only makes the breaker open a
      // little later while the bulkhead is full, when calls fail fast anyway.
      errorFilter: (err: unknown) => !countsAgainstService(err),
      enableSnapshots: false,
      rollingPercentilesEnabled: false,
    });
  }

  get breakerState(): BreakerState {
    return this.#breaker.halfOpen ? 'half-open' : this.#breaker.opened ? 'open' : 'closed';
  }

  async check(codes: readonly string[]): Promise<CatalogAnswer> {
    const batches: string[][] = [];
    for (let i = 0; i < codes.length; i += CATALOG_BATCH_SIZE) batches.push(codes.slice(i, i + CATALOG_BATCH_SIZE));
    const answers = await Promise.all(batches.map((b) => this.#checkBatch(b)));
    return { exists: answers.every(Boolean) };
  }

  async #checkBatch(codes: readonly string[]): Promise<boolean> {
    try {
      return await pRetry(() => this.#breaker.fire(codes), {
        ...this.#retry,
        factor: 2,
        randomize: true,
        shouldRetry: ({ error }) => isRetriable(error),
      });
    } catch (err) {
      throw catalogUnavailable(err);
    }
  }

  /** One attempt; every failure is a CatalogCallError saying which kind it was. */
  async #request(codes: readonly string[]): Promise<boolean> {
    const query = codes.map((c) => `productCodes=${encodeURIComponent(c)}`).join('&');
    // opossum gives up on the attempt after timeoutMs but cannot cancel it: the signal
    // does, so a hanging request does not keep its socket.
    const signal = AbortSignal.timeout(this.#timeoutMs);
    let res: Response;
    try {
      res = await fetch(`${this.#baseUrl}/api/catalog/exists?${query}`, { signal, headers: { accept: 'application/json' } });
    } catch (err) {
      throw transportError(err);
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw new CatalogCallError('status', `HTTP ${res.status}`, { status: res.status });
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch (err) {
      if (signal.aborted || (err as Error).name === 'TypeError') throw transportError(err);
      throw new CatalogCallError('bad-answer', 'the answer is not JSON', { cause: err });
    }
    const exists = (body as { exists?: unknown } | null)?.exists;
    if (typeof exists !== 'boolean') throw new CatalogCallError('bad-answer', 'the answer has no boolean "exists"');
    return exists;
  }
}

function transportError(err: unknown): CatalogCallError {
  const name = (err as Error).name;
  if (name === 'TimeoutError' || name === 'AbortError') return new CatalogCallError('timeout', 'no answer in time', { cause: err });
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  const why = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : (err as Error).message;
  return new CatalogCallError('network', why, { cause: err });
}
