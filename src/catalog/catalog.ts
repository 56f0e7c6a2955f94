// The product catalog check before an order is saved (spec "Catalog check"). Two
// sources: the catalog service over HTTP when CATALOG_SERVICE_URL is set, else the
// built-in catalog_products table. Both sit behind a cache of codes known to exist, so
// the hot path usually asks nobody.
import { LRUCache } from 'lru-cache';

export interface CatalogAnswer {
  readonly exists: boolean;
  /** The unknown codes, when the source can tell which (the HTTP API only says yes/no). */
  readonly unknown?: readonly string[];
}

export interface ProductCatalog {
  /** Codes are already trimmed and upper-cased. Throws ORD_ERR_CATALOG_UNAVAILABLE when the source is down. */
  check(codes: readonly string[]): Promise<CatalogAnswer>;
}

export interface KnownCodesCacheOptions {
  readonly ttlMs: number;
  readonly maxEntries: number;
}

/**
 * Remembers codes seen to exist for a while; only the rest are asked of the source.
 * Only "exists" is remembered: a code reported missing may be created any moment,
 * and a failed source teaches nothing. lru-cache keeps the TTL and the bound (least
 * recently checked code first out).
 */
export class CachedCatalog implements ProductCatalog {
  readonly #source: ProductCatalog;
  readonly #known: LRUCache<string, true>;

  /** `now` (milliseconds, monotonic) is for tests; lru-cache uses performance.now(). */
  constructor(source: ProductCatalog, options: KnownCodesCacheOptions, now?: () => number) {
    this.#source = source;
    this.#known = new LRUCache<string, true>({
      max: options.maxEntries,
      ttl: options.ttlMs,
      // Read the clock at each check rather than caching it for 1 ms behind a timer
      // (lru-cache's default), which would be one timer per millisecond of traffic.
      ttlResolution: 0,
      ...(now === undefined ? {} : { perf: { now } }),
    });
  }

  async check(codes: readonly string[]): Promise<CatalogAnswer> {
    const ask = codes.filter((c) => this.#known.get(c) === undefined);
    if (ask.length === 0) return { exists: true };
    const answer = await this.#source.check(ask);
    if (answer.exists) for (const code of ask) this.#known.set(code, true);
    return answer;
  }
}
