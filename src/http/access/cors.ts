// CORS, off unless origins are configured. Not access control (a server answers any
// origin; only browsers enforce CORS): it lets a browser app on an allowed origin
// read our answers. Header sets are built once per allowed origin, so an answer costs
// one Map lookup of its Origin.
//
// Preflight (OPTIONS with Access-Control-Request-Method): 204 with what is allowed for
// an allowed origin, method and headers; 403 problem otherwise (as Spring's CORS
// processor answers), so a misconfiguration shows in the browser's network tab.

export interface CorsSettings {
  /** Allowed origins (scheme://host[:port]), or ['*'] for any. */
  readonly origins: readonly string[];
  readonly methods: readonly string[];
  /** Request headers a browser may send (Access-Control-Allow-Headers). */
  readonly headers: readonly string[];
  /** Response headers a browser app may read beyond the safelisted ones (Location, Retry-After, ...). */
  readonly exposedHeaders: readonly string[];
  readonly maxAgeSeconds: number;
}

export type Headers = Readonly<Record<string, string>>;

export type PreflightAnswer = { readonly ok: true; readonly headers: Headers } | { readonly ok: false; readonly detail: string; readonly headers: Headers };

export class CorsPolicy {
  readonly #any: boolean;
  readonly #byOrigin = new Map<string, Headers>();
  readonly #anyHeaders: Headers;
  /** For answers to requests from origins not allowed (or no Origin): caches must still key on Origin. */
  readonly #varyOnly: Headers;
  readonly #methods: ReadonlySet<string>;
  readonly #headers: ReadonlySet<string>;
  readonly #preflight: Headers;

  constructor(settings: CorsSettings) {
    this.#any = settings.origins.includes('*');
    const exposed: Headers = settings.exposedHeaders.length === 0 ? {} : { 'Access-Control-Expose-Headers': settings.exposedHeaders.join(', ') };
    this.#varyOnly = Object.freeze<Headers>(this.#any ? {} : { Vary: 'Origin' });
    this.#anyHeaders = Object.freeze({ 'Access-Control-Allow-Origin': '*', ...exposed });
    for (const origin of settings.origins) {
      if (origin !== '*') this.#byOrigin.set(origin, Object.freeze({ 'Access-Control-Allow-Origin': origin, Vary: 'Origin', ...exposed }));
    }
    this.#methods = new Set(settings.methods.map((m) => m.toUpperCase()));
    this.#headers = new Set(settings.headers.map((h) => h.toLowerCase()));
    this.#preflight = Object.freeze<Headers>({
      'Access-Control-Allow-Methods': [...this.#methods].join(', '),
      ...(settings.headers.length === 0 ? {} : { 'Access-Control-Allow-Headers': settings.headers.join(', ') }),
      'Access-Control-Max-Age': String(settings.maxAgeSeconds),
    });
  }

  #allowed(origin: string): Headers | undefined {
    if (origin === '') return undefined;
    return this.#byOrigin.get(origin) ?? (this.#any ? this.#anyHeaders : undefined);
  }

  /** Headers for an answer to a request with this Origin ('' when it had none). */
  responseHeaders(origin: string): Headers {
    return this.#allowed(origin) ?? this.#varyOnly;
  }

  /** The answer to a preflight: its origin, requested method and Access-Control-Request-Headers. */
  preflight(origin: string, method: string, requestHeaders: string): PreflightAnswer {
    const allowed = this.#allowed(origin);
    const vary = { ...this.#varyOnly, Vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers' };
    if (allowed === undefined) return { ok: false, detail: origin === '' ? 'a CORS preflight needs an Origin header' : `origin ${origin} is not allowed`, headers: vary };
    if (!this.#methods.has(method)) return { ok: false, detail: `method ${method} is not allowed for cross-origin requests`, headers: vary };
    const refused = requestHeaders
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h !== '' && !this.#headers.has(h));
    if (refused.length > 0) return { ok: false, detail: `request headers not allowed for cross-origin requests: ${refused.join(', ')}`, headers: vary };
    return { ok: true, headers: { ...allowed, ...this.#preflight, ...vary } };
  }
}
