// The catalog service client: GET {url}/api/catalog/exists?productCodes=A&productCodes=B
// → {"exists": boolean}, in batches of 25 codes. The original wraps it in a circuit
// breaker, retry, rate limiter and bulkhead (resilience4j); here: a per-call timeout,
// one retry of a failed call (resilience4j's default retries any failure), a bulkhead bounding calls in flight, and a breaker
// that fails fast for a cool-down after consecutive failures.
import { EngineError } from '../errors.js';
import type { CatalogAnswer, ProductCatalog } from './catalog.js';

export const CATALOG_BATCH_SIZE = 25;

export interface HttpCatalogOptions {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly maxInFlight: number;
  readonly failureThreshold: number;
  readonly coolDownMs: number;
}

export class HttpCatalog implements ProductCatalog {
  readonly #options: HttpCatalogOptions;
  #inFlight = 0;
  #consecutiveFailures = 0;
  #openUntil = 0;

  constructor(options: HttpCatalogOptions) {
    this.#options = { ...options, baseUrl: options.baseUrl.replace(/\/+$/, '') };
  }

  async check(codes: readonly string[]): Promise<CatalogAnswer> {
    const batches: string[][] = [];
    for (let i = 0; i < codes.length; i += CATALOG_BATCH_SIZE) batches.push(codes.slice(i, i + CATALOG_BATCH_SIZE));
    const answers = await Promise.all(batches.map((b) => this.#guarded(b)));
    return { exists: answers.every(Boolean) };
  }

  async #guarded(codes: readonly string[]): Promise<boolean> {
    if (Date.now() < this.#openUntil) {
      throw new EngineError('ORD_ERR_CATALOG_UNAVAILABLE', 'the catalog service is unavailable (circuit open); retry shortly');
    }
    if (this.#inFlight >= this.#options.maxInFlight) {
      throw new EngineError('ORD_ERR_CATALOG_UNAVAILABLE', 'too many catalog calls in flight; retry shortly');
    }
    this.#inFlight++;
    try {
      let result: boolean;
      try {
        result = await this.#call(codes);
      } catch {
        result = await this.#call(codes); // one retry, then the failure counts toward the breaker
      }
      this.#consecutiveFailures = 0;
      return result;
    } catch (err) {
      if (++this.#consecutiveFailures >= this.#options.failureThreshold) this.#openUntil = Date.now() + this.#options.coolDownMs;
      throw new EngineError('ORD_ERR_CATALOG_UNAVAILABLE', `the catalog service did not answer: ${(err as Error).message}`, { cause: err });
    } finally {
      this.#inFlight--;
    }
  }

  async #call(codes: readonly string[]): Promise<boolean> {
    const query = codes.map((c) => `productCodes=${encodeURIComponent(c)}`).join('&');
    const res = await fetch(`${this.#options.baseUrl}/api/catalog/exists?${query}`, {
      signal: AbortSignal.timeout(this.#options.timeoutMs),
      headers: { accept: 'application/json' },
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const body = (await res.json()) as { exists?: unknown };
    if (typeof body.exists !== 'boolean') throw new Error('answer has no boolean "exists"');
    return body.exists;
  }
}
