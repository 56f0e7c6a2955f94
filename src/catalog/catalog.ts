// The product catalog check before an order is saved (spec "Catalog check"). Two
// sources: the catalog service over HTTP when CATALOG_SERVICE_URL is set, else the
// built-in catalog_products table. Both sit behind a cache of codes known to exist, so
// the hot path usually asks nobody.

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

/** Remembers codes seen to exist for a while; only the rest are asked of the source. */
export class CachedCatalog implements ProductCatalog {
  readonly #source: ProductCatalog;
  readonly #options: KnownCodesCacheOptions;
  readonly #known = new Map<string, number>(); // code → expiry (ms); insertion order ≈ age
  readonly #now: () => number;

  constructor(source: ProductCatalog, options: KnownCodesCacheOptions, now: () => number = Date.now) {
    this.#source = source;
    this.#options = options;
    this.#now = now;
  }

  async check(codes: readonly string[]): Promise<CatalogAnswer> {
    const now = this.#now();
    const ask = codes.filter((c) => (this.#known.get(c) ?? 0) <= now);
    if (ask.length === 0) return { exists: true };
    const answer = await this.#source.check(ask);
    if (answer.exists) {
      for (const code of ask) {
        this.#known.delete(code);
        this.#known.set(code, now + this.#options.ttlMs);
      }
      while (this.#known.size > this.#options.maxEntries) {
        const oldest = this.#known.keys().next().value as string;
        this.#known.delete(oldest);
      }
    }
    return answer;
  }
}
